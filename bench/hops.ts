// `deno task bench:hops`: the acknowledgement's latency hop by hop, at a fixed low arrival rate,
// against two instances behind HAProxy with instant processors (bench/instant_stack.ts). Each
// probe adds one piece to the one before: an answer with no database (an unknown path's 404)
// straight from an instance, the same through HAProxy, one `select 1` (GET /health), then a
// payment (one INSERT, then its hand-off and call) straight and through HAProxy. The
// differences between rows are what each hop costs at that rate on this machine.
// Environment: HOPS_RATE=100 (requests/s), HOPS_DURATION=15s.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startInstantStack } from "./instant_stack.ts";
import { ensureK6 } from "./install_k6.ts";
import { startK6 } from "./k6_run.ts";

const rate = Deno.env.get("HOPS_RATE") ?? "100";
const duration = Deno.env.get("HOPS_DURATION") ?? "15s";

interface Probe {
  name: string;
  url: (haproxy: string, instance: string) => string;
  method: "GET" | "POST";
}

const probes: Probe[] = [
  { name: "404, instance", url: (_, i) => `${i}/no-such-path`, method: "GET" },
  { name: "404, HAProxy → instance", url: (h) => `${h}/no-such-path`, method: "GET" },
  { name: "GET /health (select 1), HAProxy", url: (h) => `${h}/health`, method: "GET" },
  { name: "POST /payments, instance", url: (_, i) => `${i}/payments`, method: "POST" },
  { name: "POST /payments, HAProxy", url: (h) => `${h}/payments`, method: "POST" },
];

const k6 = await ensureK6();
const bench = await startInstantStack({ instances: 2, database: "bench_hops" });
const tmpDir = await Deno.makeTempDir({ prefix: "hops-" });
const summaryPath = join(tmpDir, "summary.json");
const round = (x: number) => x.toFixed(2).padStart(7);
console.log(`rate ${rate}/s, ${duration} per probe; http_req_duration in ms (every answer)`);
console.log(`${"probe".padEnd(34)}      p50     p90     p99     max  requests`);
try {
  for (const probe of probes) {
    const run = startK6({
      k6,
      script: "hops.js",
      quiet: true,
      scriptEnv: {
        TARGET_URL: probe.url(bench.stack.url, bench.apiUrls[0]),
        METHOD: probe.method,
        RATE: rate,
        DURATION: duration,
        SUMMARY_PATH: summaryPath,
      },
    });
    const code = await run.done;
    if (code !== 0) throw new Error(`k6 (${probe.name}) exited with ${code}`);
    const d = JSON.parse(readFileSync(summaryPath, "utf8")).metrics.http_req_duration.values;
    console.log(
      `${probe.name.padEnd(34)} ${round(d.med)} ${round(d["p(90)"])} ${round(d["p(99)"])} ` +
        `${round(d.max)}  ${d.count}`,
    );
  }
} finally {
  rmSync(tmpDir, { recursive: true, force: true });
  await bench.stop();
}
