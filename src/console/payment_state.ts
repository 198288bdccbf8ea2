// A payment's state, derived from its rows (pure, so every branch is testable without a clock).
//
//   settled    a ledger row exists (moved there by a 200 or a 422 from the processor).
//   queued     a queue row never attempted (no attempt fixed, no call made): waiting for its
//              first call.
//   in_flight  a live lease (lease_owner set, visible_at in the future): a call is under way.
//   retrying   the last attempt definitely failed (the processor answered 5xx or 429, or could
//              not be reached) and was released (reschedulePayments): no attempt is fixed, and
//              the next try starts a fresh one, with a new requestedAt, wherever the router sends
//              it.
//   pinned     an attempt is fixed and no call of it is under way: some call of it ended without
//              a definitive answer (timeout, reset, an odd status: attempt_uncertain, sql/009),
//              or its holder's lease ran out mid-call. Only the same processor, asked again with
//              the same requestedAt, can settle it; a later 500 does not release it.
// Each queue row is in exactly one of queued, in_flight, retrying, pinned (queueRowState), and
// the console's counts (console_store.ts, readStateCounts) use the same rule in SQL.
import { formatCents } from "../money.ts";
import { processorNames } from "../processors/processor_id.ts";
import type { PaymentRecord } from "./payment_status_store.ts";

export type PaymentState = "queued" | "in_flight" | "retrying" | "pinned" | "settled";

export interface PaymentStatus {
  correlationId: string;
  /** Exact decimal text of the cents (written into the JSON as a number). */
  amount: string;
  receivedAt: string;
  state: PaymentState;
  /** Of the last finished attempt that did not settle: "500", "429", "timeout", … or null. */
  lastOutcome: string | null;
  processor: "default" | "fallback" | null;
  requestedAt: string | null;
  /** Calls made so far, the one in flight included; null when the ledger did not record it. */
  attempts: number | null;
  /** When a queued payment may next be claimed (retrying, pinned); null otherwise. */
  nextAttemptAt: string | null;
  settledAt: string | null;
}

export type QueueRowState = Exclude<PaymentState, "settled">;

/** What a queue row's state depends on; `due`: its visible_at has passed. */
export interface QueueRowFacts {
  hasAttempt: boolean;
  attempts: number;
  leased: boolean;
  due: boolean;
}

export function queueRowState(row: QueueRowFacts): QueueRowState {
  if (!row.hasAttempt) return row.attempts > 0 ? "retrying" : "queued";
  // A lease that ran out with its owner still set: the holder died or hung mid-call.
  return row.leased && !row.due ? "in_flight" : "pinned";
}

export function derivePaymentStatus(record: PaymentRecord): PaymentStatus {
  const base = {
    correlationId: record.correlationId,
    amount: formatCents(record.amountCents),
    receivedAt: record.receivedAt.toISOString(),
  };
  if (record.ledger) {
    const s = record.ledger;
    return {
      ...base,
      state: "settled",
      lastOutcome: null,
      processor: processorNames[s.processor],
      requestedAt: s.requestedAt.toISOString(),
      attempts: s.attempts,
      nextAttemptAt: null,
      settledAt: s.settledAt?.toISOString() ?? null,
    };
  }
  const q = record.queue;
  // Settling deletes the queue row and inserts the ledger row in one statement: a payment has
  // exactly one of them, unless something outside the service edited the tables.
  if (!q) throw new Error(`payment ${record.correlationId} has neither a queue nor a ledger row`);
  const attempt = {
    processor: q.processor === null ? null : processorNames[q.processor],
    requestedAt: q.requestedAt?.toISOString() ?? null,
  };
  const leased = q.leaseOwner !== null;
  const due = q.visibleAt.getTime() <= record.readAt.getTime();
  const pending = {
    ...base,
    ...attempt,
    settledAt: null,
    nextAttemptAt: due ? record.readAt.toISOString() : q.visibleAt.toISOString(),
  };
  const state = queueRowState({
    hasAttempt: q.processor !== null,
    attempts: q.attempts,
    leased,
    due,
  });
  switch (state) {
    case "queued":
      return { ...pending, state, lastOutcome: null, attempts: q.attempts };
    case "in_flight":
      return {
        ...pending,
        state,
        lastOutcome: q.lastOutcome,
        attempts: q.attempts + 1,
        nextAttemptAt: null,
      };
    default:
      // A holder whose lease ran out made a call that is not counted in attempts yet.
      return {
        ...pending,
        state,
        lastOutcome: q.lastOutcome,
        attempts: q.attempts + (leased ? 1 : 0),
      };
  }
}

/** The JSON body; the amount is written as the exact decimal of the cents. */
export function paymentStatusJson(status: PaymentStatus): string {
  const { amount, ...rest } = status;
  const text = JSON.stringify(rest);
  return `{"correlationId":${JSON.stringify(status.correlationId)},"amount":${amount},${
    text.slice(text.indexOf(",") + 1)
  }`;
}
