// The operator's routes, mounted by src/http/app.ts: GET /payments/{id} (public, like the rest
// of the API) and the console under /console (behind ADMIN_TOKEN when it is set).
import type { Sql } from "../db/connect.ts";
import { HttpError } from "../http/errors.ts";
import { createConsoleHandler, isConsolePath } from "./console_routes.ts";
import { getPaymentStatus, paymentStatusPrefix } from "./payment_status_route.ts";

export { operatorRouteLabel } from "./route_labels.ts";

export function isOperatorPath(path: string): boolean {
  return path.startsWith(paymentStatusPrefix) || isConsolePath(path);
}

export function createOperatorRoutes(deps: { sql: Sql; adminToken?: string }) {
  const consoleHandler = createConsoleHandler(deps);
  return async (req: Request, url: URL): Promise<Response> => {
    if (isConsolePath(url.pathname)) return await consoleHandler(req, url);
    // Only GET exists under /payments/; anything else is answered as before the route existed
    // (404), so POST /payments/<id> stays a "no such route" for clients that mistype the path.
    if (req.method !== "GET") throw new HttpError(404, `no route for ${url.pathname}`);
    return await getPaymentStatus(deps.sql, url.pathname);
  };
}
