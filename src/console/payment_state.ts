// A payment's state, derived from its rows (pure, so every branch is testable without a clock).
//
//   settled    a ledger row exists (moved there by a 200 or a 422 from the processor).
//   queued     a queue row with no attempt yet (processor null): waiting for its first call.
//   in_flight  a live lease (lease_owner set, visible_at in the future): a call is under way.
//   retrying   the last attempt definitely failed (the processor answered 5xx or 429) and the
//              payment waits for its next try, still on the same processor and requestedAt.
//   pinned     the last attempt's outcome is unknown (timeout, reset, refused, an odd status,
//              or a holder whose lease ran out mid-call): only the same processor, asked again
//              with the same requestedAt, can settle it. Also shown when the outcome was not
//              recorded (last_outcome null): without proof that the call failed, it is unknown.
import { classifyStatus } from "../processors/client.ts";
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

/** True when the recorded outcome proves the call was not processed (5xx, 429). */
export function isDefiniteFailure(outcome: string | null): boolean {
  return outcome !== null && /^\d{3}$/.test(outcome) &&
    classifyStatus(Number(outcome)) === "not_processed";
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
  if (q.processor === null) {
    return { ...pending, state: "queued", lastOutcome: null, attempts: q.attempts };
  }
  if (leased && !due) {
    return {
      ...pending,
      state: "in_flight",
      lastOutcome: q.lastOutcome,
      attempts: q.attempts + 1,
      nextAttemptAt: null,
    };
  }
  if (leased) {
    // The holder's lease ran out with its call unanswered: it died or hung mid-call.
    return { ...pending, state: "pinned", lastOutcome: q.lastOutcome, attempts: q.attempts + 1 };
  }
  const state = isDefiniteFailure(q.lastOutcome) ? "retrying" : "pinned";
  return { ...pending, state, lastOutcome: q.lastOutcome, attempts: q.attempts };
}

/** The JSON body; the amount is written as the exact decimal of the cents. */
export function paymentStatusJson(status: PaymentStatus): string {
  const { amount, ...rest } = status;
  const text = JSON.stringify(rest);
  return `{"correlationId":${JSON.stringify(status.correlationId)},"amount":${amount},${
    text.slice(text.indexOf(",") + 1)
  }`;
}
