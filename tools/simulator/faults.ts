// Test-only fault switches: a hostile processor on demand. Off unless the simulator is started
// with `faults: true` (CLI: SIMULATOR_FAULTS=1); without them the simulator stays faithful to
// spec §3 and none of this code runs.
//
// With faults on, a small TCP relay listens on the public port and passes bytes to the normal
// server on a private loopback port. The relay is what makes a true "no answer" possible:
// Deno.serve always writes a status line, the relay can instead close the connection before a
// single byte of the answer reaches the client.
//
// PUT /admin/configurations/fault (X-Rinha-Token) {"fault": kind, "every"?: k, "count"?: n,
// "durationMs"?: ms} switches one fault on; GET returns the state. Kinds, for POST /payments:
//   none     faithful behaviour
//   reset    the payment is handled normally (delay, record), then the connection is closed
//            without any answer: the client cannot know it was recorded
//   drop     the connection is closed without an answer and nothing is recorded
//   garbage  handled normally, but a 200 carries a body that is not JSON
//   busy     429 at once, nothing recorded (a limiter burst)
//   error    500 at once, nothing recorded
//   refuse   the public port stops listening for durationMs (connections refused), every open
//            connection is closed, then it listens again on the same port; ledger kept
// "every": only every k-th payment call is affected (2 = alternating). "count": the fault
// switches itself off after affecting this many calls.

import type { SimulatorContext } from "./context.ts";
import {
  readJsonObject,
  respondJson,
  respondMessage,
  respondMethodNotAllowed,
} from "./http_json.ts";
import { isAuthorized } from "./admin_routes.ts";
import { Relay } from "./fault_relay.ts";

export const faultKinds = ["none", "reset", "drop", "garbage", "busy", "error", "refuse"] as const;
export type FaultKind = typeof faultKinds[number];

export interface FaultState {
  fault: FaultKind;
  every: number;
  /** Affected calls left before the fault switches off; null for no limit. */
  remaining: number | null;
  /** Calls affected since this fault was set. */
  affected: number;
  durationMs: number | null;
}

const faultPath = "/admin/configurations/fault";
const maxRefuseMs = 600_000;

/** True when the environment asks for fault switches (SIMULATOR_FAULTS=1 or true). */
export function faultsRequested(readVariable: (name: string) => string | undefined): boolean {
  const value = readVariable("SIMULATOR_FAULTS")?.trim().toLowerCase() ?? "";
  if (value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new Error(`SIMULATOR_FAULTS=${JSON.stringify(value)} is invalid: expected 1 or 0`);
}

/** Which fault, if any, hits the next payment call; counts calls and affected calls. */
export class FaultSwitch {
  #state: FaultState = noFault();
  #calls = 0;

  get state(): FaultState {
    return { ...this.#state };
  }

  set(state: FaultState): FaultState {
    const was = this.state;
    this.#state = { ...state, affected: 0 };
    this.#calls = 0;
    return was;
  }

  /** The fault for one POST /payments (refuse acts on connections, not on calls). */
  take(): FaultKind {
    const s = this.#state;
    if (s.fault === "none" || s.fault === "refuse") return "none";
    this.#calls += 1;
    if (this.#calls % s.every !== 0) return "none";
    s.affected += 1;
    if (s.remaining !== null) {
      s.remaining -= 1;
      if (s.remaining === 0) this.#state = { ...noFault(), affected: s.affected };
    }
    return s.fault;
  }
}

function noFault(): FaultState {
  return { fault: "none", every: 1, remaining: null, affected: 0, durationMs: null };
}

/** A fault setting from an admin body, or the reason it is unacceptable. */
export function parseFault(body: Record<string, unknown>): FaultState | string {
  const { fault, every = 1, count = null, durationMs = null } = body;
  if (typeof fault !== "string" || !(faultKinds as readonly string[]).includes(fault)) {
    return `fault must be one of ${faultKinds.join(", ")}`;
  }
  if (typeof every !== "number" || !Number.isInteger(every) || every < 1) {
    return "every must be an integer of at least 1";
  }
  if (count !== null && (typeof count !== "number" || !Number.isInteger(count) || count < 1)) {
    return "count must be an integer of at least 1";
  }
  if (fault === "refuse") {
    if (
      typeof durationMs !== "number" || !Number.isInteger(durationMs) || durationMs < 1 ||
      durationMs > maxRefuseMs
    ) {
      return `refuse needs durationMs, an integer from 1 to ${maxRefuseMs}`;
    }
  } else if (durationMs !== null) {
    return "durationMs only applies to refuse";
  }
  return {
    fault: fault as FaultKind,
    every,
    remaining: count as number | null,
    affected: 0,
    durationMs: durationMs as number | null,
  };
}

type Route = (request: Request) => Response | Promise<Response>;

/** The fault layer: the admin route, the per-call faults, and the relay on the public port. */
export class FaultInjector {
  readonly switch = new FaultSwitch();
  #relay?: Relay;

  constructor(private readonly context: SimulatorContext) {}

  /** Starts the relay on the public address, forwarding to the inner server's port. */
  listen(hostname: string, port: number, innerPort: number): { hostname: string; port: number } {
    this.#relay = new Relay(hostname, port, innerPort);
    return this.#relay.address;
  }

  async close(): Promise<void> {
    await this.#relay?.close();
  }

  async handle(request: Request, info: Deno.ServeHandlerInfo, route: Route): Promise<Response> {
    const path = new URL(request.url).pathname;
    const connection = (info.remoteAddr as Deno.NetAddr).port;
    if (path === faultPath) return await this.#admin(request, connection);
    if (path !== "/payments" || request.method !== "POST") return await route(request);
    switch (this.switch.take()) {
      case "busy":
        await request.body?.cancel();
        return respondMessage(429, "simulated burst: too many payments in progress");
      case "error":
        await request.body?.cancel();
        return respondMessage(500, "simulated processor failure");
      case "drop":
        await request.body?.cancel();
        this.#relay?.dropAnswer(connection);
        return respondMessage(503, "never delivered");
      case "reset": {
        const response = await route(request);
        this.#relay?.dropAnswer(connection);
        return response;
      }
      case "garbage": {
        const response = await route(request);
        if (response.status !== 200) return response;
        await response.body?.cancel();
        return new Response("<html>\u0000not json{{", {
          status: 200,
          headers: { "content-type": "application/json" },
        });
      }
      default:
        return await route(request);
    }
  }

  async #admin(request: Request, connection: number): Promise<Response> {
    if (!isAuthorized(this.context, request)) {
      await request.body?.cancel();
      return respondMessage(401, "missing or wrong X-Rinha-Token");
    }
    if (request.method === "GET") return respondJson(200, this.switch.state);
    if (request.method !== "PUT") return respondMethodNotAllowed("GET, PUT");
    const body = await readJsonObject(request);
    if (body instanceof Response) return body;
    const state = parseFault(body);
    if (typeof state === "string") return respondMessage(400, state);
    const was = this.switch.set(state);
    if (state.fault === "refuse") {
      // This answer still goes out on its own connection; everything else is cut now.
      this.#relay?.refuse(state.durationMs!, connection, () => this.switch.set(noFault()));
    }
    return respondJson(200, { config: "fault", was, is: this.switch.state });
  }
}
