// Read-only statements over the queue (payment_queue): how many rows are in each state, their
// failed attempts, and who holds leases. One definition each, shared by the service's queue
// gauges (src/metrics/queue_stats_store.ts), the operator console and `deno task status`, so
// "pending", "leased" and "oldest pending" mean the same everywhere.
import type postgres from "postgres";

/** A pool or a transaction: anything that runs a tagged-template query. */
type Queryable = postgres.ISql;

/** Every queued row is in exactly one of dueNow, backingOff, pinned, inFlight. */
export interface QueueDepth {
  /** No attempt fixed, so free to go to any processor: claimable now. */
  dueNow: number;
  /**
   * No attempt fixed, waiting out a retry backoff: the last attempt definitely failed (5xx, 429,
   * not reachable) and was released; the next claim starts a fresh one (reschedulePayments).
   */
  backingOff: number;
  /**
   * Not held, but tied to an attempt that may still be recorded (a call of it timed out or was
   * cut off, or its holder died: attempt_uncertain, sql/009): only the same processor, asked
   * again with the same requestedAt, may settle it.
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

export interface LeaseHolder {
  owner: string;
  /** Rows under a lease that has not run out: calls in flight. */
  held: number;
  /** Rows whose lease ran out with the owner still set: the holder died or hung. */
  expired: number;
  /** Seconds until the owner's latest lease end; negative when it is already past. */
  latestEndInSeconds: number;
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
