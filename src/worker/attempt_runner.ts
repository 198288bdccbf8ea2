// One attempt of one claimed payment: call its processor, tell the router how the call went,
// count it, then settle the payment or put it back for a retry with backoff. Kept apart from
// the claim loop (dispatcher.ts), which decides what to claim and how many calls run at once.
import type { Logger } from "../log.ts";
import { callProcessor } from "../processors/client.ts";
import type { Http1Pool } from "../processors/http1_pool.ts";
import type { ProcessorRouter } from "../processors/router.ts";
import type { ClaimedPayment } from "../payments/store.ts";
import type { OutcomeWriter } from "./outcome_writer.ts";
import { type ProcessorId, processorNames } from "../processors/processor_id.ts";
import type { ServiceMetrics } from "../metrics/service_metrics.ts";

export interface RetryBackoff {
  baseMs: number;
  maxMs: number;
}

export interface AttemptRunnerOptions {
  router: ProcessorRouter;
  /** Keep-alive connections to each processor, owned by the dispatcher. */
  pools: Record<ProcessorId, Http1Pool>;
  /** Shared with the claim loop, which waits for it to drain on stop. */
  outcomes: OutcomeWriter;
  retry: RetryBackoff;
  log: Logger;
  metrics: ServiceMetrics;
}

/**
 * The delay before retry number `attempts + 1`: doubling from baseMs up to maxMs, then a random
 * part of it taken off (at most half), so that payments failed by one outage do not all come
 * back in the same instant.
 */
export function retryDelayMs(
  attempts: number,
  retry: RetryBackoff,
  random: () => number = Math.random,
): number {
  const exp = Math.min(retry.maxMs, retry.baseMs * 2 ** attempts);
  return Math.round(exp * (0.5 + random() / 2));
}

export class AttemptRunner {
  readonly #options: AttemptRunnerOptions;

  constructor(options: AttemptRunnerOptions) {
    this.#options = options;
  }

  /**
   * Runs the attempt to its end; never rejects (a failure is logged). `probe`: the call tests
   * whether a failing processor has recovered (see ProcessorRouter).
   */
  async run(row: ClaimedPayment, probe: boolean): Promise<void> {
    const { router, outcomes, log, metrics } = this.#options;
    try {
      const timeoutMs = router.timeoutMs(row.processor, probe);
      const result = await callProcessor(this.#options.pools[row.processor], row, timeoutMs);
      router.recordOutcome(row.processor, result.outcome, Date.now(), probe);
      if (probe && result.detail === "timeout") {
        router.recordProbeTimeout(row.processor, timeoutMs);
      }
      metrics.processorAttempts
        .labels(processorNames[row.processor], result.outcome, result.detail).inc();
      const ref = { correlationId: row.correlationId, claimSeq: row.claimSeq };
      if (result.outcome === "processed") {
        if (await outcomes.settle(ref, row.requestedAt)) {
          metrics.paymentsProcessed[row.processor].inc();
        }
      } else {
        // Back to the queue for a retry. "not_processed" proves this call recorded nothing, and
        // releases the attempt unless an earlier call of it may still land; "unknown" (timeout,
        // cut off) keeps it pinned to its processor and requestedAt, so if the call did land,
        // the retry learns it there (422) instead of paying a second time elsewhere (see
        // reschedulePayments).
        metrics.paymentRetries.inc();
        log.debug("attempt_failed", { id: row.correlationId, detail: result.detail });
        await outcomes.reschedule({
          ...ref,
          delayMs: retryDelayMs(row.attempts, this.#options.retry),
          outcome: result.detail,
          definitive: result.outcome === "not_processed",
        });
      }
    } catch (err) {
      // The outcome could not be written: the lease expires and the same attempt is resumed,
      // which is safe because the attempt (processor, requestedAt) was fixed before the call.
      log.warn("record_outcome_failed", { id: row.correlationId, err });
    }
  }
}
