// The console's data, read from Postgres at most once per interval whoever is watching: the
// first request after the cache ages out starts one read, every request arriving meanwhile
// shares it, and all viewers get the same snapshot until the next. Nothing runs while nobody
// watches (no timer), and nothing here touches the POST /payments path.
import type { Sql } from "../db/connect.ts";
import { formatCents } from "../money.ts";
import { readHealthRecords } from "../health/health_reads.ts";
import {
  type ProcessorId,
  processorIds,
  processorNames as names,
} from "../processors/processor_id.ts";
import { readAttemptStats, readQueueDepth } from "../queue/queue_reads.ts";
import {
  type FlowSecond,
  readFlow,
  readLatestAttempt,
  readOldestPending,
  readStateCounts,
  type SettledSums,
} from "./console_store.ts";
import { feeCents } from "./fees.ts";
import { summarize } from "../payments/summary_store.ts";
import { queueRowState } from "./payment_state.ts";

export interface FeedOptions {
  /** How long one read serves every viewer. */
  maxAgeMs: number;
  /** Seconds of per-second history kept for the chart. */
  windowSeconds: number;
  /** Rows in the oldest-pending list. */
  pendingRows: number;
}

export const defaultFeedOptions: FeedOptions = {
  // "Live" is about once a second; each viewer polls at that pace.
  maxAgeMs: 1_000,
  windowSeconds: 300,
  pendingRows: 15,
};

// Each read re-reads this many seconds before the previous one, so rows committed late (a
// payment's received_at is its transaction's start) are still counted in their second.
const overlapSeconds = 5;

export type Snapshot = ReturnType<typeof assemble>;

export class ConsoleFeed {
  #cached?: { at: number; data: Snapshot };
  #inFlight?: Promise<Snapshot>;
  #flow = new Map<number, FlowSecond>();
  #lastReadMs?: number;
  /** Reads made so far (tests check that viewers share them). */
  reads = 0;

  constructor(private readonly sql: Sql, private readonly options = defaultFeedOptions) {}

  snapshot(now = Date.now()): Promise<Snapshot> {
    if (this.#cached && now - this.#cached.at < this.options.maxAgeMs) {
      return Promise.resolve(this.#cached.data);
    }
    return this.#inFlight ??= this.#read().then((data) => {
      this.#cached = { at: Date.now(), data };
      return data;
    }).finally(() => {
      this.#inFlight = undefined;
    });
  }

  async #read(): Promise<Snapshot> {
    this.reads++;
    const startedMs = Date.now();
    const windowStart = Math.floor(startedMs / 1000) - this.options.windowSeconds;
    const from = this.#lastReadMs === undefined
      ? windowStart
      : Math.max(windowStart, Math.floor(this.#lastReadMs / 1000) - overlapSeconds);
    const parts = await this.sql.begin(
      "isolation level repeatable read read only",
      async (tx) => {
        const [info, states, depth, attempts, ledger, health, latest, pending, flow] = await Promise
          .all([
            tx<{ taken_at: Date }[]>`select now() as taken_at`,
            readStateCounts(tx),
            readQueueDepth(tx),
            readAttemptStats(tx),
            summarize(tx, undefined, undefined),
            readHealthRecords(tx),
            readLatestAttempt(tx),
            readOldestPending(tx, this.options.pendingRows),
            readFlow(tx, from),
          ]);
        const parts = {
          takenAt: info[0].taken_at,
          states,
          depth,
          attempts,
          settled: settledSums(ledger),
          health,
          latest,
          pending,
          flow,
        };
        return parts;
      },
    );
    this.#lastReadMs = startedMs;
    // The seconds re-read replace what was kept; older ones leave the window.
    for (const s of this.#flow.keys()) if (s >= from || s < windowStart) this.#flow.delete(s);
    for (const f of parts.flow) if (f.second >= from) this.#flow.set(f.second, f);
    return assemble(parts, this.#flow, windowStart);
  }
}

/** All-time totals per processor (the summary's full range: rollups, so a few index reads). */
function settledSums(totals: Awaited<ReturnType<typeof summarize>>): SettledSums {
  const sums = {} as SettledSums;
  for (const p of processorIds) {
    const t = totals.get(p);
    sums[p] = { count: Number(t?.totalRequests ?? 0n), cents: t?.totalCents ?? 0n };
  }
  return sums;
}

function assemble(
  parts: {
    takenAt: Date;
    states: Awaited<ReturnType<typeof readStateCounts>>;
    depth: Awaited<ReturnType<typeof readQueueDepth>>;
    attempts: Awaited<ReturnType<typeof readAttemptStats>>;
    settled: SettledSums;
    health: Awaited<ReturnType<typeof readHealthRecords>>;
    latest: Awaited<ReturnType<typeof readLatestAttempt>>;
    pending: Awaited<ReturnType<typeof readOldestPending>>;
  },
  flow: Map<number, FlowSecond>,
  windowStart: number,
) {
  // The current second is still filling: the chart ends at the last complete one.
  const last = Math.floor(parts.takenAt.getTime() / 1000) - 1;
  const chart = {
    seconds: [] as number[],
    accepted: [] as number[],
    settledDefault: [] as number[],
    settledFallback: [] as number[],
  };
  for (let s = windowStart; s <= last; s++) {
    const f = flow.get(s);
    chart.seconds.push(s);
    chart.accepted.push(f?.accepted ?? 0);
    chart.settledDefault.push(f?.settled[1] ?? 0);
    chart.settledFallback.push(f?.settled[2] ?? 0);
  }
  // Settled in the last 60 complete seconds, from the per-second history.
  const lastMinute: Record<ProcessorId, number> = { 1: 0, 2: 0 };
  for (let s = last - 59; s <= last; s++) {
    const f = flow.get(s);
    if (f) { for (const p of processorIds) lastMinute[p] += f.settled[p]; }
  }
  const failing = new Map(parts.health.map((h) => [h.processor, h.failing]));
  return {
    takenAt: parts.takenAt.toISOString(),
    chart,
    settled: processorIds.map((p) => ({
      processor: names[p],
      count: parts.settled[p].count,
      amount: formatCents(parts.settled[p].cents),
      fee: formatCents(feeCents(p, parts.settled[p].cents)),
      lastMinuteCount: lastMinute[p],
    })),
    queue: {
      ...parts.states,
      oldestPendingAgeSeconds: parts.depth.oldestPendingAgeSeconds,
    },
    attempts: parts.attempts,
    health: parts.health.map((h) => ({
      processor: names[h.processor],
      failing: h.failing,
      minResponseMs: h.minResponseMs,
      checkedAgoSeconds: h.checkedAgoSeconds,
    })),
    routing: {
      latestProcessor: parts.latest ? names[parts.latest.processor] : null,
      latestAgoSeconds: parts.latest?.ageSeconds ?? null,
      defaultFailing: failing.get(1) ?? false,
    },
    pending: parts.pending.map((p) => ({
      correlationId: p.correlationId,
      amount: formatCents(p.amountCents),
      ageSeconds: p.ageSeconds,
      state: queueRowState({
        hasAttempt: p.processor !== null,
        attempts: p.attempts,
        leased: p.leased,
        due: p.due,
      }),
      processor: p.processor === null ? null : names[p.processor],
      attempts: p.attempts,
      lastOutcome: p.lastOutcome,
    })),
  };
}
