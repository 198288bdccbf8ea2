// One call to a payment processor, and what its answer means for the payment (spec §3):
//   200, 422                   processed there (422: an earlier attempt was recorded)
//   500, 429                   not processed by this call
//   timeout, reset, refused    unknown: only the same processor, asked again, can tell
import { formatCents } from "../money.ts";

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

function isConnectionRefused(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ""} ${(err as Error)?.cause ?? ""}`;
  return /connection refused|ECONNREFUSED|os error 111/i.test(text);
}

export async function callProcessor(
  baseUrl: string,
  payment: PaymentCall,
  timeoutMs: number,
): Promise<CallResult> {
  // Built by hand so the amount is the exact decimal of the cents, never a float's rounding.
  const body = `{"correlationId":"${payment.correlationId}","amount":${
    formatCents(payment.amountCents)
  },"requestedAt":"${payment.requestedAt.toISOString()}"}`;
  // One timer cleared on the answer rather than AbortSignal.timeout(): in a 20,000-call
  // microbenchmark on a machine like ours (../shared/design-notes.md), 73–76 µs of CPU per call
  // instead of 213–220 µs, with far fewer full GCs: every AbortSignal.timeout() timer stays
  // armed, and its signal alive, until it fires.
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  try {
    const res = await fetch(`${baseUrl}/payments`, {
      method: "POST",
      headers: jsonHeaders,
      body,
      signal: abort.signal,
    });
    // The status decides; the body (even a garbage one) is drained to free the connection.
    await res.body?.cancel();
    return { outcome: classifyStatus(res.status), detail: String(res.status) };
  } catch (err) {
    // Even "refused" is unknown: fetch silently repeats a request on a new connection when a
    // reused keep-alive one closes before the answer, so the first transmission may have been
    // recorded by a processor that then stopped listening.
    if (timedOut) return { outcome: "unknown", detail: "timeout" };
    if (isConnectionRefused(err)) return { outcome: "unknown", detail: "refused" };
    return { outcome: "unknown", detail: "network" };
  } finally {
    clearTimeout(timer);
  }
}

const jsonHeaders = { "content-type": "application/json" };

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
