// The processor's public endpoints: POST /payments, GET /payments/{id} and the health check.

import { sleepUnlessAborted } from "./abortable_sleep.ts";
import type { SimulatorContext } from "./context.ts";
import { type JsonObject, readJsonObject, respondJson, respondMessage } from "./http_json.ts";
import { parseInstantMicros } from "./instant.ts";
import type { RecordedPayment } from "./ledger.ts";
import { centsToAmount, maxAmount, roundToCents } from "./money.ts";

export async function createPayment(
  context: SimulatorContext,
  request: Request,
): Promise<Response> {
  const body = await readJsonObject(request);
  if (body instanceof Response) return body;
  const payment = parsePayment(body);
  if (typeof payment === "string") return respondMessage(400, payment);

  const admission = context.paymentLimiter.acquireSlot();
  if (admission === false) return respondMessage(429, "too many payments in progress");
  if (admission !== true && !(await admission)) return respondShuttingDown();
  try {
    // The official order: wait the delay in force when the payment is admitted, then decide.
    const delayMs = context.settings.delayMs;
    if (delayMs > 0 && !(await sleepUnlessAborted(delayMs, context.closing))) {
      return respondShuttingDown();
    }
    return decidePayment(context, payment);
  } finally {
    // Without a delay nothing above awaits, so the slot is free again before any other request
    // runs: a burst of instant payments can never fill the limiter.
    context.paymentLimiter.releaseSlot();
  }
}

/**
 * Failure is read only after the delay, so a payment that began while healthy can still fail
 * and one that began while failing can still succeed. Synchronous: nothing can run between the
 * duplicate check and the insert, which is what makes them atomic.
 */
function decidePayment(context: SimulatorContext, payment: RecordedPayment): Response {
  if (context.settings.failing) return respondMessage(500, "simulated processor failure");
  if (!context.ledger.recordPayment(payment)) {
    return respondMessage(422, "a payment with this correlationId was already processed");
  }
  return respondMessage(200, "payment processed successfully");
}

/** The payment to record, or why the body is unacceptable. */
function parsePayment(body: JsonObject): RecordedPayment | string {
  const { correlationId, amount, requestedAt } = body;
  if (typeof correlationId !== "string" || correlationId.length === 0) {
    return "correlationId must be a non-empty string";
  }
  if (typeof amount !== "number" || !(Math.abs(amount) <= maxAmount)) {
    return `amount must be a number no larger than ${maxAmount} in magnitude`;
  }
  if (typeof requestedAt !== "string") return "requestedAt must be an ISO-8601 string";
  const requestedAtMicros = parseInstantMicros(requestedAt);
  if (requestedAtMicros === null) return "requestedAt must be a valid ISO-8601 instant";
  return { correlationId, amountCents: roundToCents(amount), requestedAt, requestedAtMicros };
}

export function findPayment(context: SimulatorContext, encodedId: string): Response {
  let correlationId: string;
  try {
    correlationId = decodeURIComponent(encodedId);
  } catch {
    return respondMessage(404, "payment not found");
  }
  const payment = context.ledger.findPayment(correlationId);
  if (payment === undefined) return respondMessage(404, "payment not found");
  return respondJson(200, {
    correlationId: payment.correlationId,
    amount: centsToAmount(payment.amountCents),
    requestedAt: payment.requestedAt,
  });
}

export async function checkServiceHealth(context: SimulatorContext): Promise<Response> {
  const permit = context.healthLimiter.acquirePermit();
  if (permit === false) {
    return respondMessage(429, "health check rate limit exceeded", {
      "retry-after": context.retryAfterSeconds,
    });
  }
  if (permit !== true && !(await permit)) return respondShuttingDown();
  // Read when granted, not when asked: a queued caller learns the state of its own window.
  return respondJson(200, {
    failing: context.settings.failing,
    minResponseTime: context.settings.delayMs,
  });
}

function respondShuttingDown(): Response {
  return respondMessage(503, "simulator shutting down");
}
