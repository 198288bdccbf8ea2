// Accepting payments: concurrent requests are merged into one INSERT (one commit) per batch,
// and each request learns whether its payment is new, a harmless repeat, or a conflict.
import type { Sql } from "../db/connect.ts";
import { Batcher } from "../batcher.ts";
import { findAmounts, insertPayments, type NewPayment } from "./store.ts";

/**
 * "expired": not stored, because its deadline passed while it waited for a flush.
 * "unconfirmed": the INSERT reported it neither new nor already there, which Postgres cannot
 * do; seen only when a driver handed a dead connection's query an empty result (see
 * vendor/postgres/PATCHED.md). Answered like "expired": retrying is safe, as it is idempotent.
 */
export type IntakeResult = "created" | "repeat" | "conflict" | "expired" | "unconfirmed";

const intakeBatchMax = 1_000;

interface Pending {
  payment: NewPayment;
  /** Epoch ms after which the client has given up: storing it then would count a payment
   * the client believes failed (a negative lag in the challenge's audit). */
  deadline: number;
}

export class Intake {
  readonly #batcher: Batcher<Pending, IntakeResult>;

  /**
   * @param maxFlushes INSERT statements in flight at once (INTAKE_MAX_FLUSHES): fewer means
   *   larger batches (fewer commits), more means less waiting behind a slow one.
   */
  constructor(sql: Sql, onEnqueued: () => void, maxFlushes = 1) {
    this.#batcher = new Batcher(
      async (batch) => {
        const now = Date.now();
        const live = batch.filter((p) => p.deadline > now);
        const stored = live.length ? await storeBatch(sql, live.map((p) => p.payment)) : [];
        if (stored.includes("created")) onEnqueued();
        let i = 0;
        return batch.map((p) => p.deadline > now ? stored[i++] : "expired");
      },
      { maxConcurrent: maxFlushes, maxBatch: intakeBatchMax },
    );
  }

  accept(payment: NewPayment, deadline = Number.POSITIVE_INFINITY): Promise<IntakeResult> {
    return this.#batcher.submit({ payment, deadline });
  }

  drained(): Promise<void> {
    return this.#batcher.drained();
  }
}

async function storeBatch(sql: Sql, batch: NewPayment[]): Promise<IntakeResult[]> {
  // The first occurrence of an id in the batch speaks for it; later ones are judged against it.
  const first = new Map<string, NewPayment>();
  for (const p of batch) if (!first.has(p.correlationId)) first.set(p.correlationId, p);
  const created = await insertPayments(sql, [...first.values()]);
  const existing = [...first.keys()].filter((id) => !created.has(id));
  const stored = existing.length ? await findAmounts(sql, existing) : new Map<string, bigint>();
  const claimed = new Set<string>();
  return batch.map((p) => {
    const id = p.correlationId;
    if (created.has(id) && !claimed.has(id)) {
      claimed.add(id);
      return "created";
    }
    const amount = created.has(id) ? first.get(id)!.amountCents : stored.get(id);
    if (amount === undefined) return "unconfirmed";
    return amount === p.amountCents ? "repeat" : "conflict";
  });
}
