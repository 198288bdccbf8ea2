// The one HTTP error type, and the one place that turns any thrown error into a response.
import { isUnavailableError } from "../db/sqlstate.ts";
import type { Logger } from "../log.ts";

export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: number, message: string, readonly headers?: HeadersInit) {
    super(message);
  }
}

export function jsonResponse(status: number, body: unknown, headers?: HeadersInit): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** `requestId` (the client's or HAProxy's X-Request-Id) ties a logged failure to its request. */
export function errorResponse(err: unknown, log: Logger, requestId?: string | null): Response {
  if (err instanceof HttpError) {
    return jsonResponse(err.status, { error: err.message }, err.headers);
  }
  if (isUnavailableError(err)) {
    log.warn("database_unavailable", { err, requestId });
    return jsonResponse(503, { error: "database unavailable, retry later" }, {
      "retry-after": "1",
    });
  }
  log.error("unhandled_error", { err, requestId, stack: (err as Error)?.stack });
  return jsonResponse(500, { error: "internal error" });
}
