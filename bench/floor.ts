// `deno task bench:floor`: CPU per request of one process acknowledging POST /payments at a
// fixed arrival rate, for the least a Deno process can do (bench/floor_server.ts: no database,
// one postgres.js `select 1`, one postgres.js INSERT, that INSERT over a bare socket) and for
// one API instance of the service (bench/instant_stack.ts) with its processors failing
// (acknowledge only) and instant (acknowledge and forward). Requests go straight to the
// process (no HAProxy); k6 sends them (bench/k6/hops.js). CPU is read from /proc: the
// process's, and the cluster's live postgres processes' over the same window.
// Environment: FLOOR_RATE=275 (an instance's share of the official scenario's peak),
// FLOOR_MEASURE_S=15 (after 5 s of warm-up), FLOOR_PROBES=floors,instance ("instance" alone:
// only the instance's two probes, ~1 minute, to compare two versions of the service),
// BENCH_API_ENV (the instance's settings, bench/api_env.ts).
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseApiEnv } from "./api_env.ts";
import { type InstantStack, startInstantStack } from "./instant_stack.ts";
import { ensureK6 } from "./install_k6.ts";
import { startK6 } from "./k6_run.ts";
import { cpuSnapshot, cpuUsageSince, describeMachine, machineInfo } from "./machine.ts";
import { listProcesses } from "./memory.ts";
import { waitForHttp } from "../tools/local/processes.ts";

const rate = Number(Deno.env.get("FLOOR_RATE") ?? 275);
const measureS = Number(Deno.env.get("FLOOR_MEASURE_S") ?? 15);
const warmS = 5;
const probes = new Set((Deno.env.get("FLOOR_PROBES") ?? "floors,instance").split(","));
const floorPort = 19130;

/** CPU used so far, in ms (USER_HZ 100), by `pid` and by every live `postgres` process. */
function cpuMs(pid: number): { process: number; postgres: number } {
  let process = 0;
  let postgres = 0;
  for (const p of listProcesses()) {
    if (p.pid === pid) process = p.cpuTicks * 10;
    if (p.comm === "postgres") postgres += p.cpuTicks * 10;
  }
  return { process, postgres };
}

interface Row {
  probe: string;
  processMs: number;
  postgresMs: number;
  p50: number;
  p99: number;
  requests: number;
  /** The machine's steal time over the window: above a few %, the figures are the host's. */
  stealPct: number;
  busyPct: number;
}

const k6 = await ensureK6();
const tmpDir = await Deno.makeTempDir({ prefix: "floor-" });
const summaryPath = join(tmpDir, "summary.json");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function probe(name: string, url: string, pid: number): Promise<Row> {
  const run = startK6({
    k6,
    script: "hops.js",
    quiet: true,
    scriptEnv: {
      TARGET_URL: url,
      METHOD: "POST",
      RATE: String(rate),
      DURATION: `${warmS + measureS + 2}s`,
      SUMMARY_PATH: summaryPath,
    },
  });
  await sleep(warmS * 1000);
  const machine = cpuSnapshot();
  const before = cpuMs(pid);
  const startedAt = performance.now();
  await sleep(measureS * 1000);
  const after = cpuMs(pid);
  const requests = (rate * (performance.now() - startedAt)) / 1000;
  const processMs = (after.process - before.process) / requests;
  const postgresMs = (after.postgres - before.postgres) / requests;
  const { stealPct, busyPct } = cpuUsageSince(machine);
  const code = await run.done;
  if (code !== 0) throw new Error(`k6 (${name}) exited with ${code}`);
  const d = JSON.parse(readFileSync(summaryPath, "utf8")).metrics.http_req_duration.values;
  const latency = { p50: d.med, p99: d["p(99)"], requests: d.count };
  return { probe: name, processMs, postgresMs, ...latency, stealPct, busyPct };
}

/** One API instance, straight: instant processors first, then both failing. */
async function probeInstance(bench: InstantStack, rows: Row[]): Promise<void> {
  const api = bench.stack.children.find((c) => c.name === "api1");
  if (!api) throw new Error("no api1 in the stack");
  const url = `${bench.apiUrls[0]}/payments`;
  rows.push(await probe("instance: acknowledge and forward", url, api.pid));
  await bench.configureProcessors({ failure: true });
  rows.push(await probe("instance: acknowledge (processors failing)", url, api.pid));
}

const rows: Row[] = [];
const bench = await startInstantStack({
  instances: 1,
  database: "bench_floor",
  apiEnv: parseApiEnv(Deno.env.get("BENCH_API_ENV")),
});
try {
  const modes = probes.has("floors") ? ["answer", "select", "insert", "raw_insert"] : [];
  for (const mode of modes) {
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(import.meta.dirname!, "floor_server.ts")],
      env: { FLOOR_MODE: mode, PORT: String(floorPort), DATABASE_URL: bench.db.url },
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    try {
      await waitForHttp(`http://127.0.0.1:${floorPort}/`, 20_000, true);
      rows.push(
        await probe(`floor: ${mode}`, `http://127.0.0.1:${floorPort}/payments`, server.pid),
      );
    } finally {
      server.kill();
      await server.status;
    }
  }
  if (probes.has("instance")) await probeInstance(bench, rows);
} finally {
  rmSync(tmpDir, { recursive: true, force: true });
  await bench.stop();
}

console.log(`\nmachine: ${describeMachine(machineInfo())}`);
console.log(`${rate} requests/s straight to the process, ${measureS} s measured after ${warmS} s`);
console.log(
  `${"probe".padEnd(44)} process ms/req  postgres ms/req    p50 ms    p99 ms  requests  ` +
    "busy %  steal %",
);
const fixed = (x: number, width: number) => x.toFixed(3).padStart(width);
for (const r of rows) {
  console.log(
    `${r.probe.padEnd(44)} ${fixed(r.processMs, 14)}  ${fixed(r.postgresMs, 15)} ` +
      `${fixed(r.p50, 9)} ${fixed(r.p99, 9)}  ${String(r.requests).padStart(8)}  ` +
      `${r.busyPct.toFixed(1).padStart(6)}  ${r.stealPct.toFixed(1).padStart(7)}`,
  );
}
