// The admin API the load test drives: summary, token, delay, failure and purge. Every call
// needs the current token in X-Rinha-Token; the router checks it before calling these.

import type { SimulatorContext } from "./context.ts";
import { readJsonObject, respondJson, respondMessage } from "./http_json.ts";
import { parseInstantMicros } from "./instant.ts";
import type { MicrosRange } from "./ledger.ts";
import { centsToAmount, computeFee } from "./money.ts";

// setTimeout cannot wait longer than this.
const maxDelayMs = 2_147_483_647;

export function isAuthorized(context: SimulatorContext, request: Request): boolean {
  return request.headers.get("x-rinha-token") === context.settings.token;
}

export function summarizePayments(context: SimulatorContext, query: string): Response {
  const range = parseRange(new URLSearchParams(query));
  if (typeof range === "string") return respondMessage(400, range);
  const totals = context.ledger.summarizePayments(range);
  return respondJson(200, {
    totalRequests: totals.count,
    totalAmount: centsToAmount(totals.cents),
    totalFee: computeFee(totals.cents, context.fee),
    feePerTransaction: context.feePerTransaction,
  });
}

/** The BETWEEN range, undefined when either bound is missing (the official rule), or an error. */
function parseRange(params: URLSearchParams): MicrosRange | undefined | string {
  const from = params.get("from") || undefined;
  const to = params.get("to") || undefined;
  const fromMicros = from === undefined ? undefined : parseInstantMicros(from);
  const toMicros = to === undefined ? undefined : parseInstantMicros(to);
  if (fromMicros === null) return "from must be an ISO-8601 instant";
  if (toMicros === null) return "to must be an ISO-8601 instant";
  if (fromMicros === undefined || toMicros === undefined) return undefined;
  return { fromMicros, toMicros };
}

export async function setToken(context: SimulatorContext, request: Request): Promise<Response> {
  const body = await readJsonObject(request);
  if (body instanceof Response) return body;
  if (typeof body.token !== "string" || body.token.length === 0) {
    return respondMessage(400, "token must be a non-empty string");
  }
  context.settings.token = body.token;
  return new Response(null, { status: 204 });
}

export async function setDelay(context: SimulatorContext, request: Request): Promise<Response> {
  const body = await readJsonObject(request);
  if (body instanceof Response) return body;
  const delay = body.delay;
  if (typeof delay !== "number" || !Number.isInteger(delay) || delay < 0 || delay > maxDelayMs) {
    return respondMessage(400, `delay must be an integer number of ms from 0 to ${maxDelayMs}`);
  }
  const was = context.settings.delayMs;
  context.settings.delayMs = delay;
  return respondJson(200, { config: "delay", was, is: delay });
}

export async function setFailure(context: SimulatorContext, request: Request): Promise<Response> {
  const body = await readJsonObject(request);
  if (body instanceof Response) return body;
  if (typeof body.failure !== "boolean") return respondMessage(400, "failure must be a boolean");
  const was = context.settings.failing;
  context.settings.failing = body.failure;
  return respondJson(200, { config: "failure", was, is: body.failure });
}

export async function purgePayments(
  context: SimulatorContext,
  request: Request,
): Promise<Response> {
  await request.body?.cancel();
  context.ledger.purgePayments();
  return respondMessage(200, "All payments purged.");
}
