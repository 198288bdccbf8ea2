// One call to a payment processor, and what its answer means for the payment (spec §3):
//   200, 422                   processed there (422: an earlier attempt was recorded)
//   500, 429                   not processed by this call
//   no connection opened       not processed by this call: not a byte was sent
//   timeout, cut off, garbled  unknown: only the same processor, asked again, can tell
// "Not processed" is only ever about this one call: the client sends each request once, on one
// connection (http1_pool.ts). Whether an earlier call of the same attempt may still land is the
// queue's business (reschedulePayments, src/payments/store.ts).
import { formatCents } from "../money.ts";
import type { Http1Pool } from "./http1_pool.ts";

export type CallOutcome = "processed" | "not_processed" | "unknown";

export interface CallResult {
  outcome: CallOutcome;
  /** HTTP status, or a short reason when no response arrived. */
  detail: string;
}

export interface PaymentCall {
  correlationId: string;
  amountCents: bigint;
  requestedAt: Date;
}

export function classifyStatus(status: number): CallOutcome {
  if ((status >= 200 && status < 300) || status === 422) return "processed";
  // 5xx: the processor failed before recording; 429: its limiter refused before processing.
  if (status >= 500 || status === 429) return "not_processed";
  // Anything else (400, 404…) says nothing certain about an earlier attempt: keep it pinned.
  return "unknown";
}

/** POSTs the payment to the processor `pool` connects to; never rejects. */
export async function callProcessor(
  pool: Http1Pool,
  payment: PaymentCall,
  timeoutMs: number,
): Promise<CallResult> {
  // Built by hand so the amount is the exact decimal of the cents, never a float's rounding.
  const body = `{"correlationId":"${payment.correlationId}","amount":${
    formatCents(payment.amountCents)
  },"requestedAt":"${payment.requestedAt.toISOString()}"}`;
  const result = await pool.postJson("/payments", body, timeoutMs);
  switch (result.kind) {
    case "answered":
      return { outcome: classifyStatus(result.status), detail: String(result.status) };
    case "not_sent":
      return { outcome: "not_processed", detail: result.reason };
    case "unknown":
      return { outcome: "unknown", detail: result.reason };
  }
}

export async function fetchHealth(
  baseUrl: string,
  timeoutMs: number,
): Promise<{ failing: boolean; minResponseTime: number } | undefined> {
  try {
    const res = await fetch(`${baseUrl}/payments/service-health`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body = await res.json();
    if (typeof body?.failing !== "boolean" || typeof body?.minResponseTime !== "number") {
      return undefined;
    }
    return { failing: body.failing, minResponseTime: body.minResponseTime };
  } catch {
    return undefined;
  }
}
