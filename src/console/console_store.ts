// The statements only the console needs, one function each, all read-only. The queue, attempts
// and health sections use the service's shared reads (src/queue/queue_reads.ts,
// src/health/health_reads.ts), which `deno task status` uses too, so both count the same way.
import type postgres from "postgres";
import type { ProcessorId } from "../processors/processor_id.ts";

type Queryable = postgres.ISql;

/** Payments accepted, and settled per processor, in one second (epoch seconds). */
export interface FlowSecond {
  second: number;
  accepted: number;
  settled: Record<ProcessorId, number>;
}

/**
 * Per-second counts from `fromSecond` (epoch seconds) on, through the BRIN indexes on
 * received_at and settled_at (sql/004): each call reads only the tail of both tables, so the
 * console asks for the few seconds it has not seen yet, not the whole window every time.
 */
export async function readFlow(sql: Queryable, fromSecond: number): Promise<FlowSecond[]> {
  const rows = await sql<{ second: string; processor: number; n: string }[]>`
    select floor(extract(epoch from received_at))::int8 as second, 0 as processor, count(*) as n
    from payments
    where received_at >= to_timestamp(${fromSecond})
    group by 1
    union all
    select floor(extract(epoch from settled_at))::int8, processor, count(*)
    from processed_payments
    where settled_at >= to_timestamp(${fromSecond})
    group by 1, 2`;
  const bySecond = new Map<number, FlowSecond>();
  for (const r of rows) {
    const second = Number(r.second);
    let entry = bySecond.get(second);
    if (!entry) {
      entry = { second, accepted: 0, settled: { 1: 0, 2: 0 } };
      bySecond.set(second, entry);
    }
    if (r.processor === 0) entry.accepted += Number(r.n);
    else entry.settled[r.processor as ProcessorId] += Number(r.n);
  }
  return [...bySecond.values()].sort((a, b) => a.second - b.second);
}

export interface PendingPayment {
  correlationId: string;
  amountCents: bigint;
  ageSeconds: number;
  processor: ProcessorId | null;
  attempts: number;
  leased: boolean;
  due: boolean;
  lastOutcome: string | null;
}

/**
 * The oldest payments not yet settled, in flight ones included (they are pending too; the
 * state column tells them apart). The queue is small except during an outage, when it is
 * exactly what this list is for; each row's acceptance time is a primary-key probe (measured:
 * 2,000 queued rows among 200,000 payments, 36 ms as a join, a few ms this way).
 */
export async function readOldestPending(sql: Queryable, limit: number): Promise<PendingPayment[]> {
  const rows = await sql<
    {
      correlation_id: string;
      amount_cents: string;
      age: string;
      processor: ProcessorId | null;
      attempts: number;
      leased: boolean;
      due: boolean;
      last_outcome: string | null;
    }[]
  >`
    select correlation_id, amount_cents, extract(epoch from now() - received_at) as age,
      processor, attempts, leased, due, last_outcome
    from (
      -- A primary-key probe per queued row, not a join: the planner would hash all payments.
      select q.correlation_id, q.amount_cents, q.processor, q.attempts,
        q.lease_owner is not null as leased, q.visible_at <= now() as due, q.last_outcome,
        (select p.received_at from payments p where p.correlation_id = q.correlation_id)
          as received_at
      from payment_queue q
    ) pending
    order by received_at, correlation_id
    limit ${limit}`;
  return rows.map((r) => ({
    correlationId: r.correlation_id,
    amountCents: BigInt(r.amount_cents),
    ageSeconds: Math.max(0, Number(r.age)),
    processor: r.processor,
    attempts: r.attempts,
    leased: r.leased,
    due: r.due,
    lastOutcome: r.last_outcome,
  }));
}

export interface LatestAttempt {
  processor: ProcessorId;
  ageSeconds: number;
}

/**
 * Where the newest attempt went: new attempts are stamped with the claim's requestedAt, so the
 * newest one, queued or settled, shows where the instances send new payments now. A backward
 * scan of the ledger's requested_at index, and the queue (small).
 */
export async function readLatestAttempt(sql: Queryable): Promise<LatestAttempt | undefined> {
  const [row] = await sql<{ processor: ProcessorId; age: string }[]>`
    select processor, extract(epoch from now() - requested_at) as age from (
      (select processor, requested_at from processed_payments order by requested_at desc limit 1)
      union all
      (select processor, requested_at from payment_queue where requested_at is not null
        order by requested_at desc limit 1)
    ) latest
    order by requested_at desc
    limit 1`;
  return row ? { processor: row.processor, ageSeconds: Number(row.age) } : undefined;
}

/** Queued payments in each state of src/console/payment_state.ts, counted the same way. */
export interface StateCounts {
  queued: number;
  inFlight: number;
  retrying: number;
  pinned: number;
  total: number;
}

export async function readStateCounts(sql: Queryable): Promise<StateCounts> {
  // queueRowState's rule: no attempt fixed → queued, or retrying once a released attempt has
  // failed; an attempt fixed → in flight under a live lease, else pinned.
  const [row] = await sql<
    { queued: string; in_flight: string; retrying: string; pinned: string; total: string }[]
  >`
    select
      count(*) filter (where processor is null and attempts = 0) as queued,
      count(*) filter (where processor is null and attempts > 0) as retrying,
      count(*) filter (where processor is not null and leased and not due) as in_flight,
      count(*) filter (where processor is not null and not (leased and not due)) as pinned,
      count(*) as total
    from (
      select processor, attempts, lease_owner is not null as leased, visible_at <= now() as due
      from payment_queue
    ) q`;
  return {
    queued: Number(row.queued),
    inFlight: Number(row.in_flight),
    retrying: Number(row.retrying),
    pinned: Number(row.pinned),
    total: Number(row.total),
  };
}

/** Payments and cents settled per processor. */
export type SettledSums = Record<ProcessorId, { count: number; cents: bigint }>;
