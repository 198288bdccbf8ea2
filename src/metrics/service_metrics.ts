// Every metric the service exposes, created in one place so names, labels and buckets are
// defined once. The hot path holds the returned instruments (most pre-bound to their labels)
// and does one increment or one bucket scan per event; everything read from Postgres or the
// router is read at scrape time instead.
import type { Sql } from "../db/connect.ts";
import {
  DEFAULT,
  FALLBACK,
  type ProcessorId,
  processorIds,
  processorNames,
} from "../processors/processor_id.ts";
import { readPoolConnections } from "./pool_stats_store.ts";
import {
  type Counter,
  type CounterChild,
  EventLoopLagSampler,
  type Histogram,
  RecentMax,
  Registry,
  shareInFlight,
} from "./prometheus/mod.ts";
import { readQueueStats } from "./queue_stats_store.ts";

export type AcceptResult = "created" | "repeat" | "conflict";

/** Fine below 5 ms, where the acknowledgement path should live. */
export const httpDurationBuckets = [
  0.0005,
  0.001,
  0.0015,
  0.002,
  0.003,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

export const eventLoopLagBuckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2];

export interface ServiceMetricsOptions {
  /** The pool to read queue depth from at scrape time; without it the queue gauges are absent. */
  sql?: Sql;
  /** The pool's application_name (the instance id); with sql, enables db_pool_connections. */
  applicationName?: string;
  /** This instance's routing view (e.g. `(p) => router.isHealthy(p)`), read at scrape time. */
  isProcessorHealthy?: (processor: ProcessorId) => boolean;
  /** Event-loop sampling period; default 500 ms. */
  lagIntervalMs?: number;
  /** Also told when a scrape-time read fails (e.g. to log it); it is counted regardless. */
  onCollectError?: (metric: string, error: unknown) => void;
}

export interface ServiceMetrics {
  registry: Registry;
  /** `.labels(method, route, status).observe(seconds)`; route must be a known route or "other". */
  httpRequestDuration: Histogram<readonly ["method", "route", "status"]>;
  /** `.created.inc()` once per payment in the answer: 202 created, 200 repeat, 409 conflict. */
  paymentsAccepted: Record<AcceptResult, CounterChild>;
  /** `[processorId].inc(n)` after the settlement commit, for the rows it moved to the ledger. */
  paymentsProcessed: Record<ProcessorId, CounterChild>;
  /** `.labels(processorNames[p], result.outcome, result.detail).inc()` after each call. */
  processorAttempts: Counter<readonly ["processor", "outcome", "detail"]>;
  /** `.inc(n)` for payments put back for a later attempt. */
  paymentRetries: Counter;
  /** `.inc(n)` for claimed rows with `takenOver` set. */
  leaseTakeovers: Counter;
  /** Starts the event-loop lag sampler (a timer). */
  start(): void;
  /** Stops the sampler; call on shutdown and at the end of tests. */
  stop(): void;
}

export function createServiceMetrics(options: ServiceMetricsOptions = {}): ServiceMetrics {
  const registry = new Registry({
    onCollectError(metric, error) {
      // Declared below; only called during render(), after it exists.
      collectErrors.labels(metric).inc();
      options.onCollectError?.(metric, error);
    },
  });

  const httpRequestDuration = registry.histogram({
    name: "http_request_duration_seconds",
    help: "Time from request to response, by method, route and status.",
    labelNames: ["method", "route", "status"],
    buckets: httpDurationBuckets,
  });

  const accepted = registry.counter({
    name: "payments_accepted_total",
    help: "Payments answered by POST /payments: created (202), repeat (200), conflict (409).",
    labelNames: ["result"],
  });
  const processed = registry.counter({
    name: "payments_processed_total",
    help: "Payments this instance settled, by the processor that processed them.",
    labelNames: ["processor"],
  });
  const processorAttempts = registry.counter({
    name: "processor_attempts_total",
    help: "Calls to payment processors, by processor, outcome and detail (status or reason).",
    labelNames: ["processor", "outcome", "detail"],
  });
  const paymentRetries = registry.counter({
    name: "payment_retries_total",
    help: "Payments put back in the queue for another attempt after a failed or unknown one.",
  });
  const leaseTakeovers = registry.counter({
    name: "lease_takeovers_total",
    help: "Claims of rows whose lease expired while another owner still held it.",
  });

  if (options.isProcessorHealthy) {
    const isHealthy = options.isProcessorHealthy;
    registry.gauge({
      name: "processor_healthy",
      help: "1 when this instance's router sends new attempts to the processor, 0 otherwise.",
      labelNames: ["processor"],
      collect(gauge) {
        for (const id of processorIds) {
          gauge.labels(processorNames[id]).set(isHealthy(id) ? 1 : 0);
        }
      },
    });
  }

  if (options.sql) registerQueueGauges(registry, options.sql);
  if (options.sql && options.applicationName) {
    const sql = options.sql;
    const applicationName = options.applicationName;
    registry.gauge({
      name: "db_pool_connections",
      help: "This instance's Postgres connections by server-side state (pg_stat_activity).",
      labelNames: ["state"],
      async collect(gauge) {
        const counts = await readPoolConnections(sql, applicationName);
        // States seen before but absent now must read 0, not their last count.
        for (const state of ["active", "idle", "idle in transaction"]) {
          gauge.labels(state).set(counts.get(state) ?? 0);
        }
        for (const [state, n] of counts) gauge.labels(state).set(n);
      },
    });
  }

  const lagIntervalMs = options.lagIntervalMs ?? 500;
  const lag = registry.histogram({
    name: "event_loop_lag_seconds",
    help: `How late a ${lagIntervalMs} ms timer fires: time the event loop was busy or starved.`,
    buckets: eventLoopLagBuckets,
  });
  // The worst sample of about the last 10 s.
  const recentLag = new RecentMax(Math.max(1, Math.ceil(10_000 / lagIntervalMs)));
  registry.gauge({
    name: "event_loop_lag_max_seconds",
    help: "Largest event-loop lag sampled over about the last 10 s.",
    collect: (gauge) => gauge.set(recentLag.max()),
  });
  const sampler = new EventLoopLagSampler({
    intervalMs: lagIntervalMs,
    record(seconds) {
      lag.observe(seconds);
      recentLag.push(seconds);
    },
  });

  registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident set size of this process.",
    collect: (gauge) => gauge.set(Deno.memoryUsage().rss),
  });
  registry.gauge({
    name: "process_heap_used_bytes",
    help: "V8 heap in use.",
    collect: (gauge) => gauge.set(Deno.memoryUsage().heapUsed),
  });
  const collectErrors = registry.counter({
    name: "metrics_collect_errors_total",
    help: "Scrape-time reads that failed; the metric is left out of that scrape.",
    labelNames: ["metric"],
  });

  return {
    registry,
    httpRequestDuration,
    paymentsAccepted: {
      created: accepted.labels("created"),
      repeat: accepted.labels("repeat"),
      conflict: accepted.labels("conflict"),
    },
    paymentsProcessed: {
      [DEFAULT]: processed.labels(processorNames[DEFAULT]),
      [FALLBACK]: processed.labels(processorNames[FALLBACK]),
    } as Record<ProcessorId, CounterChild>,
    processorAttempts,
    paymentRetries,
    leaseTakeovers,
    start: () => sampler.start(),
    stop: () => sampler.stop(),
  };
}

/** Three gauges from one query per scrape. */
function registerQueueGauges(registry: Registry, sql: Sql): void {
  const read = shareInFlight(() => readQueueStats(sql));
  registry.gauge({
    name: "queue_pending",
    help: "Queued payments no live claim holds: due now, backing off, or abandoned by a holder.",
    collect: async (gauge) => gauge.set((await read()).pending),
  });
  registry.gauge({
    name: "queue_leased",
    help: "Queued payments held by a claim right now (an attempt in flight).",
    collect: async (gauge) => gauge.set((await read()).leased),
  });
  registry.gauge({
    name: "queue_oldest_pending_age_seconds",
    help: "Seconds since the oldest pending payment was accepted; 0 when none is pending.",
    collect: async (gauge) => gauge.set((await read()).oldestPendingAgeSeconds),
  });
}
