// The ledger's HTTP surface (2024/Q1 spec §1), reached from src/http/app.ts for every path
// under /clientes/. Errors are thrown as HttpError and answered by the app's errorResponse.
import type { Sql } from "../db/connect.ts";
import { readJsonBody } from "../http/body.ts";
import { HttpError, jsonResponse } from "../http/errors.ts";
import { applyTransaction, readStatement, resetLedger } from "./store.ts";
import { parseClientId, parseTransaction } from "./validate.ts";

export interface LedgerDeps {
  sql: Sql;
  maxBodyBytes: number;
  adminToken?: string;
}

export const ledgerPrefix = "/clientes/";

const refusedBody = JSON.stringify({ error: "debit refused: the balance would go below -limite" });

const pathPattern = /^\/clientes\/([^/]+)\/(transacoes|extrato)$/;
const resetPath = "/clientes/reset";

/** The metrics label of a ledger path: one per route, whatever the id, so series stay few. */
export function ledgerLabel(pathname: string): string | undefined {
  if (pathname === resetPath) return resetPath;
  const match = pathPattern.exec(pathname);
  return match ? `/clientes/:id/${match[2]}` : undefined;
}

export async function routeLedger(req: Request, url: URL, deps: LedgerDeps): Promise<Response> {
  if (url.pathname === resetPath) {
    requireMethod(req, "POST");
    return await reset(req, deps);
  }
  const match = pathPattern.exec(url.pathname);
  if (!match) throw new HttpError(404, `no route for ${url.pathname}`);
  const [, rawId, action] = match;
  if (action === "transacoes") {
    requireMethod(req, "POST");
    return await postTransaction(req, rawId, deps);
  }
  requireMethod(req, "GET");
  return await getStatement(rawId, deps);
}

function requireMethod(req: Request, method: string): void {
  if (req.method !== method) {
    throw new HttpError(405, `${req.method} not allowed here`, { allow: method });
  }
}

async function postTransaction(req: Request, rawId: string, deps: LedgerDeps): Promise<Response> {
  let clientId: number;
  try {
    clientId = parseClientId(rawId);
  } catch (err) {
    await req.body?.cancel();
    throw err;
  }
  const transaction = parseTransaction(clientId, await readPayload(req, deps.maxBodyBytes));
  const result = await applyTransaction(deps.sql, transaction);
  if (result.outcome === "unknown_client") throw new HttpError(404, "client not found");
  // Answered, not thrown: at the test's peak about half the debits are refused, and an Error
  // captures a stack trace each time. Same body as errorResponse would write.
  if (result.outcome === "refused") return jsonResponse(422, refusedBody);
  return jsonResponse(200, `{"limite":${result.limite},"saldo":${result.saldo}}`);
}

/** The body as JSON; a body that is not JSON at all is an invalid payload too (422, spec §1.1). */
async function readPayload(req: Request, maxBytes: number): Promise<unknown> {
  try {
    return await readJsonBody(req, maxBytes);
  } catch (err) {
    if (err instanceof HttpError && err.status === 400) throw new HttpError(422, err.message);
    throw err;
  }
}

async function getStatement(rawId: string, deps: LedgerDeps): Promise<Response> {
  const body = await readStatement(deps.sql, parseClientId(rawId));
  if (body === undefined) throw new HttpError(404, "client not found");
  return jsonResponse(200, body);
}

/** Zeroes every balance and deletes every record; protected like /purge-payments. */
async function reset(req: Request, deps: LedgerDeps): Promise<Response> {
  if (deps.adminToken !== undefined && req.headers.get("x-admin-token") !== deps.adminToken) {
    await req.body?.cancel();
    throw new HttpError(401, "X-Admin-Token header missing or wrong");
  }
  await req.body?.cancel();
  await resetLedger(deps.sql);
  return jsonResponse(200, { message: "ledger reset: balances zeroed, transactions deleted" });
}
