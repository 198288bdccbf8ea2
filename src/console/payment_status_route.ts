// GET /payments/{correlationId}: what happened to one payment. Public like the rest of the
// API (the processors answer the same question about their own books).
import type { Sql } from "../db/connect.ts";
import { HttpError, jsonResponse } from "../http/errors.ts";
import { derivePaymentStatus, paymentStatusJson } from "./payment_state.ts";
import { findPaymentRecord } from "./payment_status_store.ts";

export const paymentStatusPrefix = "/payments/";

// The same shape POST /payments accepts (src/http/validate.ts); checked here so that a
// malformed id is a 400 rather than a Postgres cast error.
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getPaymentStatus(sql: Sql, path: string): Promise<Response> {
  let id = "";
  try {
    id = decodeURIComponent(path.slice(paymentStatusPrefix.length));
  } catch {
    // a malformed %-escape: not a UUID either
  }
  if (!uuidPattern.test(id)) throw new HttpError(400, "correlationId must be a UUID");
  const record = await findPaymentRecord(sql, id.toLowerCase());
  if (!record) throw new HttpError(404, `no payment with correlationId ${id.toLowerCase()}`);
  return jsonResponse(200, paymentStatusJson(derivePaymentStatus(record)));
}
