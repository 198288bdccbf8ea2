// Each test file gets a database of its own on the server DATABASE_URL names (the
// project-local cluster under `deno task test`), migrated, and dropped at the end.
import { connect, type Sql } from "../../src/db/connect.ts";
import { migrate } from "../../src/db/migrate.ts";

export interface TestDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

export function serverUrl(): string {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) throw new Error("DATABASE_URL is not set: run the tests with `deno task test`");
  return url;
}

/** A fresh, migrated database on `server` (default: DATABASE_URL's); `drop()` removes it. */
export async function createTestDatabase(
  label: string,
  server: string = serverUrl(),
): Promise<TestDatabase> {
  const name = `test_${label}_${crypto.randomUUID().slice(0, 8)}`.replace(/[^a-z0-9_]/g, "_");
  const admin = connect(server, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  const sql = connect(url.toString(), { max: 4 });
  await migrate(sql);
  return {
    url: url.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const admin = connect(server, { max: 1 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
