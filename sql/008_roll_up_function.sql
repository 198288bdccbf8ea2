-- Why: the rollup job (sql/006) ran every second in each instance as four round trips (begin,
-- the lock, the statement, commit), a third of everything an idle instance sends to Postgres
-- (12.3 statements per second per instance; ~11 ms of API and ~16 ms of Postgres CPU per
-- second with no traffic, bench/README.md). As one function it is one round trip, and one
-- commit, with the same steps in the same order:
--   1. take the job's advisory lock (the key detach_ledger_month uses), or return null at
--      once when another run holds it: two runs would add the same rows;
--   2. only then, in a statement of its own, read the settled rows that became final and add
--      them: a VOLATILE function gives each statement a fresh snapshot under READ COMMITTED,
--      so this one sees the previous run's commit, which the lock waited for;
--   3. move the watermark to that snapshot's xmin, in the same statement.
-- Called in autocommit (src/payments/summary_rollups.ts), its transaction is the statement's.
-- Proof of exactness and the indexes used: sql/006_summary_rollups.sql.
create function roll_up_settled_payments() returns bigint
language plpgsql volatile as $$
declare
  added bigint;
begin
  if not pg_try_advisory_xact_lock(7202500006) then
    return null;
  end if;
  -- The bounds are scalar subqueries so that the planner, not knowing them, still takes the
  -- settle_xid index.
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
  select count(*) into added from fresh;
  return added;
end $$;
