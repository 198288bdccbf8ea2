// An in-process stand-in for the official Rinha de Backend 2025 payment processor (spec §3).

import { closeContext, createContext } from "./context.ts";
import { respondMessage } from "./http_json.ts";
import { resolveOptions, type SimulatorOptions } from "./options.ts";
import { routeRequest } from "./router.ts";

export type { SimulatorOptions } from "./options.ts";

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:8001 */
  url: string;
  port: number;
  /** Stops listening, ends every pending wait (answered 503) and clears every timer. */
  close(): Promise<void>;
}

/** Listens at once; rejects on invalid options (RangeError) or when the address is taken. */
// deno-lint-ignore require-await -- async so that every failure becomes a rejection
export async function startSimulator(options?: SimulatorOptions): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const closing = new AbortController();
  const context = createContext(resolved, closing.signal);
  const server = Deno.serve({
    port: resolved.port,
    hostname: resolved.hostname,
    onListen: () => {}, // the CLI prints its own line; tests want silence
    onError: (error) => {
      console.error("processor simulator: unexpected error", error);
      return respondMessage(500, "internal error");
    },
  }, (request) => routeRequest(context, request));

  let closed: Promise<void> | undefined;
  const closeSimulator = async () => {
    // Pending delays and queues end first, so the graceful shutdown has nothing to wait for.
    closing.abort();
    closeContext(context);
    await server.shutdown();
  };
  const { hostname, port } = server.addr;
  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    port,
    close: () => (closed ??= closeSimulator()),
  };
}
