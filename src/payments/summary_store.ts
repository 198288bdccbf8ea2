// The audit's side of the payment tables: the summary every client and auditor reads, and the
// purge the load test starts with. Kept apart from store.ts, which holds the queue's hot-path
// statements. How a summary stays fast and exact at any size: sql/006_summary_rollups.sql.
import type postgres from "postgres";
import type { Sql } from "../db/connect.ts";
import type { ProcessorId } from "../processors/processor_id.ts";
import { coverRange, timestampText } from "./summary_cover.ts";

export interface ProcessorTotals {
  totalRequests: bigint;
  totalCents: bigint;
}

/** Any pool or transaction: the console reads the totals inside its own snapshot. */
type Queryable = postgres.ISql;

/**
 * Totals per processor over requested_at in [from, to], both inclusive, either open. One
 * statement, so one snapshot: the rollup buckets wholly inside the range, the raw rows of its
 * sub-second ends, and the raw rows not rolled up yet (at or above the watermark) inside the
 * part the buckets cover. Not meant for a transaction that has itself settled payments: rows
 * of one's own transaction may lie above the snapshot's xmax and would not be counted.
 */
export async function summarize(
  sql: Queryable,
  from: Date | undefined,
  to: Date | undefined,
): Promise<Map<ProcessorId, ProcessorTotals>> {
  const cover = coverRange(from, to);
  // Raw rows of processed_payments within a range of requested_at, totalled per processor.
  const raw = (range: postgres.PendingQuery<postgres.Row[]>) =>
    sql`
      select processor, count(*) as n, sum(amount_cents) as cents from processed_payments
      where ${range}
      group by processor`;
  const parts = [];
  if (!cover.covered) {
    parts.push(raw(sql`true ${from ? sql`and requested_at >= ${from}` : sql``}
      ${to ? sql`and requested_at <= ${to}` : sql``}`));
  } else {
    const lo = timestampText(cover.covered.fromMs);
    const hi = timestampText(cover.covered.beforeMs);
    if (from) {
      parts.push(raw(sql`requested_at >= ${from} and requested_at < ${lo}::text::timestamptz`));
    }
    if (to) {
      parts.push(raw(sql`requested_at >= ${hi}::text::timestamptz and requested_at <= ${to}`));
    }
    const sizes = cover.buckets.map((b) => b.seconds);
    const starts = cover.buckets.map((b) => timestampText(b.fromMs));
    const ends = cover.buckets.map((b) => timestampText(b.beforeMs));
    // One primary-key range per bucket size, never a scan of every rollup row: OFFSET 0 keeps
    // the planner from flattening the subquery into a join it would hash over the whole table.
    parts.push(sql`
      select r.processor, sum(r.requests) as n, sum(r.cents) as cents
      from unnest(${sizes}::int[], ${starts}::text[]::timestamptz[], ${ends}::text[]::timestamptz[])
        as k(seconds, from_at, before_at)
      cross join lateral (
        select processor, requests, cents from payment_rollups
        where bucket_seconds = k.seconds and bucket_start >= k.from_at
          and bucket_start < k.before_at
        offset 0
      ) as r
      group by r.processor`);
    // Found by settle_xid alone (a few hundred rows at most), then filtered on requested_at:
    // MATERIALIZED keeps the planner from combining the two indexes, which reads the whole
    // range's requested_at entries. Bounded on both sides so that the planner, which cannot
    // know the watermark when it plans, takes the index (a range's default selectivity); every
    // row this snapshot sees is below its xmax anyway.
    parts.push(sql`
      select processor, count(*) as n, sum(amount_cents) as cents from (
        with recent as materialized (
          select processor, amount_cents, requested_at from processed_payments
          where settle_xid >= (select watermark from payment_rollup_state)
            and settle_xid < (select pg_snapshot_xmax(pg_current_snapshot()))
        )
        select * from recent
        where requested_at >= ${lo}::text::timestamptz and requested_at < ${hi}::text::timestamptz
      ) as recent
      group by processor`);
  }
  const union = parts.reduce((all, part) => sql`${all} union all ${part}`);
  const rows = await sql<{ processor: ProcessorId; n: string; cents: string }[]>`
    select processor, sum(n)::text as n, sum(cents)::text as cents from (${union}) as parts
    group by processor`;
  return new Map(
    rows.map((r) => [r.processor, { totalRequests: BigInt(r.n), totalCents: BigInt(r.cents) }]),
  );
}

export async function purgePayments(sql: Sql): Promise<void> {
  await sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
}
