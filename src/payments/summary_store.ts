// The audit's side of the payment tables: the summary every client and auditor reads (an
// index-only range scan of processed_payments), and the purge the load test starts with. Kept
// apart from store.ts, which holds the queue's hot-path statements.
import type { Sql } from "../db/connect.ts";
import type { ProcessorId } from "../processors/processor_id.ts";

export interface ProcessorTotals {
  totalRequests: bigint;
  totalCents: bigint;
}

/** Totals per processor over requested_at in [from, to], both inclusive. */
export async function summarize(
  sql: Sql,
  from: Date | undefined,
  to: Date | undefined,
): Promise<Map<ProcessorId, ProcessorTotals>> {
  const rows = await sql<{ processor: ProcessorId; n: string; cents: string }[]>`
    select processor, count(*) as n, coalesce(sum(amount_cents), 0) as cents
    from processed_payments
    where true
      ${from ? sql`and requested_at >= ${from}` : sql``}
      ${to ? sql`and requested_at <= ${to}` : sql``}
    group by processor`;
  return new Map(
    rows.map((r) => [r.processor, { totalRequests: BigInt(r.n), totalCents: BigInt(r.cents) }]),
  );
}

export async function purgePayments(sql: Sql): Promise<void> {
  await sql`truncate payment_queue, processed_payments, payments`;
}
