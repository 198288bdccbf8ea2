-- Why three tables: each has one access pattern and stays cheap at it.
--   payments            insert-only record of every accepted payment: the unique key that makes
--                       POST /payments idempotent (same id + amount) or a 409 (other amount).
--   payment_queue       the work queue: a row per payment not yet settled, claimed with
--                       FOR UPDATE SKIP LOCKED, deleted when settled. Small and churny.
--   processed_payments  insert-only ledger of settlements, never updated, so it stays compact
--                       and the summary is an index-only range scan.
-- Money is integer cents; processors are 1 = default, 2 = fallback.

create table payments (
  correlation_id uuid primary key,
  amount_cents bigint not null check (amount_cents > 0),
  received_at timestamptz not null default now()
);

create table payment_queue (
  correlation_id uuid primary key references payments,
  amount_cents bigint not null,
  -- When the row may next be claimed: now for new work, a backoff after a failure, the lease
  -- end while an instance holds it (so a crashed holder's rows come back by themselves).
  visible_at timestamptz not null default now(),
  -- Bumped by every claim; outcomes are recorded only by the claim that still holds the row.
  claim_seq int not null default 0,
  -- Set while a claim holds the row, cleared when its holder lets go (outcome or shutdown): a
  -- claim that finds it still set is taking over from an instance that died or hung.
  lease_owner text,
  attempts int not null default 0,
  -- The attempt in progress: set before the call, kept while its outcome is unknown, so that a
  -- retry (by any instance) goes to the same processor with the same requestedAt.
  processor smallint check (processor in (1, 2)),
  requested_at timestamptz,
  check ((processor is null) = (requested_at is null))
);
create index payment_queue_visible_at on payment_queue (visible_at);

create table processed_payments (
  correlation_id uuid primary key references payments,
  processor smallint not null check (processor in (1, 2)),
  amount_cents bigint not null,
  requested_at timestamptz not null
);
-- Covers the summary: a range on requested_at reading processor and amount from the index.
create index processed_payments_requested_at
  on processed_payments (requested_at) include (processor, amount_cents);

-- Shared processor health, so that all instances together call the rate-limited health
-- endpoint at most once per window: whoever moves next_check_at forward makes the call.
create table processor_health (
  processor smallint primary key check (processor in (1, 2)),
  failing boolean not null default false,
  min_response_ms int not null default 0,
  checked_at timestamptz,
  next_check_at timestamptz not null default '-infinity'
);
insert into processor_health (processor) values (1), (2);

-- The queue churns constantly: vacuum it after a small fraction of change, not the default 20 %.
alter table payment_queue set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);
