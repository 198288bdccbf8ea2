// Forward-only migrations: sql/NNN_name.sql files applied in order, all pending ones in one
// transaction (a half-applied schema never serves), recorded in schema_migrations. A
// transaction-scoped advisory lock makes two instances starting together take turns.
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sql } from "./connect.ts";

const defaultDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "sql");
// Any constant unique to this project; both instances must use the same one.
const migrationLockKey = 7_2025_0001;

export interface Migration {
  version: number;
  name: string;
  text: string;
}

export function readMigrations(dir = defaultDir): Migration[] {
  const files = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && /^\d{3}_[a-z0-9_]+\.sql$/.test(e.name))
    .map((e) => e.name)
    .sort();
  return files.map((file) => ({
    version: Number(file.slice(0, 3)),
    name: basename(file, ".sql"),
    text: Deno.readTextFileSync(join(dir, file)),
  }));
}

/** Applies what is missing; returns the names applied by this call. */
export async function migrate(sql: Sql, migrations = readMigrations()): Promise<string[]> {
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${migrationLockKey})`;
    await tx`
      create table if not exists schema_migrations (
        version int primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`;
    const done = new Set(
      (await tx<{ version: number }[]>`select version from schema_migrations`).map((r) =>
        r.version
      ),
    );
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.text);
      await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.name);
    }
    return applied;
  });
}
