// `deno task bench:ledger`: our k6 rendition of the official 2024/Q1 load test
// (bench/k6/ledger.js, spec §4) against the local stack, with the payout of §5.1, latency overall
// and per group, KO by kind, the CPU each process group spent per request, an audit of the
// balances against the records, and k6's HTML report, written to bench/results/<time>-ledger/.
//
// Environment:
//   RAMP_S, STEADY_S     seconds of the ramp and of the peak (default 120 each, as official)
//   SYNCHRONOUS_COMMIT   on | off, passed to both API instances (default: the service's own)
//   BENCH_API_ENV        more settings for both instances, as JSON: '{"DB_POOL_MAX":"6"}'
//   BENCH_TARGET_URL     test a stack that is already running instead of starting one; its
//                        ledger is reset first with POST /clientes/reset (ADMIN_TOKEN if set)
//   BENCH_ECHO=1         show the stack's own output
//   BENCH_PROGRESS=1     show k6's progress bar
// The stack it starts listens on free ports (never the dev ports) and has no payment
// processors: nothing of the payments path runs but the instances' idle loops.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Stack, startStack } from "../tools/local/stack.ts";
import { freePort } from "../tools/local/free_port.ts";
import { connect } from "../src/db/connect.ts";
import { benchDatabase } from "./db.ts";
import { ensureK6 } from "./install_k6.ts";
import { startK6 } from "./k6_run.ts";
import {
  cpuSnapshot,
  type CpuUsage,
  cpuUsageSince,
  describeCpu,
  describeMachine,
  machineInfo,
} from "./machine.ts";
import {
  formatByKind,
  formatMemory,
  type MemoryReport,
  MemorySampler,
  stackGroups,
} from "./memory.ts";
import { resultsRoot, timestamp } from "./paths.ts";

const env = (name: string) => Deno.env.get(name) || undefined;

function seconds(name: string, fallback: string): string {
  const value = env(name) ?? fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new Error(`${name} must be a positive integer, got "${value}"`);
  }
  return value;
}
const rampSeconds = seconds("RAMP_S", "120");
const steadySeconds = seconds("STEADY_S", "120");
const synchronousCommit = env("SYNCHRONOUS_COMMIT");
if (synchronousCommit && !["on", "off"].includes(synchronousCommit)) {
  throw new Error(`SYNCHRONOUS_COMMIT must be on or off, got "${synchronousCommit}"`);
}
const extraApiEnv: Record<string, string> = JSON.parse(env("BENCH_API_ENV") ?? "{}");
const targetUrl = env("BENCH_TARGET_URL");

const k6 = await ensureK6();
const resultsDir = join(resultsRoot, `${timestamp()}-ledger`);
mkdirSync(resultsDir, { recursive: true });
const machine = machineInfo();

let stack: Stack | undefined;
let url: string;
let databaseUrl: string | undefined;
if (targetUrl) {
  url = targetUrl.replace(/\/+$/, "");
  const token = env("ADMIN_TOKEN");
  const res = await fetch(`${url}/clientes/reset`, {
    method: "POST",
    headers: token ? { "x-admin-token": token } : {},
  });
  if (!res.ok) throw new Error(`POST /clientes/reset → ${res.status} ${await res.text()}`);
} else {
  console.error("[bench] starting the stack…");
  // A fresh database: the migration seeds the five clients at balance 0.
  const db = await benchDatabase("bench_ledger", true);
  databaseUrl = db.url;
  // Nobody listens there: the payments worker's health checks fail fast and cost nothing.
  const nowhere = `http://127.0.0.1:${freePort()}`;
  stack = await startStack({
    port: freePort(),
    apiPorts: [freePort(), freePort()],
    statsPort: freePort(),
    databaseUrl: db.url,
    echo: env("BENCH_ECHO") === "1",
    apiEnv: {
      PROCESSOR_DEFAULT_URL: nowhere,
      PROCESSOR_FALLBACK_URL: nowhere,
      ...extraApiEnv,
      ...(synchronousCommit ? { SYNCHRONOUS_COMMIT: synchronousCommit } : {}),
    },
  });
  url = stack.url;
}

const deaths: string[] = [];
let stopping = false;
for (const child of stack?.children ?? []) {
  child.status.then((s) => {
    if (!stopping) deaths.push(`${child.name} exited with code ${s.code} during the run`);
  });
}

let k6Exit = -1;
let memory: MemoryReport | undefined;
let cpu: CpuUsage | undefined;
let audit: Record<string, unknown> | undefined;
try {
  console.error(`[bench] k6 → ${url}, ramp ${rampSeconds} s + peak ${steadySeconds} s`);
  const cpuBefore = cpuSnapshot();
  const run = startK6({
    k6,
    script: "ledger.js",
    quiet: env("BENCH_PROGRESS") !== "1",
    scriptEnv: {
      TARGET_URL: url,
      RAMP_S: rampSeconds,
      STEADY_S: steadySeconds,
      RESULTS_DIR: resultsDir,
    },
    processEnv: {
      K6_WEB_DASHBOARD: "true",
      K6_WEB_DASHBOARD_EXPORT: join(resultsDir, "report.html"),
      K6_WEB_DASHBOARD_PORT: "-1",
    },
  });
  let sampler: MemorySampler | undefined;
  if (stack) {
    const groups = stackGroups(stack);
    groups.push({ name: "k6 (load generator)", rootPid: run.pid, budget: false });
    sampler = new MemorySampler(groups);
    sampler.start();
  }
  k6Exit = await run.done;
  cpu = cpuUsageSince(cpuBefore);
  memory = sampler?.stop();
  if (databaseUrl) audit = await auditBalances(databaseUrl);
} finally {
  stopping = true;
  if (stack) {
    console.error("[bench] stopping the stack…");
    await stack.stop();
  }
}

/** Not scored: every balance equals the sum of its records and respects its limit. */
async function auditBalances(dbUrl: string): Promise<Record<string, unknown>> {
  const sql = connect(dbUrl, { max: 1, applicationName: "bench-audit" });
  try {
    const rows = await sql<{ id: number; saldo: string; limite: string; sum: string }[]>`
      select c.id, c.saldo::text, c.limite::text, coalesce((
        select sum(case t.tipo when 'c' then t.valor else -t.valor end)
        from ledger_transactions t where t.client_id = c.id), 0)::text as sum
      from ledger_clients c order by c.id`;
    const wrong = rows.filter((r) => r.saldo !== r.sum || BigInt(r.saldo) < -BigInt(r.limite)).map((
      r,
    ) => r.id);
    const [records] = await sql<
      { n: number }[]
    >`select count(*)::int as n from ledger_transactions`;
    return {
      balances: Object.fromEntries(rows.map((r) => [r.id, Number(r.saldo)])),
      records: records.n,
      ok: wrong.length === 0,
      wrong,
    };
  } finally {
    await sql.end();
  }
}

interface Percentiles {
  p50: number | null;
  p75: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}
interface LedgerReport {
  requests: number;
  droppedIterations: number;
  pctUnder250: number;
  ko: number;
  koByKind: Record<string, number>;
  consistencyFailures: number;
  slaFineUsd: number;
  consistencyFineUsd: number;
  payoutUsd: number;
  overall: Percentiles;
  groups: Record<string, Percentiles & { requests: number; ko: number }>;
}

let report: LedgerReport | undefined;
try {
  report = JSON.parse(readFileSync(join(resultsDir, "ledger.json"), "utf8"));
} catch {
  // k6 failed before handleSummary; said below.
}

const ms = (n: number | null | undefined) => (n == null ? "–" : n.toFixed(2));
const row = (name: string, p: Percentiles, extra = "") =>
  `  ${name.padEnd(11)} ${
    [p.p50, p.p75, p.p95, p.p99, p.max].map((x) => ms(x).padStart(8)).join("")
  }` +
  extra;
const commit = synchronousCommit ?? "off (the service's default)";
const lines: string[] = [
  "",
  `Rinha 2024/Q1 ledger scenario — ramp ${rampSeconds} s + peak ${steadySeconds} s, ` +
  `SYNCHRONOUS_COMMIT ${commit}`,
  ...(Object.keys(extraApiEnv).length ? [`API settings: ${JSON.stringify(extraApiEnv)}`] : []),
  `machine: ${describeMachine(machine)}`,
  `k6 exit code ${k6Exit}; results in ${resultsDir}`,
];
if (report) {
  const kinds = Object.entries(report.koByKind).filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`).join(", ");
  lines.push(
    `  payout              USD ${report.payoutUsd.toFixed(2)}  (SLA fine ${
      report.slaFineUsd.toFixed(2)
    }, consistency fine ${report.consistencyFineUsd.toFixed(2)})`,
    `  requests            ${report.requests}` +
      (report.droppedIterations
        ? ` (+ ${report.droppedIterations} never sent: k6 had no free VU; the official test sends 61,503)`
        : ""),
    `  KO                  ${report.ko}${
      kinds ? ` (${kinds})` : ""
    }; consistency failures ${report.consistencyFailures}`,
    `  under 250 ms (OK)   ${report.pctUnder250} %`,
    `  response time, ms        p50     p75     p95     p99     max   requests  KO`,
    row("overall", report.overall),
    ...Object.entries(report.groups).map(([g, p]) =>
      row(g, p, `${String(p.requests).padStart(11)} ${String(p.ko).padStart(3)}`)
    ),
  );
} else {
  lines.push("  no report: k6 wrote no ledger.json");
}
if (audit) lines.push(`  balances vs records ${JSON.stringify(audit)}`);
for (const d of deaths) lines.push(`  !!! ${d}`);
if (cpu) lines.push(describeCpu(cpu));
if (memory && report?.requests) {
  const perRequest = (cpuSeconds: number) => ((cpuSeconds * 1000) / report!.requests).toFixed(3);
  const stackCpu = memory.groups.filter((g) => g.budget).reduce((s, g) => s + g.cpuSeconds, 0);
  lines.push(
    "CPU per request (ms of CPU time / requests answered):",
    ...memory.groups.flatMap((g) => [
      `  ${g.name.padEnd(20)} ${perRequest(g.cpuSeconds).padStart(7)} ms  (${g.cpuSeconds} s)`,
      ...(g.cpuSecondsByKind
        ? [`    of which ${formatByKind(g.cpuSecondsByKind, perRequest)}`]
        : []),
    ]),
    `  ${"whole stack".padEnd(20)} ${perRequest(stackCpu).padStart(7)} ms  ` +
      "(API instances + HAProxy + Postgres, k6 excluded)",
    "peak memory and CPU per process group:",
    formatMemory(memory),
  );
}
console.log(lines.join("\n"));

writeFileSync(
  join(resultsDir, "run.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine,
      rampSeconds: Number(rampSeconds),
      steadySeconds: Number(steadySeconds),
      synchronousCommit: commit,
      apiEnv: extraApiEnv,
      target: url,
      k6Exit,
      deaths,
      report: report ?? null,
      audit,
      cpu,
      memory,
    },
    null,
    2,
  ),
);
if (!report) Deno.exit(1);
