// What one processor call costs the calling process: the service's client
// (src/processors/http1_pool.ts) against fetch used as the service used it until 2026-12-02 (a
// setTimeout cleared on the answer, body cancelled), on the same simulator, alternating rounds.
// CPU is this process's, every thread, from /proc; the simulator runs in its own process.
//
//   deno run -A bench/processor_call.ts [calls per round, default 10000] [concurrency, default 8]
import { Http1Pool } from "../src/processors/http1_pool.ts";
import { ownCpuMs } from "./machine.ts";
import { freePort } from "../tools/local/free_port.ts";

const calls = Number(Deno.args[0] ?? 10_000);
const concurrency = Number(Deno.args[1] ?? 8);

const port = freePort();
const simulator = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("../tools/simulator/main.ts", import.meta.url).pathname],
  env: { PORT: String(port), HOSTNAME: "127.0.0.1" },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const base = `http://127.0.0.1:${port}`;
for (;;) {
  try {
    const res = await fetch(`${base}/payments/service-health`);
    await res.body?.cancel();
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}

let n = 0;
const body = () =>
  `{"correlationId":"${crypto.randomUUID()}","amount":19.90,"requestedAt":"${
    new Date().toISOString()
  }"}`;

async function viaFetch(): Promise<number> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 1_000);
  try {
    const res = await fetch(`${base}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body(),
      signal: abort.signal,
    });
    await res.body?.cancel();
    return res.status;
  } finally {
    clearTimeout(timer);
  }
}

const pool = new Http1Pool(base, concurrency);
async function viaPool(): Promise<number> {
  const result = await pool.postJson("/payments", body(), 1_000);
  return result.kind === "answered" ? result.status : 0;
}

async function round(call: () => Promise<number>): Promise<{ usPerCall: number; ok: number }> {
  let ok = 0;
  const before = ownCpuMs();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (n < calls) {
        n++;
        if (await call() === 200) ok++;
      }
    }),
  );
  const used = ownCpuMs() - before;
  n = 0;
  return { usPerCall: used / calls * 1000, ok };
}

console.log(`${calls} calls per round, ${concurrency} at a time, to the simulator at ${base}`);
for (let r = 1; r <= 3; r++) {
  for (const [name, call] of [["fetch", viaFetch], ["http1_pool", viaPool]] as const) {
    const { usPerCall, ok } = await round(call);
    console.log(
      `round ${r}  ${name.padEnd(10)} ${usPerCall.toFixed(1)} µs of CPU per call (${ok} ok)`,
    );
  }
}
pool.close();
simulator.kill("SIGTERM");
await simulator.status;
