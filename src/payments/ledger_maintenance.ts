// Background upkeep of the settled ledger, in every instance (the statements take turns
// through Postgres locks, so instances never duplicate work): the summary's rollups, moved
// forward often, and the ledger's monthly partitions, created months ahead.
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log.ts";
import { ensureLedgerPartitions } from "./ledger_partitions.ts";
import { rollUpSettled } from "./summary_rollups.ts";

// Partitions exist this many months ahead; checked hourly, so a month is created long before
// its first settlement and a refused lock (a busy moment) is retried many times.
const partitionMonthsAhead = 2;
const partitionCheckMs = 3_600_000;

export interface LedgerMaintenanceOptions {
  sql: Sql;
  /** How often the rollup job runs: the summary reads at most this long of settlements raw. */
  rollupIntervalMs: number;
  log: Logger;
}

export class LedgerMaintenance {
  #timers: ReturnType<typeof setInterval>[] = [];
  #running = new Set<Promise<void>>();
  readonly #options: LedgerMaintenanceOptions;

  constructor(options: LedgerMaintenanceOptions) {
    this.#options = options;
  }

  start(): void {
    this.#every(this.#options.rollupIntervalMs, () => this.rollUp());
    this.#every(partitionCheckMs, () => this.ensurePartitions());
    this.#track(this.ensurePartitions());
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    await Promise.all(this.#running);
  }

  async rollUp(): Promise<void> {
    try {
      const rows = await rollUpSettled(this.#options.sql);
      if (rows) this.#options.log.debug("rolled_up", { rows });
    } catch (err) {
      this.#options.log.warn("rollup_failed", { err });
    }
  }

  async ensurePartitions(): Promise<void> {
    try {
      const created = await ensureLedgerPartitions(this.#options.sql, partitionMonthsAhead);
      if (created) this.#options.log.info("ledger_partitions_created", { created });
    } catch (err) {
      this.#options.log.warn("ledger_partitions_failed", { err });
    }
  }

  /** Runs `task` every `ms`, skipping a tick while the previous run has not ended. */
  #every(ms: number, task: () => Promise<void>): void {
    let busy = false;
    this.#timers.push(setInterval(() => {
      if (busy) return;
      busy = true;
      this.#track(task().finally(() => busy = false));
    }, ms));
  }

  #track(run: Promise<void>): void {
    this.#running.add(run);
    run.finally(() => this.#running.delete(run));
  }
}
