// The HTTP surface: four routes, dispatched by method and path, errors mapped in one place.
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log.ts";
import { formatCents } from "../money.ts";
import type { Intake } from "../payments/intake.ts";
import type { ServiceMetrics } from "../metrics/service_metrics.ts";
import { exposition } from "../metrics/prometheus/mod.ts";
import { type LedgerDeps, ledgerLabel, ledgerPrefix, routeLedger } from "../ledger/routes.ts";
import {
  createOperatorRoutes,
  isOperatorPath,
  operatorRouteLabel,
} from "../console/operator_routes.ts";
import { purgePayments, summarize } from "../payments/summary_store.ts";
import { DEFAULT, FALLBACK, type ProcessorId } from "../processors/processor_id.ts";
import { readJsonBody } from "./body.ts";
import { errorResponse, HttpError, jsonResponse } from "./errors.ts";
import { parseInstant, parsePayment } from "./validate.ts";

export interface AppDeps {
  sql: Sql;
  /** The ledger's statements (src/ledger/store.ts, ledgerConnections); `sql` when absent. */
  ledgerSql?: Sql;
  intake: Intake;
  log: Logger;
  maxBodyBytes: number;
  maxAmountCents: bigint;
  intakeDeadlineMs: number;
  requestMetrics?: boolean;
  adminToken?: string;
  metrics: ServiceMetrics;
}

export type Handler = (req: Request) => Promise<Response>;

const routes: Record<string, string[]> = {
  "/payments": ["POST"],
  "/payments-summary": ["GET"],
  "/purge-payments": ["POST"],
  "/health": ["GET"],
  "/metrics": ["GET"],
};

export function createHandler(deps: AppDeps): Handler {
  const duration = deps.metrics.httpRequestDuration;
  // GET /payments/{id} and the console (src/console/), each under a path prefix.
  const operator = createOperatorRoutes(deps);
  const ledger: LedgerDeps = {
    sql: deps.ledgerSql ?? deps.sql,
    maxBodyBytes: deps.maxBodyBytes,
    adminToken: deps.adminToken,
  };
  return async (req) => {
    const started = performance.now();
    const url = new URL(req.url);
    let res: Response;
    try {
      // GET /payments/{id} and the console; the 2024/Q1 accounts ledger (ids in the path,
      // src/ledger/), both dispatched by prefix; then the payments' fixed paths.
      res = isOperatorPath(url.pathname)
        ? await operator(req, url)
        : url.pathname.startsWith(ledgerPrefix)
        ? await routeLedger(req, url, ledger)
        : await route(req, url, deps, Date.now());
    } catch (err) {
      res = errorResponse(err, deps.log, req.headers.get("x-request-id"));
    }
    if (deps.requestMetrics === false) return res;
    // Unknown paths share one label so a scan cannot grow the series without bound.
    const label = url.pathname in routes ? url.pathname : ledgerLabel(url.pathname) ??
      operatorRouteLabel(url.pathname) ?? "other";
    duration.labels(req.method, label, String(res.status))
      .observe((performance.now() - started) / 1000);
    return res;
  };
}

async function route(
  req: Request,
  url: URL,
  deps: AppDeps,
  started: number,
): Promise<Response> {
  const allowed = routes[url.pathname];
  if (!allowed) throw new HttpError(404, `no route for ${url.pathname}`);
  if (!allowed.includes(req.method)) {
    throw new HttpError(405, `${req.method} not allowed on ${url.pathname}`, {
      allow: allowed.join(", "),
    });
  }
  switch (url.pathname) {
    case "/payments":
      return await postPayment(req, deps, started);
    case "/payments-summary":
      return await getSummary(url, deps);
    case "/purge-payments":
      return await purge(req, deps);
    case "/metrics":
      return new Response(await deps.metrics.registry.render(), {
        headers: { "content-type": exposition },
      });
    default:
      return await health(deps);
  }
}

async function postPayment(req: Request, deps: AppDeps, started: number): Promise<Response> {
  const payment = parsePayment(await readJsonBody(req, deps.maxBodyBytes), deps.maxAmountCents);
  const result = await deps.intake.accept(payment, started + deps.intakeDeadlineMs);
  if (result === "expired" || result === "unconfirmed") {
    // Either way a retry with the same body is safe: accepting a payment is idempotent.
    const why = result === "expired"
      ? "overloaded: the payment was not stored"
      : "the database could not confirm the payment was stored";
    throw new HttpError(503, `${why}, retry`, { "retry-after": "1" });
  }
  deps.metrics.paymentsAccepted[result].inc();
  if (result === "conflict") {
    throw new HttpError(409, "correlationId already used with a different amount");
  }
  // 202 for a new payment; 200 when it is a repeat of one already accepted (idempotent).
  return jsonResponse(result === "created" ? 202 : 200, {
    correlationId: payment.correlationId,
    status: "accepted",
  });
}

async function getSummary(url: URL, deps: AppDeps): Promise<Response> {
  const from = parseInstant("from", url.searchParams.get("from"));
  const to = parseInstant("to", url.searchParams.get("to"));
  const totals = await summarize(deps.sql, from, to);
  const part = (p: ProcessorId) => {
    const t = totals.get(p);
    return `{"totalRequests":${t?.totalRequests ?? 0},"totalAmount":${
      formatCents(t?.totalCents ?? 0n)
    }}`;
  };
  // Written as text so that amounts are the exact decimals of the cents.
  return jsonResponse(200, `{"default":${part(DEFAULT)},"fallback":${part(FALLBACK)}}`);
}

async function purge(req: Request, deps: AppDeps): Promise<Response> {
  if (deps.adminToken !== undefined && req.headers.get("x-admin-token") !== deps.adminToken) {
    throw new HttpError(401, "X-Admin-Token header missing or wrong");
  }
  await req.body?.cancel();
  await purgePayments(deps.sql);
  return jsonResponse(200, { message: "all payments purged" });
}

// HAProxy's check gives up after 500 ms; answer before that either way.
const healthDeadlineMs = 400;

async function health(deps: AppDeps): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), healthDeadlineMs);
  });
  try {
    await Promise.race([deps.sql`select 1`.execute(), deadline]);
    return jsonResponse(200, { status: "ok" });
  } catch {
    return jsonResponse(503, { status: "database unreachable" });
  } finally {
    clearTimeout(timer);
  }
}
