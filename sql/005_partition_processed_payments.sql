-- Why: processed_payments only grows, and nothing could remove old settlements short of a
-- DELETE that rewrites the table's pages and indexes row by row. Partitioned by month of
-- requested_at (the time the summary ranges over), an old month leaves by
-- `ALTER TABLE … DETACH PARTITION` (then archive or drop that table): a catalog change, O(1)
-- in the rows it holds, and a summary's range reads only the months it touches (pruning).
--
-- What changes for the statements:
--   * The primary key becomes (correlation_id, requested_at): a unique index of a partitioned
--     table must contain its partition key. Nothing relied on the ledger alone for uniqueness:
--     `payments` keeps the one global key per correlation id (idempotent POST), and the settle
--     statement moves a row only by deleting its queue row under the claim that holds it. The
--     settle keeps `on conflict do nothing` as a net: a repeated settle of the same attempt has
--     the same requested_at (the attempt pins it), so it hits this key.
--   * Lookups by correlation_id alone (a payment's status page) probe each month's index: a
--     dozen probes a year of retention, each a few pages.
--   * Months are created ahead by the service (ensure_ledger_partitions, called at start and
--     every hour, src/payments/ledger_maintenance.ts). The default partition catches a row whose
--     month has no partition yet (a service stopped for months, a clock far off), so a settle
--     never fails for want of a partition; creating that month later skips it while the default
--     holds its rows (the README's retention section says how an operator moves them).
--
-- The existing rows are copied into the new table once, here; indexes are rebuilt on it.

alter table processed_payments rename to processed_payments_unpartitioned;
alter index processed_payments_pkey rename to processed_payments_unpartitioned_pkey;
alter index processed_payments_requested_at rename to processed_payments_unpartitioned_requested_at;
alter index processed_payments_settled_at rename to processed_payments_unpartitioned_settled_at;

create table processed_payments (
  correlation_id uuid not null,
  processor smallint not null check (processor in (1, 2)),
  amount_cents bigint not null,
  requested_at timestamptz not null,
  settled_at timestamptz default now(),
  attempts int,
  primary key (correlation_id, requested_at)
) partition by range (requested_at);
-- The same two indexes as before (001, 004), now one per partition.
create index processed_payments_requested_at
  on processed_payments (requested_at) include (processor, amount_cents);
create index processed_payments_settled_at on processed_payments using brin (settled_at);
create table processed_payments_default partition of processed_payments default;

-- The UTC month holding `any_instant` (plus `offset_months`): its partition's name and bounds.
-- Computed on a timestamp without time zone, so that no session time zone (or its daylight
-- saving) moves a bound. The one definition of a ledger month, for both functions below and
-- detach_ledger_month (sql/006).
create function ledger_month(any_instant timestamptz, offset_months int default 0,
                             out name text, out lo timestamptz, out hi timestamptz)
language sql stable as $$
  select 'processed_payments_' || to_char(m, 'YYYY_MM'),
         m at time zone 'UTC',
         (m + interval '1 month') at time zone 'UTC'
  from (select date_trunc('month', any_instant at time zone 'UTC')
               + make_interval(months => offset_months) as m) as month
$$;

-- Creates the monthly partitions of `months` months from the one holding `first_month`, those
-- that do not exist yet, and returns how many it created. A month that rows in the default
-- partition belong to is skipped (Postgres would refuse it); so is a month whose lock is not
-- granted within lock_timeout, since creating a partition locks the default partition and
-- briefly the parent, and settles must not queue behind a maintenance task: the next call (an
-- hour later, months ahead) tries again. Serialised by an advisory lock so that two instances
-- starting together do not race on the same name.
create function ensure_ledger_partitions(first_month timestamptz, months int) returns int
language plpgsql
set lock_timeout = '200ms'
as $$
declare
  month record;
  created int := 0;
begin
  perform pg_advisory_xact_lock(7202500005);
  for i in 0 .. months - 1 loop
    month := ledger_month(first_month, i);
    continue when to_regclass(month.name) is not null;
    continue when exists (
      select 1 from processed_payments_default
      where requested_at >= month.lo and requested_at < month.hi);
    begin
      execute format(
        'create table %I partition of processed_payments for values from (%L) to (%L)',
        month.name, month.lo, month.hi);
      created := created + 1;
    exception when lock_not_available then
      raise notice 'ensure_ledger_partitions: % skipped (lock not granted)', month.name;
    end;
  end loop;
  return created;
end $$;

-- Every month the existing rows span, through two months after the current one.
select ensure_ledger_partitions(first_at, months_between + 3)
from (
  select first_at,
         (extract(year from last_utc) * 12 + extract(month from last_utc))::int
           - (extract(year from first_utc) * 12 + extract(month from first_utc))::int
           as months_between
  from (
    select least(min(requested_at), now()) as first_at,
           least(min(requested_at), now()) at time zone 'UTC' as first_utc,
           greatest(max(requested_at), now()) at time zone 'UTC' as last_utc
    from processed_payments_unpartitioned
  ) as bounds
) as span;

insert into processed_payments
  (correlation_id, processor, amount_cents, requested_at, settled_at, attempts)
select correlation_id, processor, amount_cents, requested_at, settled_at, attempts
from processed_payments_unpartitioned;
drop table processed_payments_unpartitioned;
