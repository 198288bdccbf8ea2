// A database of the benchmarks' own on the project's Postgres. The cluster is shared: tests and
// other engineers' stacks use it at the same time, and API instances of another stack on the
// same database would claim our queued payments and purge our books (and we theirs).
import { connect } from "../src/db/connect.ts";
import { startLocalPostgres } from "../tools/local/embedded_postgres.ts";

export interface BenchDatabase {
  /** The server, at its default `postgres` database (for create/drop). */
  serverUrl: string;
  /** The benchmark's own database. */
  url: string;
  /** Drops the database when asked. */
  close(options?: { drop?: boolean }): Promise<void>;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Server from DATABASE_URL, else the project-local cluster; `name` created when missing.
 * A local cluster started here is left running: by the end of a run, tests may be using it.
 */
export async function benchDatabase(name: string, fresh = false): Promise<BenchDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name "${name}"`);
  const serverUrl = Deno.env.get("DATABASE_URL") || (await startLocalPostgres()).url;
  const admin = connect(serverUrl, { max: 1, applicationName: "bench" });
  try {
    if (fresh) await admin.unsafe(`drop database if exists ${name} with (force)`);
    const [row] = await admin`select count(*)::int as n from pg_database where datname = ${name}`;
    if (row.n === 0) await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return {
    serverUrl,
    url: withDatabase(serverUrl, name),
    async close(options = {}) {
      if (options.drop) {
        const sql = connect(serverUrl, { max: 1, applicationName: "bench" });
        await sql.unsafe(`drop database if exists ${name} with (force)`);
        await sql.end();
      }
    },
  };
}
