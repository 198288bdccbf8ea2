// The last line of defence: an exception thrown from a timer or callback, or a rejection no
// code awaited. Such an error escaped every place that knew what it was doing, so nothing
// proves that the pool, the batchers or the worker are still in a consistent state. The
// instance logs it (JSON, with the stack) and exits with status 70 (EX_SOFTWARE) so that its
// supervisor (compose's restart policy, `deno task dev`) starts a clean process. Exiting loses
// nothing: a 2xx is only sent after the commit, and leased payments come back to any instance
// when their lease ends (tests/reliability_test.ts, kill -9 under load).
import type { Logger } from "./log.ts";

export const uncaughtExitCode = 70;

export function exitOnUncaught(log: Logger, exit: (code: number) => void = Deno.exit): void {
  const fail = (kind: string, err: unknown) => {
    log.error(kind, {
      err,
      stack: err instanceof Error ? err.stack : undefined,
      action: `exit ${uncaughtExitCode}`,
    });
    exit(uncaughtExitCode);
  };
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    fail("uncaught_exception", e.error);
  });
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail("unhandled_rejection", e.reason);
  });
}
