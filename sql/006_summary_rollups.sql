-- Why: GET /payments-summary must stay fast over any range at any size (a full range over 10^7
-- settled rows took 3.2 s as a sequential scan) and stay exact to the cent while settlements
-- commit concurrently, in any order, with requested_at instants that need not follow commit
-- order (a retried attempt keeps its first requestedAt).
--
-- The design: per-bucket totals (rollups) at four sizes (1 s, 1 min, 1 h, 1 day of
-- requested_at), written by one background job, never by the settle statement, so no hot
-- rollup row serialises settlements. Which settled rows the rollups hold is decided by the
-- transaction that settled them, not by any clock:
--   processed_payments.settle_xid  the settling transaction's id (a column default, so the
--                                  settle statement is unchanged).
--   payment_rollup_state.watermark every settled row with settle_xid < watermark is in the
--                                  rollups, and no other row is.
-- The job (src/payments/summary_rollups.ts, rollUpSettled) takes the xmin of its statement's
-- snapshot as the new watermark: every transaction below it has ended, so the settled rows
-- with settle_xid in [old watermark, xmin) are final and all visible to that statement. It adds
-- them to the buckets and moves the watermark in one commit, so any snapshot sees rollups and
-- watermark that agree.
-- A summary (src/payments/summary_store.ts, summarize) is then one statement, one snapshot:
--   rollup buckets that lie wholly inside [from, to], chosen largest first (at most a few
--   hundred rows for any range: days, then hours, minutes and seconds at the ends),
--   + the raw rows of the sub-second edges (index-only scans of processed_payments_requested_at),
--   + the raw rows at or above the watermark inside the covered part (settled in the last
--     moment, not rolled up yet: a short range on processed_payments_settle_xid).
-- Indexes and why:
--   payment_rollups_pkey            (bucket_seconds, bucket_start, processor): the summary's
--                                   range per size, and the job's upsert key.
--   processed_payments_settle_xid   finds the rows at or above the watermark, for the job and
--                                   for every summary. Its keys only grow, so inserts go to the
--                                   rightmost leaf.
-- A purge truncates payment_rollups with the ledger; the watermark may stay where it is (new
-- rows have larger ids). Detaching a month (README, retention) deletes its buckets in the same
-- transaction.

-- A volatile default rewrites the existing rows once, here, each getting this migration's id;
-- the watermark starts below every id, so the job's first run rolls them all up.
alter table processed_payments add column settle_xid xid8 not null default pg_current_xact_id();
create index processed_payments_settle_xid on processed_payments (settle_xid);

create table payment_rollups (
  bucket_seconds int not null check (bucket_seconds in (1, 60, 3600, 86400)),
  -- A multiple of bucket_seconds since the Unix epoch (UTC).
  bucket_start timestamptz not null,
  processor smallint not null check (processor in (1, 2)),
  requests bigint not null,
  cents bigint not null,
  primary key (bucket_seconds, bucket_start, processor)
);

create table payment_rollup_state (
  -- One row: the table exists to hold the watermark under MVCC.
  only_row boolean primary key default true check (only_row),
  watermark xid8 not null
);
insert into payment_rollup_state (watermark) values ('0');

-- Retention (README, "Retention"): takes one month out of the ledger and out of the summary in
-- one transaction, and returns the detached table's name for the operator to archive and drop.
-- It takes the rollup job's lock (src/payments/summary_rollups.ts), so no run sits between the
-- two changes; month bounds are whole UTC days, so they cut no bucket of any size. Rows of that
-- month not rolled up yet leave with the partition and are never rolled up.
create function detach_ledger_month(any_instant timestamptz) returns text
language plpgsql as $$
declare
  month record := ledger_month(any_instant);
begin
  if not exists (select 1 from pg_inherits
                 where inhrelid = to_regclass(month.name)
                   and inhparent = 'processed_payments'::regclass)
  then
    raise exception 'detach_ledger_month: no attached partition %', month.name
      using errcode = 'undefined_table';
  end if;
  perform pg_advisory_xact_lock(7202500006);
  execute format('alter table processed_payments detach partition %I', month.name);
  delete from payment_rollups where bucket_start >= month.lo and bucket_start < month.hi;
  return month.name;
end $$;
