// The statements behind `deno task status`, one function each, all read-only. readStatus runs
// them in one repeatable-read transaction so every section describes the same instant.
import type postgres from "postgres";
import type { Sql } from "../db/connect.ts";
import type { ProcessorId } from "../payments/store.ts";

/** A pool or a transaction: anything that runs a tagged-template query. */
type Queryable = postgres.ISql;

/** Every queued row is in exactly one of dueNow, backingOff, pinned, inFlight. */
export interface QueueDepth {
  /** Free to go to any processor, claimable now. */
  dueNow: number;
  /** Free to go to any processor, waiting out a retry backoff. */
  backingOff: number;
  /**
   * Not held, but tied to an attempt whose outcome is unknown (timeout, reset, a holder that
   * died): only the same processor, asked again with the same requestedAt, may settle it.
   */
  pinned: number;
  /** Of `pinned`, those claimable now. */
  pinnedDueNow: number;
  /** Held by a live lease: a call in flight. */
  inFlight: number;
  total: number;
  /** Since acceptance, of the oldest payment not in flight; null when there is none. */
  oldestPendingAgeSeconds: number | null;
}

export interface AttemptBucket {
  /** Failed or unknown attempts so far: "0", "1", "2-4", "5-9", "10+". */
  attempts: string;
  rows: number;
}

export interface AttemptStats {
  buckets: AttemptBucket[];
  max: number;
}

export interface SettledTotals {
  processor: ProcessorId;
  count: number;
  cents: bigint;
  lastMinuteCount: number;
  lastMinuteCents: bigint;
}

export interface HealthRecord {
  processor: ProcessorId;
  failing: boolean;
  minResponseMs: number;
  /** Seconds since the last health check by any instance; null if never checked. */
  checkedAgoSeconds: number | null;
}

export interface LeaseHolder {
  owner: string;
  /** Rows under a lease that has not run out: calls in flight. */
  held: number;
  /** Rows whose lease ran out with the owner still set: the holder died or hung. */
  expired: number;
  /** Seconds until the owner's latest lease end; negative when it is already past. */
  latestEndInSeconds: number;
}

export interface StatusData {
  database: string;
  takenAt: Date;
  queue: QueueDepth;
  attempts: AttemptStats;
  settled: SettledTotals[];
  health: HealthRecord[];
  leases: LeaseHolder[];
}

/** False on a database the service has never migrated. */
export async function hasPaymentTables(sql: Queryable): Promise<boolean> {
  const [row] = await sql<{ ok: boolean }[]>`
    select to_regclass('payment_queue') is not null and to_regclass('processed_payments') is not null
      and to_regclass('processor_health') is not null as ok`;
  return row.ok;
}

export async function readSnapshotInfo(
  sql: Queryable,
): Promise<{ database: string; takenAt: Date }> {
  const [row] = await sql<{ database: string; taken_at: Date }[]>`
    select current_database() as database, now() as taken_at`;
  return { database: row.database, takenAt: row.taken_at };
}

export async function readQueueDepth(sql: Queryable): Promise<QueueDepth> {
  const [row] = await sql<
    {
      due_now: string;
      backing_off: string;
      pinned: string;
      pinned_due_now: string;
      in_flight: string;
      total: string;
      oldest_age: string | null;
    }[]
  >`
    select
      count(*) filter (where not leased and processor is null and due) as due_now,
      count(*) filter (where not leased and processor is null and not due) as backing_off,
      count(*) filter (where not leased and processor is not null) as pinned,
      count(*) filter (where not leased and processor is not null and due) as pinned_due_now,
      count(*) filter (where leased) as in_flight,
      count(*) as total,
      -- Looked up per pending row by primary key: cost follows the queue, not all payments.
      extract(epoch from now() - min(
        (select p.received_at from payments p where p.correlation_id = q.correlation_id)
      ) filter (where not leased)) as oldest_age
    from (
      select correlation_id, processor, visible_at <= now() as due,
        visible_at > now() and lease_owner is not null and processor is not null as leased
      from payment_queue
    ) q`;
  return {
    dueNow: Number(row.due_now),
    backingOff: Number(row.backing_off),
    pinned: Number(row.pinned),
    pinnedDueNow: Number(row.pinned_due_now),
    inFlight: Number(row.in_flight),
    total: Number(row.total),
    oldestPendingAgeSeconds: row.oldest_age === null ? null : Math.max(0, Number(row.oldest_age)),
  };
}

export async function readAttemptStats(sql: Queryable): Promise<AttemptStats> {
  const [row] = await sql<
    { a0: string; a1: string; a2: string; a5: string; a10: string; max: number | null }[]
  >`
    select
      count(*) filter (where attempts = 0) as a0,
      count(*) filter (where attempts = 1) as a1,
      count(*) filter (where attempts between 2 and 4) as a2,
      count(*) filter (where attempts between 5 and 9) as a5,
      count(*) filter (where attempts >= 10) as a10,
      max(attempts) as max
    from payment_queue`;
  return {
    buckets: [
      { attempts: "0", rows: Number(row.a0) },
      { attempts: "1", rows: Number(row.a1) },
      { attempts: "2-4", rows: Number(row.a2) },
      { attempts: "5-9", rows: Number(row.a5) },
      { attempts: "10+", rows: Number(row.a10) },
    ],
    max: row.max ?? 0,
  };
}

/** Both processors, with zeros for one that settled nothing. */
export async function readSettledTotals(sql: Queryable): Promise<SettledTotals[]> {
  const rows = await sql<
    { processor: ProcessorId; n: string; cents: string; recent_n: string; recent_cents: string }[]
  >`
    select h.processor,
      count(p.correlation_id) as n,
      coalesce(sum(p.amount_cents), 0) as cents,
      count(p.correlation_id) filter (where p.requested_at > now() - interval '60 seconds')
        as recent_n,
      coalesce(sum(p.amount_cents) filter (where p.requested_at > now() - interval '60 seconds'),
        0) as recent_cents
    from (values (1::int2), (2::int2)) as h(processor)
    left join processed_payments p on p.processor = h.processor
    group by h.processor
    order by h.processor`;
  return rows.map((r) => ({
    processor: r.processor,
    count: Number(r.n),
    cents: BigInt(r.cents),
    lastMinuteCount: Number(r.recent_n),
    lastMinuteCents: BigInt(r.recent_cents),
  }));
}

export async function readHealthRecords(sql: Queryable): Promise<HealthRecord[]> {
  const rows = await sql<
    { processor: ProcessorId; failing: boolean; min_response_ms: number; ago: string | null }[]
  >`
    select processor, failing, min_response_ms, extract(epoch from now() - checked_at) as ago
    from processor_health
    order by processor`;
  return rows.map((r) => ({
    processor: r.processor,
    failing: r.failing,
    minResponseMs: r.min_response_ms,
    checkedAgoSeconds: r.ago === null ? null : Number(r.ago),
  }));
}

export async function readLeaseHolders(sql: Queryable): Promise<LeaseHolder[]> {
  const rows = await sql<{ owner: string; held: string; expired: string; end_in: string }[]>`
    select lease_owner as owner,
      count(*) filter (where visible_at > now()) as held,
      count(*) filter (where visible_at <= now()) as expired,
      extract(epoch from max(visible_at) - now()) as end_in
    from payment_queue
    where lease_owner is not null
    group by lease_owner
    order by lease_owner`;
  return rows.map((r) => ({
    owner: r.owner,
    held: Number(r.held),
    expired: Number(r.expired),
    latestEndInSeconds: Number(r.end_in),
  }));
}

/** Every section at one instant (one read-only repeatable-read transaction). */
export async function readStatus(sql: Sql): Promise<StatusData> {
  return await sql.begin("isolation level repeatable read read only", async (tx) => {
    const [info, queue, attempts, settled, health, leases] = await Promise.all([
      readSnapshotInfo(tx),
      readQueueDepth(tx),
      readAttemptStats(tx),
      readSettledTotals(tx),
      readHealthRecords(tx),
      readLeaseHolders(tx),
    ]);
    return { ...info, queue, attempts, settled, health, leases };
  });
}
