// Keeps the router informed by the processors' health endpoints without ever exceeding their
// rate limit: instances take turns through Postgres (health_store.ts), and every instance
// reads the shared result each tick. Each report is applied once, so a stale "failing" cannot
// keep knocking a recovered processor back.
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log.ts";
import type { ProcessorId } from "./processor_id.ts";
import { fetchHealth } from "./client.ts";
import { readHealthTakingTurns, saveHealth } from "./health_store.ts";
import type { ProcessorRouter } from "./router.ts";

// How often each instance looks at the shared view; the remote call is rarer (intervalMs).
const tickMs = 1_000;
const healthTimeoutMs = 2_000;

export interface HealthPollerOptions {
  sql: Sql;
  router: ProcessorRouter;
  urls: Record<ProcessorId, string>;
  /** How often, across all instances, each processor's health endpoint is called. */
  intervalMs: number;
  log: Logger;
}

export class HealthPoller {
  #timer?: ReturnType<typeof setInterval>;
  #applied = new Map<ProcessorId, number>();
  #running?: Promise<void>;
  private readonly sql: Sql;
  private readonly router: ProcessorRouter;
  private readonly urls: Record<ProcessorId, string>;
  private readonly intervalMs: number;
  private readonly log: Logger;

  constructor(options: HealthPollerOptions) {
    ({
      sql: this.sql,
      router: this.router,
      urls: this.urls,
      intervalMs: this.intervalMs,
      log: this.log,
    } = options);
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.tick().finally(() => this.#running = undefined);
    }, tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  async tick(): Promise<void> {
    try {
      // One statement per tick: every instance reads the shared view each second, so what it
      // costs is paid by each idle instance all the time (3 statements before, bench/README.md).
      const rows = await readHealthTakingTurns(this.sql, this.intervalMs);
      for (const row of rows) {
        if (!row.myTurn) continue;
        const health = await fetchHealth(this.urls[row.processor], healthTimeoutMs);
        if (!health) continue;
        row.checkedAt = await saveHealth(
          this.sql,
          row.processor,
          health.failing,
          health.minResponseTime,
        );
        row.failing = health.failing;
        row.minResponseMs = health.minResponseTime;
      }
      for (const row of rows) {
        const at = row.checkedAt?.getTime();
        if (at === undefined || this.#applied.get(row.processor) === at) continue;
        this.#applied.set(row.processor, at);
        // A report from before a long pause (or a previous run) says nothing about now.
        if (Date.now() - at > 2 * this.intervalMs) continue;
        this.router.applyHealth(row.processor, row.failing, row.minResponseMs, Date.now());
      }
    } catch (err) {
      this.log.warn("health_poll_failed", { err });
    }
  }
}
