// The ledger's monthly partitions (sql/005_partition_processed_payments.sql).
import type { Sql } from "../db/connect.ts";

/**
 * Creates the missing monthly partitions from the previous month through `monthsAhead` months
 * after the current one; returns how many it created.
 */
export async function ensureLedgerPartitions(sql: Sql, monthsAhead: number): Promise<number> {
  const [row] = await sql<{ created: number }[]>`
    select ensure_ledger_partitions(now() - interval '1 month', ${monthsAhead + 2}) as created`;
  return row.created;
}
