// postgres.js keeps its pool internals private, so the pool is observed from the server side:
// this instance's connections in pg_stat_activity, found by the application_name it connects
// with (src/db/connect.ts sets it to the instance id).
import type { Sql } from "../db/connect.ts";

/** Connection counts by pg_stat_activity state: "active", "idle", "idle in transaction"… */
export async function readPoolConnections(
  sql: Sql,
  applicationName: string,
): Promise<Map<string, number>> {
  const rows = await sql<{ state: string; n: string }[]>`
    select coalesce(state, 'unknown') as state, count(*) as n
    from pg_stat_activity
    where application_name = ${applicationName} and datname = current_database()
    group by 1`;
  return new Map(rows.map((r) => [r.state, Number(r.n)]));
}
