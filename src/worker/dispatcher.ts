// The in-process worker: claims due payments in batches and starts their calls concurrently
// (at most maxInFlight at once, paced by maxCallRate), or takes them straight from the intake
// (reserve, handOff). Each call and its outcome is an AttemptRunner's; when the loop sleeps and
// what wakes it (a local enqueue, a NOTIFY from another instance, a freed slot, the poll
// interval) is the LoopWaker's.
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log.ts";
import { TokenBucket } from "./token_bucket.ts";
import type { ProcessorRouter } from "../processors/router.ts";
import {
  claimBatch,
  type ClaimedPayment,
  type NewPayment,
  releaseLeases,
} from "../payments/store.ts";
import { OutcomeWriter } from "./outcome_writer.ts";
import { AttemptRunner } from "./attempt_runner.ts";
import { LoopWaker } from "./loop_waker.ts";
import { DEFAULT, FALLBACK, type ProcessorId, processorIds } from "../processors/processor_id.ts";
import type { ServiceMetrics } from "../metrics/service_metrics.ts";
import type { Reservation } from "../payments/intake.ts";
import { Http1Pool } from "../processors/http1_pool.ts";

export interface DispatcherSettings {
  owner: string;
  maxInFlight: number;
  claimBatchMax: number;
  pollIntervalMs: number;
  leaseMarginMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a new-payment hint may wait, to gather more payments into one claim. */
  claimCoalesceMs: number;
  /** Processor calls started per second at most (0 = no limit). */
  maxCallRate: number;
  /** How long a settle waits for others to share its statement (see Batcher). */
  settleLingerMs: number;
}

export interface DispatcherOptions {
  /** Settles, reschedules and lease releases. */
  sql: Sql;
  /** Claims: a pool whose sessions commit durably (see claimBatch). */
  claimSql: Sql;
  router: ProcessorRouter;
  urls: Record<ProcessorId, string>;
  settings: DispatcherSettings;
  log: Logger;
  metrics: ServiceMetrics;
}

export class Dispatcher {
  #inFlight = 0;
  #stopping = false;
  #loop?: Promise<void>;
  #backlogLikely = false;
  #idleWaiters: (() => void)[] = [];
  #pace: TokenBucket;
  #throttledMs = 0;
  /** Rows a paced claim waits for (see #claimAndLaunch). */
  readonly #paceBatch: number;
  readonly #outcomes: OutcomeWriter;
  readonly #attempts: AttemptRunner;
  readonly #waker: LoopWaker;
  readonly #pools: Record<ProcessorId, Http1Pool>;

  private readonly sql: Sql;
  private readonly claimSql: Sql;
  private readonly router: ProcessorRouter;
  private readonly settings: DispatcherSettings;
  private readonly log: Logger;
  private readonly metrics: ServiceMetrics;

  constructor(options: DispatcherOptions) {
    const { sql, settings } = options;
    this.sql = sql;
    this.claimSql = options.claimSql;
    this.router = options.router;
    this.settings = settings;
    this.log = options.log;
    this.metrics = options.metrics;
    // A tenth of a second's worth of calls may start at once.
    this.#pace = new TokenBucket(
      settings.maxCallRate,
      Math.max(1, Math.ceil(settings.maxCallRate / 10)),
      Date.now(),
    );
    // Never more than the bucket holds: a paced claim waiting for more tokens than that would
    // never run, and the loop, finding the bucket full each time, would spin without yielding
    // (CLAIM_COALESCE_MS above 100 with MAX_CALL_RATE set did; tests/pipeline_test.ts).
    this.#paceBatch = settings.maxCallRate > 0
      ? Math.min(
        this.#pace.burst,
        Math.max(1, Math.ceil(settings.maxCallRate * settings.claimCoalesceMs / 1000)),
      )
      : Number.POSITIVE_INFINITY;
    this.#outcomes = new OutcomeWriter(sql, settings.settleLingerMs);
    // Each call in flight holds a connection: keeping as many idle as calls may run at once
    // means a steady load never opens one.
    this.#pools = Object.fromEntries(
      processorIds.map((p) => [p, new Http1Pool(options.urls[p], settings.maxInFlight)]),
    ) as Record<ProcessorId, Http1Pool>;
    this.#attempts = new AttemptRunner({
      router: options.router,
      pools: this.#pools,
      outcomes: this.#outcomes,
      retry: { baseMs: settings.retryBaseMs, maxMs: settings.retryMaxMs },
      log: options.log,
      metrics: options.metrics,
    });
    this.#waker = new LoopWaker({ coalesceMs: settings.claimCoalesceMs });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * New payments were queued: claim within claimCoalesceMs rather than at once, so that at a
   * steady trickle one claim (and one settle) serves many payments instead of one each.
   */
  hint(): void {
    this.#waker.wakeSoon();
  }

  /** Work may be waiting: claim now instead of at the next poll. */
  wake(): void {
    this.#waker.wakeNow();
  }

  /**
   * Up to `wanted` slots for new payments the intake is about to insert: when new work would
   * be claimed at full rate right now (healthy target, free slots, pace tokens), the intake
   * inserts those rows already leased to us (insertPayments) and hands them over with
   * `handOff`, so they cost no claim statement and no wake-up. The slots count as in flight
   * until then, so claims cannot overcommit meanwhile.
   */
  reserve(wanted: number): Reservation | undefined {
    if (this.#stopping || wanted < 1) return undefined;
    const now = Date.now();
    const [plan] = this.router.plan(now);
    if (!plan || plan.mode !== "full" || !plan.fresh) return undefined;
    const slots = Math.min(
      wanted,
      this.settings.maxInFlight - this.#inFlight,
      this.#pace.available(now),
    );
    if (slots < 1) return undefined;
    this.#pace.take(slots);
    this.#inFlight += slots;
    return {
      slots,
      claim: {
        owner: this.settings.owner,
        target: plan.target,
        requestedAt: new Date(now),
        leaseMs: this.#leaseMs(),
      },
    };
  }

  /**
   * Calls the processor for the rows inserted under `reservation` (claim_seq 1, attempt fixed),
   * and gives back the slots they did not use. Rows never handed over (the insert or the
   * durability wait failed) stay leased until the lease ends, then are claimed like any other.
   * Their commit must already be durable (see Intake).
   */
  handOff(reservation: Reservation, rows: NewPayment[]): void {
    this.#inFlight -= reservation.slots;
    this.#pace.take(rows.length - reservation.slots);
    for (const row of rows) {
      this.#launch({
        correlationId: row.correlationId,
        amountCents: row.amountCents,
        processor: reservation.claim.target,
        requestedAt: reservation.claim.requestedAt,
        claimSeq: 1,
        attempts: 0,
        takenOver: false,
      }, false);
    }
    if (this.#inFlight === 0) this.#idleWaiters.splice(0).forEach((r) => r());
  }

  /**
   * Stops claiming, lets calls in flight finish and record, closes the processor connections,
   * then frees this owner's leases.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.wake();
    await this.#loop;
    if (this.#inFlight > 0) await new Promise<void>((r) => this.#idleWaiters.push(r));
    await this.#outcomes.drained();
    for (const p of processorIds) this.#pools[p].close();
    try {
      await releaseLeases(this.sql, this.settings.owner);
    } catch (err) {
      this.log.warn("release_leases_failed", { err });
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      let failed = false;
      try {
        await this.#claimAndLaunch();
      } catch (err) {
        failed = true;
        this.log.warn("claim_failed", { err });
      }
      if (this.#stopping) break;
      const busy = this.#backlogLikely && this.#inFlight < this.settings.maxInFlight;
      if (!busy || failed) await this.#waker.sleep(this.settings.pollIntervalMs);
      else if (this.#throttledMs > 0) await this.#waker.sleep(this.#throttledMs);
    }
  }

  async #claimAndLaunch(): Promise<void> {
    this.#backlogLikely = false;
    this.#throttledMs = 0;
    const now = Date.now();
    const leaseMs = this.#leaseMs();
    for (const plan of this.router.plan(now)) {
      const free = this.settings.maxInFlight - this.#inFlight;
      if (free <= 0) {
        this.#backlogLikely = true;
        return;
      }
      // A paced claim waits for claimCoalesceMs' worth of tokens instead of one: draining a
      // backlog at MAX_CALL_RATE 500 otherwise took one row per claim, each with its own
      // statement, plan and fsync (0.26-0.36 claims per payment in `deno task bench`).
      const cap = plan.mode === "probe" ? 1 : Math.min(free, this.settings.claimBatchMax);
      const wanted = Math.min(cap, this.#paceBatch);
      const allowed = this.#pace.available(now);
      if (allowed < wanted) {
        this.#backlogLikely = true;
        this.#throttledMs = this.#pace.msUntil(wanted);
        return;
      }
      const limit = Math.min(cap, allowed);
      const rows = await claimBatch(this.claimSql, {
        owner: this.settings.owner,
        limit,
        target: plan.target,
        resumable: plan.resumable,
        fresh: plan.fresh,
        requestedAt: new Date(),
        leaseMs,
      });
      this.#pace.take(rows.length);
      if (plan.mode === "probe") this.router.startProbe(plan.target, now, rows.length > 0);
      const takenOver = rows.filter((r) => r.takenOver).length;
      if (takenOver > 0) this.metrics.leaseTakeovers.inc(takenOver);
      if (plan.mode === "full" && rows.length === limit) this.#backlogLikely = true;
      for (const row of rows) this.#launch(row, plan.mode === "probe");
    }
  }

  async #launch(row: ClaimedPayment, probe: boolean): Promise<void> {
    this.#inFlight++;
    try {
      await this.#attempts.run(row, probe);
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#idleWaiters.splice(0).forEach((r) => r());
      if (this.#backlogLikely || probe) this.wake();
    }
  }

  /** Long enough for any call to end, plus the margin before a take-over. */
  #leaseMs(): number {
    // A probe's timeout is the longer one.
    return Math.max(this.router.timeoutMs(DEFAULT, true), this.router.timeoutMs(FALLBACK, true)) +
      this.settings.leaseMarginMs;
  }
}
