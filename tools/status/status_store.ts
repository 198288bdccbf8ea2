// The statements behind `deno task status`, one function each, all read-only. readStatus runs
// them in one repeatable-read transaction so every section describes the same instant. The
// queue and health sections are the service's own reads (src/queue/queue_reads.ts,
// src/health/health_reads.ts), so the status view, the console and the queue gauges count the
// same way; only the status view's own statements are here.
import type postgres from "postgres";
import type { Sql } from "../../src/db/connect.ts";
import { type HealthRecord, readHealthRecords } from "../../src/health/health_reads.ts";
import type { ProcessorId } from "../../src/processors/processor_id.ts";
import {
  type AttemptStats,
  type LeaseHolder,
  type QueueDepth,
  readAttemptStats,
  readLeaseHolders,
  readQueueDepth,
} from "../../src/queue/queue_reads.ts";

/** A pool or a transaction: anything that runs a tagged-template query. */
type Queryable = postgres.ISql;

export interface SettledTotals {
  processor: ProcessorId;
  count: number;
  cents: bigint;
  lastMinuteCount: number;
  lastMinuteCents: bigint;
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
