// Building blocks for end-to-end tests: processor simulators started in-process, API
// instances in-process or as real child processes, and the audit that compares books.
import assert from "node:assert/strict";
import { readConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { type Service, startService } from "../../src/service.ts";
import { type Simulator, startSimulator } from "../../tools/simulator/server.ts";
import { openTestDatabase, type TestDatabase } from "./db.ts";
import type { Defer } from "./suite.ts";

export const token = "123";

/** A port for a child process to listen on (tools/local/free_port.ts says why not port 0). */
export { freePort } from "../../tools/local/free_port.ts";

export interface Processors {
  default: Simulator;
  fallback: Simulator;
  close(): Promise<void>;
}

/** Both simulators; `faults` enables their test-only fault switches (tools/simulator/faults.ts). */
export async function startProcessors(faults = false): Promise<Processors> {
  const def = await startSimulator({ port: 0, transactionFee: 0.05, initialToken: token, faults });
  const fb = await startSimulator({ port: 0, transactionFee: 0.15, initialToken: token, faults });
  return {
    default: def,
    fallback: fb,
    close: async () => {
      await def.close();
      await fb.close();
    },
  };
}

/** The environment an instance gets in tests: quick polls so tests don't idle. */
export function instanceEnv(
  databaseUrl: string,
  processors: Processors,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    PORT: "0",
    BIND_HOST: "127.0.0.1",
    PROCESSOR_DEFAULT_URL: processors.default.url,
    PROCESSOR_FALLBACK_URL: processors.fallback.url,
    POLL_INTERVAL_MS: "50",
    LOG_LEVEL: "error",
    DB_POOL_MAX: "4",
    ...extra,
  };
}

export async function startInstance(env: Record<string, string>): Promise<Service> {
  const config = readConfig(env);
  return await startService(config, createLogger(config.logLevel));
}

export interface OpenStack {
  db: TestDatabase;
  processors: Processors;
  /** One per id asked for, in that order. */
  instances: Service[];
}

/**
 * For a suite (tests/support/suite.ts): a database of its own, both simulators and an
 * in-process instance per id (`INSTANCE_ID` set to it, `extra` added to its environment), each
 * closed by `defer` once the suite's last test has ended.
 */
export async function openStack(
  defer: Defer,
  label: string,
  instanceIds: string[],
  extra: Record<string, string> = {},
): Promise<OpenStack> {
  const db = await openTestDatabase(defer, label);
  const processors = await startProcessors();
  defer(() => processors.close());
  const instances: Service[] = [];
  for (const id of instanceIds) {
    const instance = await startInstance(
      instanceEnv(db.url, processors, { INSTANCE_ID: id, ...extra }),
    );
    defer(() => instance.stop());
    instances.push(instance);
  }
  return { db, processors, instances };
}

async function admin(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { "x-rinha-token": token, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function configure(sim: Simulator, delayMs: number, failing: boolean) {
  await admin(sim.url, "PUT", "/admin/configurations/delay", { delay: delayMs });
  await admin(sim.url, "PUT", "/admin/configurations/failure", { failure: failing });
}

export interface Totals {
  totalRequests: number;
  totalAmount: number;
}

export async function processorSummary(sim: Simulator, from?: string, to?: string) {
  const q = from && to ? `?from=${from}&to=${to}` : "";
  const s = await admin(sim.url, "GET", `/admin/payments-summary${q}`);
  return { totalRequests: s.totalRequests, totalAmount: s.totalAmount } as Totals;
}

export async function serviceSummary(baseUrl: string, from?: string, to?: string) {
  const q = from && to ? `?from=${from}&to=${to}` : "";
  const res = await fetch(`${baseUrl}/payments-summary${q}`);
  assert.equal(res.status, 200);
  return await res.json() as { default: Totals; fallback: Totals };
}

export async function postPayment(baseUrl: string, correlationId: string, amount = 19.9) {
  const res = await fetch(`${baseUrl}/payments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ correlationId, amount }),
  });
  await res.body?.cancel();
  return res.status;
}

/** Waits (bounded) until the queue is empty; the bound is a hang guard, not a speed check. */
export async function waitForDrain(sql: Service["sql"], guardMs = 60_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (Date.now() < deadline) {
    const [r] = await sql`select count(*) as n from payment_queue`;
    if (r.n === "0") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("queue did not drain");
}

/** The audit every scenario ends with: the service's books equal the processors'. */
export async function assertBooksAgree(
  baseUrl: string,
  processors: Processors,
  from?: string,
  to?: string,
): Promise<{ default: Totals; fallback: Totals }> {
  const ours = await serviceSummary(baseUrl, from, to);
  const theirs = {
    default: await processorSummary(processors.default, from, to),
    fallback: await processorSummary(processors.fallback, from, to),
  };
  assert.deepEqual(ours, theirs, `books differ for [${from ?? "-∞"}, ${to ?? "∞"}]`);
  return ours;
}

/**
 * Those of `ports` on which some socket is listening (TCP, IPv4 or IPv6), from /proc/net. Not
 * "can I bind it": other tests running in parallel make outgoing connections whose local port
 * may be any free one, which says nothing about a server left behind.
 */
export function listeningPorts(ports: number[]): number[] {
  const listening = new Set<number>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 0A is LISTEN; the local address ends with ":PORT" in hex.
      if (state === "0A" && local) listening.add(parseInt(local.split(":").at(-1)!, 16));
    }
  }
  return ports.filter((p) => listening.has(p));
}
