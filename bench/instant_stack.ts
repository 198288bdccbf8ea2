// A local stack for the queue, scale and xmin benches: N API instances behind HAProxy, on
// ports apart from `deno task dev`'s (a dev stack may be running beside the bench), a fresh
// database of the bench's own, and instant processors (delay 0, no failure), so what is
// measured is our own path and Postgres, not the simulators' delay.
import { type Stack, startStack } from "../tools/local/stack.ts";
import { type BenchDatabase, benchDatabase } from "./db.ts";

const token = { "X-Rinha-Token": "123", "Content-Type": "application/json" };
const basePort = 19000;
export const simulatorPorts: [number, number] = [basePort + 11, basePort + 12];
const processorUrls = simulatorPorts.map((p) => `http://127.0.0.1:${p}`);

export interface InstantStack {
  stack: Stack;
  /** Each instance's own address, bypassing HAProxy. */
  apiUrls: string[];
  db: BenchDatabase;
  /** Sets both simulators' delay and failure (`bench:floor` fails them to measure the ack). */
  configureProcessors(settings: ProcessorSettings): Promise<void>;
  purge(): Promise<void>;
  stop(): Promise<void>;
}

export interface ProcessorSettings {
  delay?: number;
  failure?: boolean;
}

async function configureProcessors(settings: ProcessorSettings): Promise<void> {
  for (const url of processorUrls) {
    for (const [path, value] of Object.entries(settings)) {
      await ok(
        fetch(`${url}/admin/configurations/${path}`, {
          method: "PUT",
          headers: token,
          body: JSON.stringify({ [path]: value }),
        }),
        `${url} ${path}`,
      );
    }
  }
}

async function ok(res: Promise<Response>, what: string): Promise<void> {
  const r = await res;
  await r.body?.cancel();
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status}`);
}

export async function startInstantStack(options: {
  instances: number;
  database: string;
  apiEnv?: Record<string, string>;
}): Promise<InstantStack> {
  const db = await benchDatabase(options.database, true);
  const apiPorts = Array.from({ length: options.instances }, (_, i) => basePort + 1 + i);
  const stack = await startStack({
    port: basePort + 999,
    apiPorts,
    simulatorPorts,
    statsPort: basePort + 998,
    databaseUrl: db.url,
    echo: Deno.env.get("BENCH_ECHO") === "1",
    apiEnv: options.apiEnv ?? {},
  });
  try {
    await configureProcessors({ delay: 0, failure: false });
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return {
    stack,
    apiUrls: apiPorts.map((p) => `http://127.0.0.1:${p}`),
    db,
    configureProcessors,
    async purge() {
      await ok(fetch(`${stack.url}/purge-payments`, { method: "POST" }), "service purge");
      for (const url of processorUrls) {
        await ok(
          fetch(`${url}/admin/purge-payments`, { method: "POST", headers: token }),
          `${url} purge`,
        );
      }
    },
    async stop() {
      await stack.stop();
      await db.close({ drop: Deno.env.get("KEEP_BENCH_DB") !== "1" });
    },
  };
}
