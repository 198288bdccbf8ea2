// The rollup job's one call (the job is roll_up_settled_payments, sql/008; its design and proof of
// exactness: sql/006_summary_rollups.sql).
import type { Sql } from "../db/connect.ts";

/**
 * Adds the settled rows that became final since the last run to the rollup buckets and moves
 * the watermark, in one transaction and one round trip (roll_up_settled_payments, sql/008).
 * Returns the number of rows rolled up, or undefined when another instance's run holds the
 * lock (one run at a time: two would add the same rows).
 */
export async function rollUpSettled(sql: Sql): Promise<number | undefined> {
  const [row] = await sql<{ rows: string | null }[]>`
    select roll_up_settled_payments()::text as rows`;
  return row.rows === null ? undefined : Number(row.rows);
}
