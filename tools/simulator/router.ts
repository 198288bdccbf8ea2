// Maps method and path to a handler: 404 for unknown paths, 405 (with Allow) for known paths
// asked with the wrong method, 401 for admin calls without the current token.

import {
  isAuthorized,
  purgePayments,
  setDelay,
  setFailure,
  setToken,
  summarizePayments,
} from "./admin_routes.ts";
import type { SimulatorContext } from "./context.ts";
import { respondMessage, respondMethodNotAllowed } from "./http_json.ts";
import { checkServiceHealth, createPayment, findPayment } from "./payment_routes.ts";

type Handler = (
  context: SimulatorContext,
  request: Request,
  query: string,
) => Response | Promise<Response>;

interface Route {
  method: string;
  admin: boolean;
  handle: Handler;
}

const exactRoutes = new Map<string, Route>([
  ["/payments", { method: "POST", admin: false, handle: createPayment }],
  ["/payments/service-health", { method: "GET", admin: false, handle: checkServiceHealth }],
  ["/admin/payments-summary", {
    method: "GET",
    admin: true,
    handle: (context, _request, query) => summarizePayments(context, query),
  }],
  ["/admin/configurations/token", { method: "PUT", admin: true, handle: setToken }],
  ["/admin/configurations/delay", { method: "PUT", admin: true, handle: setDelay }],
  ["/admin/configurations/failure", { method: "PUT", admin: true, handle: setFailure }],
  ["/admin/purge-payments", { method: "POST", admin: true, handle: purgePayments }],
]);

const paymentPrefix = "/payments/";

export function routeRequest(
  context: SimulatorContext,
  request: Request,
): Response | Promise<Response> {
  const { path, query } = splitTarget(request.url);
  const route = exactRoutes.get(path);
  if (route !== undefined) {
    if (request.method !== route.method) return respondMethodNotAllowed(route.method);
    if (route.admin && !isAuthorized(context, request)) {
      return respondMessage(401, "missing or wrong X-Rinha-Token");
    }
    return route.handle(context, request, query);
  }
  if (path.startsWith(paymentPrefix) && path.indexOf("/", paymentPrefix.length) < 0) {
    if (request.method !== "GET") return respondMethodNotAllowed("GET");
    return findPayment(context, path.slice(paymentPrefix.length));
  }
  return respondMessage(404, "not found");
}

/** Path and query of an absolute request URL, without the cost of building a URL object. */
function splitTarget(url: string): { path: string; query: string } {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  if (pathStart < 0) return { path: "/", query: "" };
  const queryStart = url.indexOf("?", pathStart);
  if (queryStart < 0) return { path: url.slice(pathStart), query: "" };
  return { path: url.slice(pathStart, queryStart), query: url.slice(queryStart + 1) };
}
