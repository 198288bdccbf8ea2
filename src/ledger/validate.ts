// Turns ledger request input into values, or the error the 2024/Q1 spec asks for: 404 for a
// client id that cannot exist, 422 for every payload outside the spec (§1.1).
import { HttpError } from "../http/errors.ts";
import type { NewTransaction } from "./store.ts";

/** Largest int4: client ids and valor are int columns, and the official test reads Int32. */
export const maxInt32 = 2_147_483_647;
export const maxDescricaoChars = 10;

// Canonical decimal only: "01", "+1", "1.0" and "-1" name no client.
const idPattern = /^[1-9][0-9]{0,9}$/;

/** The path's id as an integer, or a 404: an id that is not an int4 is an unknown client. */
export function parseClientId(raw: string): number {
  const id = idPattern.test(raw) ? Number(raw) : NaN;
  if (!(id <= maxInt32)) throw new HttpError(404, "client not found");
  return id;
}

function invalid(message: string): HttpError {
  return new HttpError(422, message);
}

export function parseTransaction(clientId: number, body: unknown): NewTransaction {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalid("body must be a JSON object");
  }
  const { valor, tipo, descricao } = body as Record<string, unknown>;
  if (typeof valor !== "number" || !Number.isInteger(valor) || valor < 1 || valor > maxInt32) {
    throw invalid(`valor must be an integer number of cents from 1 to ${maxInt32}`);
  }
  if (tipo !== "c" && tipo !== "d") throw invalid('tipo must be "c" or "d"');
  if (typeof descricao !== "string") throw invalid("descricao must be a string");
  // Characters are code points (as Postgres' char_length counts them), not UTF-16 units or bytes.
  const chars = [...descricao].length;
  if (chars < 1 || chars > maxDescricaoChars) {
    throw invalid(`descricao must have 1 to ${maxDescricaoChars} characters`);
  }
  // A lone surrogate cannot be stored as UTF-8 and NUL cannot be stored in a text column:
  // either would come back different from what was sent.
  if (!descricao.isWellFormed() || descricao.includes("\u0000")) {
    throw invalid("descricao must be valid text without NUL characters");
  }
  return { clientId, valor, tipo, descricao };
}
