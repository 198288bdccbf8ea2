// The rollup job's statements (design and proof of exactness: sql/006_summary_rollups.sql).
import type { Sql } from "../db/connect.ts";

// Any constant unique to this project; every instance must use the same one, and so does
// detach_ledger_month (sql/006), which must not run between a job's two changes.
const rollupLockKey = 7_202_500_006;

/**
 * Adds the settled rows that became final since the last run to the rollup buckets and moves
 * the watermark, in one transaction. Returns the number of rows rolled up, or undefined when
 * another instance's run holds the lock (one run at a time: two would add the same rows).
 * The lock is taken before the statement, so the statement's snapshot sees the previous run's
 * commit.
 */
export async function rollUpSettled(sql: Sql): Promise<number | undefined> {
  return await sql.begin(async (tx) => {
    const [lock] = await tx<{ got: boolean }[]>`
      select pg_try_advisory_xact_lock(${rollupLockKey}) as got`;
    if (!lock.got) return undefined;
    // Every part reads the same snapshot; pg_current_snapshot() is that snapshot, and its
    // xmin is the oldest transaction still running when it was taken. The bounds are scalar
    // subqueries so that the planner, not knowing them, still takes the settle_xid index.
    const [row] = await tx<{ rows: string }[]>`
      with fresh as (
        select p.processor, p.amount_cents, p.requested_at
        from processed_payments p
        where p.settle_xid >= (select watermark from payment_rollup_state)
          and p.settle_xid < (select pg_snapshot_xmin(pg_current_snapshot()))
      ),
      sized as (
        select z.seconds,
               date_bin(make_interval(secs => z.seconds), f.requested_at,
                        timestamptz '1970-01-01 00:00:00+00') as bucket_start,
               f.processor, count(*) as requests, sum(f.amount_cents) as cents
        from fresh f cross join (values (1), (60), (3600), (86400)) as z(seconds)
        group by 1, 2, 3
      ),
      added as (
        insert into payment_rollups as r (bucket_seconds, bucket_start, processor, requests, cents)
        select seconds, bucket_start, processor, requests, cents from sized
        on conflict (bucket_seconds, bucket_start, processor) do update
          set requests = r.requests + excluded.requests, cents = r.cents + excluded.cents
      ),
      moved as (
        update payment_rollup_state
        set watermark = greatest(watermark, pg_snapshot_xmin(pg_current_snapshot()))
      )
      select count(*)::text as rows from fresh`;
    return Number(row.rows);
  });
}
