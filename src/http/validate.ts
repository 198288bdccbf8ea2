// Turns request input into domain values, or a 400 that says what is wrong.
import { amountToCents, formatCents } from "../money.ts";
import type { NewPayment } from "../payments/store.ts";
import { HttpError } from "./errors.ts";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ISO-8601 date-time with an explicit offset or Z; Date.parse alone accepts too much.
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

export function parsePayment(body: unknown, maxAmountCents: bigint): NewPayment {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "body must be a JSON object");
  }
  const { correlationId, amount } = body as Record<string, unknown>;
  if (typeof correlationId !== "string" || !uuidPattern.test(correlationId)) {
    throw new HttpError(400, "correlationId must be a UUID string");
  }
  const amountCents = amountToCents(amount);
  if (amountCents === undefined) {
    throw new HttpError(400, "amount must be a number greater than 0 with at most 2 decimals");
  }
  if (amountCents > maxAmountCents) {
    throw new HttpError(400, `amount must not exceed ${formatCents(maxAmountCents)}`);
  }
  return { correlationId: correlationId.toLowerCase(), amountCents };
}

export function parseInstant(name: string, raw: string | null): Date | undefined {
  if (raw === null || raw === "") return undefined;
  const ms = isoPattern.test(raw) && isRealDate(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) {
    throw new HttpError(
      400,
      `${name} must be an ISO-8601 date-time such as 2025-07-15T12:34:56.000Z`,
    );
  }
  return new Date(ms);
}

/** Date.parse rolls 2025-02-30 over to March 2nd; a window that does not exist is an error. */
function isRealDate(raw: string): boolean {
  const [y, m, d] = raw.slice(0, 10).split("-").map(Number);
  const hour = Number(raw.slice(11, 13));
  const minute = Number(raw.slice(14, 16));
  const second = raw[16] === ":" ? Number(raw.slice(17, 19)) : 0;
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d &&
    hour < 24 && minute < 60 && second < 60;
}
