// Writes the worker's call outcomes, many per statement: settlements (which nobody waits on,
// so they linger to share a statement; see SETTLE_LINGER_MS) and reschedules after a failure.
import type { Sql } from "../db/connect.ts";
import { Batcher } from "../batcher.ts";
import {
  type ClaimRef,
  type Reschedule,
  reschedulePayments,
  settlePayments,
} from "../payments/store.ts";

// Outcome writes batch naturally; two flushes at once leave the rest of the pool to intake.
const outcomeFlushes = 2;
const outcomeBatchMax = 500;

export class OutcomeWriter {
  readonly #settle: Batcher<ClaimRef, boolean>;
  readonly #reschedule: Batcher<Reschedule, null>;

  /** @param settleLingerMs how long a settle waits for others to share its statement. */
  constructor(sql: Sql, settleLingerMs: number) {
    this.#settle = new Batcher(
      async (refs) => {
        const settled = await settlePayments(sql, refs);
        return refs.map((r) => settled.has(r.correlationId));
      },
      { maxConcurrent: outcomeFlushes, maxBatch: outcomeBatchMax, lingerMs: settleLingerMs },
    );
    this.#reschedule = new Batcher(
      async (items) => {
        await reschedulePayments(sql, items);
        return items.map(() => null);
      },
      { maxConcurrent: outcomeFlushes, maxBatch: outcomeBatchMax },
    );
  }

  /** False when another claim holds the row now: that claim settles it (settlePayments). */
  settle(ref: ClaimRef): Promise<boolean> {
    return this.#settle.submit(ref);
  }

  async reschedule(item: Reschedule): Promise<void> {
    await this.#reschedule.submit(item);
  }

  /** Resolves once every outcome submitted so far is written (or failed). */
  async drained(): Promise<void> {
    await this.#settle.drained();
    await this.#reschedule.drained();
  }
}
