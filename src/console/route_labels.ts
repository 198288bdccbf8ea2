// Metric labels for the operator routes: ids in paths share one label, so a scan of random ids
// cannot grow the request histogram's series without bound.
import { isConsolePath } from "./console_routes.ts";
import { paymentStatusPrefix } from "./payment_status_route.ts";

export function operatorRouteLabel(path: string): string | undefined {
  if (path.startsWith(paymentStatusPrefix)) return "/payments/{id}";
  if (path === "/console/data") return path;
  if (isConsolePath(path)) return "/console";
  return undefined;
}
