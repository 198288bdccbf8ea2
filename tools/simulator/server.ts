// An in-process stand-in for the official Rinha de Backend 2025 payment processor (spec §3).

import { closeContext, createContext } from "./context.ts";
import { FaultInjector } from "./faults.ts";
import { respondMessage } from "./http_json.ts";
import { resolveOptions, type SimulatorOptions } from "./options.ts";
import { routeRequest } from "./router.ts";

export type { SimulatorOptions } from "./options.ts";

/** Test-only switches (faults.ts); never part of the faithful simulator's options. */
export interface TestOptions {
  /** Enables PUT /admin/configurations/fault and the relay it needs. Default false. */
  faults?: boolean;
}

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:8001 */
  url: string;
  port: number;
  /** Stops listening, ends every pending wait (answered 503) and clears every timer. */
  close(): Promise<void>;
}

/** Listens at once; rejects on invalid options (RangeError) or when the address is taken. */
export async function startSimulator(
  options?: SimulatorOptions & TestOptions,
): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const closing = new AbortController();
  const context = createContext(resolved, closing.signal);
  // With faults, the server moves to a private loopback port behind the fault relay.
  const faults = options?.faults ? new FaultInjector(context) : undefined;
  const server = Deno.serve({
    port: faults ? 0 : resolved.port,
    hostname: faults ? "127.0.0.1" : resolved.hostname,
    onListen: () => {}, // the CLI prints its own line; tests want silence
    onError: (error) => {
      console.error("processor simulator: unexpected error", error);
      return respondMessage(500, "internal error");
    },
  }, (request, info) => {
    if (faults === undefined) return routeRequest(context, request);
    return faults.handle(request, info, (r) => routeRequest(context, r));
  });
  let address = server.addr;
  if (faults !== undefined) {
    try {
      address = { ...address, ...faults.listen(resolved.hostname, resolved.port, address.port) };
    } catch (error) {
      await server.shutdown();
      throw error;
    }
  }

  let closed: Promise<void> | undefined;
  const closeSimulator = async () => {
    // Pending delays and queues end first, so the graceful shutdown has nothing to wait for.
    closing.abort();
    closeContext(context);
    await faults?.close();
    await server.shutdown();
  };
  const { hostname, port } = address;
  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    port,
    close: () => (closed ??= closeSimulator()),
  };
}
