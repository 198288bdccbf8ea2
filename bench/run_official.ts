// `deno task bench`: the official load test (bench/k6/rinha.js) against the local stack, with
// the score, the HTML report and the stack's peak memory written to bench/results/<time>/.
//
// Environment:
//   MAX_REQUESTS         peak virtual users (default 550, as in the published runs)
//   SYNCHRONOUS_COMMIT   on | off, passed to both API instances (default: the service's own)
//   BENCH_API_ENV        more settings for both instances, as JSON: '{"MAX_CALL_RATE":"300"}'
//   BENCH_TARGET_URL     test a stack that is already running instead of starting one; then
//   BENCH_PROCESSOR_DEFAULT_URL / BENCH_PROCESSOR_FALLBACK_URL name its processors
//                        (default http://127.0.0.1:8001 / :8002). No memory figures then.
//   BENCH_ECHO=1         show the stack's own output
//   BENCH_PROGRESS=1     show k6's progress bar
//   BENCH_RAW=1          also keep every sample (raw.json.gz, ~5 MB) and print the payments'
//                        latency per 5-s slice: which part of the test makes the p99
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { devDefaults, type Stack, startStack } from "../tools/local/stack.ts";
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
import { formatTimeline, latencyTimeline, type Slice } from "./timeline.ts";
import { GcCounter } from "./gc_counter.ts";
import { parseApiEnv } from "./api_env.ts";
import { startStatementCount, type StatementCount } from "./statements.ts";
import { apiV8Flags } from "../src/v8_flags.ts";

const env = (name: string) => Deno.env.get(name) || undefined;

const maxRequests = env("MAX_REQUESTS") ?? "550";
if (!/^\d+$/.test(maxRequests) || Number(maxRequests) < 1) {
  throw new Error(`MAX_REQUESTS must be a positive integer, got "${maxRequests}"`);
}
const synchronousCommit = env("SYNCHRONOUS_COMMIT");
if (synchronousCommit && !["on", "off"].includes(synchronousCommit)) {
  throw new Error(`SYNCHRONOUS_COMMIT must be on or off, got "${synchronousCommit}"`);
}
const extraApiEnv = parseApiEnv(env("BENCH_API_ENV"));
const targetUrl = env("BENCH_TARGET_URL");
const raw = env("BENCH_RAW") === "1";

const k6 = await ensureK6();
const resultsDir = join(resultsRoot, timestamp());
mkdirSync(resultsDir, { recursive: true });
const machine = machineInfo();

let stack: Stack | undefined;
const gc: Record<string, GcCounter> = {};
let urls: { target: string; default: string; fallback: string };
if (targetUrl) {
  urls = {
    target: targetUrl,
    default: env("BENCH_PROCESSOR_DEFAULT_URL") ?? "http://127.0.0.1:8001",
    fallback: env("BENCH_PROCESSOR_FALLBACK_URL") ?? "http://127.0.0.1:8002",
  };
} else {
  console.error("[bench] starting the stack…");
  // A fresh database: payments a previous (interrupted) run left queued would be forwarded as
  // soon as the instances start, landing in the processors' books after their purge.
  const db = await benchDatabase("bench_official", true);
  stack = await startStack({
    ...devDefaults,
    databaseUrl: db.url,
    echo: env("BENCH_ECHO") === "1",
    // V8 reports each collection: GC counts and pauses per instance, at no measurable cost.
    apiV8Flags: `${apiV8Flags},--trace-gc`,
    onApiLine: (api, line) => (gc[api] ??= new GcCounter()).read(line),
    apiEnv: {
      // As docker-compose.yml sets it for the challenge deployment.
      MAX_CALL_RATE: "500",
      ...extraApiEnv,
      ...(synchronousCommit ? { SYNCHRONOUS_COMMIT: synchronousCommit } : {}),
    },
  });
  const [def, fb] = devDefaults.simulatorPorts!;
  urls = {
    target: stack.url,
    default: `http://127.0.0.1:${def}`,
    fallback: `http://127.0.0.1:${fb}`,
  };
}

// A child that dies mid-run explains a bad score better than any figure: note it.
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
let queueDepth: number[] | undefined;
let dbWork: Record<string, number> | undefined;
let afterRun: Record<string, unknown> | undefined;
let statementCount: StatementCount | undefined;
try {
  console.error(`[bench] k6 → ${urls.target}, MAX_REQUESTS ${maxRequests}; results ${resultsDir}`);
  const statements = stack ? await startStatementCount(stack.databaseUrl) : undefined;
  const cpuBefore = cpuSnapshot();
  const run = startK6({
    k6,
    script: "rinha.js",
    quiet: env("BENCH_PROGRESS") !== "1",
    extraArgs: raw ? ["--out", `json=${join(resultsDir, "raw.json.gz")}`] : [],
    scriptEnv: {
      TARGET_URL: urls.target,
      PROCESSOR_DEFAULT_URL: urls.default,
      PROCESSOR_FALLBACK_URL: urls.fallback,
      MAX_REQUESTS: maxRequests,
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
  const depth = stack ? sampleQueueDepth(stack.databaseUrl) : undefined;
  k6Exit = await run.done;
  statementCount = await statements?.stop();
  cpu = cpuUsageSince(cpuBefore);
  memory = sampler?.stop();
  const sampled = await depth?.stop();
  queueDepth = sampled?.depths;
  dbWork = sampled?.dbWork;
  afterRun = await compareBooksAfterRun(urls);
} finally {
  stopping = true;
  if (stack) {
    console.error("[bench] stopping the stack…");
    await stack.stop();
  }
}

/**
 * The queue's length once a second (index = seconds since k6 started): a backlog that builds
 * while the default processor fails, and its drain afterwards, are visible here.
 */
function sampleQueueDepth(databaseUrl: string) {
  const sql = connect(databaseUrl, { max: 1, applicationName: "bench-depth" });
  const depths: number[] = [];
  let running = true;
  // How much database work a payment costs: commits and row changes over the run.
  const dbStats = async () => {
    const [row] = await sql<Record<string, string>[]>`
      select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted
      from pg_stat_database where datname = current_database()`;
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
  };
  const statsBefore = dbStats();
  const loop = (async () => {
    const start = performance.now();
    while (running) {
      try {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from payment_queue`;
        depths[Math.round((performance.now() - start) / 1000)] = row.n;
      } catch {
        // The purge at setup truncates the table; a failed read is only a gap.
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  return {
    async stop(): Promise<{ depths: number[]; dbWork: Record<string, number> }> {
      running = false;
      await loop;
      // Backends report their counters about once a second: let the last ones arrive.
      await new Promise((r) => setTimeout(r, 1_500));
      const [before, after] = [await statsBefore, await dbStats()];
      await sql.end();
      const dbWork = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
      return { depths: Array.from(depths, (d) => d ?? -1), dbWork };
    },
  };
}

/**
 * Not part of the official score: once the queue has had a few seconds to drain, do the
 * service's all-time totals agree with what the processors recorded? A mismatch here is a
 * lost or double-counted payment even when the audit windows happened to miss it.
 */
async function compareBooksAfterRun(u: typeof urls): Promise<Record<string, unknown>> {
  await new Promise((r) => setTimeout(r, 3_000));
  const headers = { "X-Rinha-Token": "123" };
  const get = async (url: string, h: Record<string, string> = {}) => {
    const res = await fetch(url, { headers: h, signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return await res.json();
  };
  try {
    const [svc, def, fb] = await Promise.all([
      get(`${u.target}/payments-summary`),
      get(`${u.default}/admin/payments-summary`, headers),
      get(`${u.fallback}/admin/payments-summary`, headers),
    ]);
    return {
      service: { default: svc.default.totalRequests, fallback: svc.fallback.totalRequests },
      processors: { default: def.totalRequests, fallback: fb.totalRequests },
      agree: svc.default.totalRequests === def.totalRequests &&
        svc.fallback.totalRequests === fb.totalRequests,
    };
  } catch (err) {
    return { error: String(err) };
  }
}

interface ScoreReport {
  p99Ms?: number;
  p99ByCall: Record<string, number | null>;
  successfulPosts: number;
  failedPosts: number;
  inconsistencies: number;
  auditChecks: number;
  auditErrors: number;
  service: {
    default: { requests: number; cents: number };
    fallback: { requests: number; cents: number };
  } | null;
  score: {
    profit: number;
    bonus: number;
    fine: number;
    lag: number;
    disqualified: boolean;
    exact: { gross: string; fees: string; net: string; profit: string };
  } | null;
  error: string | null;
}

let report: ScoreReport | undefined;
try {
  report = JSON.parse(readFileSync(join(resultsDir, "score.json"), "utf8"));
} catch {
  // k6 failed before handleSummary; said below.
}

/** Cores per second summed over the process groups `pick` selects; undefined without any. */
function coresOf(
  memory: MemoryReport | undefined,
  pick: (g: MemoryReport["groups"][number]) => boolean,
): number[] | undefined {
  const series = (memory?.groups ?? []).filter(pick)
    .map((g) => memory!.coresPerSecond[g.name] ?? []);
  if (!series.length) return undefined;
  return series[0].map((_, i) => series.reduce((sum, xs) => sum + (xs[i] ?? 0), 0));
}

const commit = synchronousCommit ?? "off (the service's default)";
const money = (n: number) =>
  n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const ms = (n: number | null | undefined) => (n == null ? "–" : n.toFixed(2));
const lines: string[] = [
  "",
  `Rinha 2025 official scenario — MAX_REQUESTS ${maxRequests}, SYNCHRONOUS_COMMIT ${commit}`,
  ...(Object.keys(extraApiEnv).length ? [`API settings: ${JSON.stringify(extraApiEnv)}`] : []),
  `machine: ${describeMachine(machine)}`,
  `k6 exit code ${k6Exit}; results in ${resultsDir}`,
];
if (report?.score && report.service) {
  const s = report.score;
  const by = report.p99ByCall;
  lines.push(
    `  profit              ${money(s.profit)}  (exact ${s.exact.profit})`,
    `  p99                 ${ms(report.p99Ms)} ms  (p99 by call: payment ${ms(by.payment)}, ` +
      `audit ${ms(by.audit)}, admin ${ms(by.admin)}, summary ${ms(by.summary)})`,
    `  bonus               ${Math.round(s.bonus * 100)} %`,
    `  inconsistencies     ${report.inconsistencies} (in ${report.auditChecks} audits, ` +
      `${report.auditErrors} failed)${s.fine ? "  → fine 35 %" : ""}`,
    `  lag                 ${s.lag}${s.disqualified ? "  DISQUALIFIED (negative)" : ""}`,
    `  default / fallback  ${report.service.default.requests} / ${report.service.fallback.requests}`,
    `  POST ok / failed    ${report.successfulPosts} / ${report.failedPosts}`,
  );
} else {
  lines.push(`  no score: ${report?.error ?? "k6 wrote no score.json"}`);
}
if (queueDepth?.length) {
  const peak = Math.max(...queueDepth);
  lines.push(`  deepest queue       ${peak} payments at t ≈ ${queueDepth.indexOf(peak)} s`);
}
if (dbWork && report?.successfulPosts) {
  const per = (k: string) => (dbWork![k] / report!.successfulPosts).toFixed(2);
  lines.push(
    `  database work       ${dbWork.xact_commit} commits (${per("xact_commit")} per payment), ` +
      `${dbWork.xact_rollback} rollbacks; rows per payment: inserted ${per("tup_inserted")}, ` +
      `updated ${per("tup_updated")}, deleted ${per("tup_deleted")}`,
  );
}
if (statementCount && report?.successfulPosts) {
  const per = (n: number) => (n / report!.successfulPosts).toFixed(2);
  lines.push(
    `  statements          ${statementCount.total} (${per(statementCount.total)} per payment ` +
      `≈ round trips), executing ${per(statementCount.execMs)} ms per payment; most called:`,
    ...statementCount.top.map((r) =>
      `    ${per(r.calls).padStart(6)}/payment ${r.meanMs.toFixed(3).padStart(7)} ms  ${r.query}`
    ),
  );
  const wal = statementCount.wal;
  if (wal) {
    lines.push(
      `  WAL (whole cluster) ${per(wal.records)} records, ${per(wal.bytes)} bytes, ` +
        `${per(wal.fpi)} full-page images, ${per(wal.syncs)} flushes (fsync) per payment`,
    );
  }
}
for (const [api, counter] of Object.entries(gc).sort()) {
  lines.push(`  GC ${api.padEnd(16)} ${counter.describe()}`);
}
if (afterRun) lines.push(`  books after run     ${JSON.stringify(afterRun)}`);
for (const d of deaths) lines.push(`  !!! ${d}`);
if (cpu) {
  lines.push(describeCpu(cpu));
  if (memory) {
    const ours = memory.groups.reduce((sum, g) => sum + g.avgCores, 0);
    lines.push(
      `  of which the stack + k6: ${ours.toFixed(2)} cores; everything else on the machine: ` +
        `${Math.max(0, cpu.busyCores - ours).toFixed(2)} cores`,
    );
  }
}
if (memory && report?.successfulPosts) {
  // The whole stack as deployed (the budget groups: APIs, HAProxy, Postgres), not k6 or the
  // simulators: what a payment costs the service.
  const stackCpu = memory.groups.filter((g) => g.budget);
  const perPayment = (s: number) => (s * 1000 / report!.successfulPosts).toFixed(2);
  lines.push(
    `  CPU per payment     ${
      perPayment(stackCpu.reduce((n, g) => n + g.cpuSeconds, 0))
    } ms for the stack (` +
      stackCpu.map((g) => `${g.name} ${perPayment(g.cpuSeconds)}`).join(", ") + ")",
  );
  const postgres = memory.groups.find((g) => g.cpuSecondsByKind)?.cpuSecondsByKind;
  if (postgres) lines.push(`  of which Postgres   ${formatByKind(postgres, perPayment)}`);
}
if (memory) lines.push("peak memory and CPU per process group:", formatMemory(memory));
let timeline: Slice[] | undefined;
if (raw) {
  timeline = await latencyTimeline(join(resultsDir, "raw.json.gz"), "payment");
  lines.push("POST /payments latency per 5-s slice (stages change at 1, 10, 20, 30, 40, 50 s):");
  lines.push(formatTimeline(timeline, {
    queueDepth,
    machineBusyPct: memory?.machineBusyPctPerSecond,
    apiCores: coresOf(memory, (g) => g.name.startsWith("api")),
    stackCores: coresOf(memory, (g) => g.budget),
  }));
}
console.log(lines.join("\n"));

writeFileSync(
  join(resultsDir, "run.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine,
      maxRequests: Number(maxRequests),
      synchronousCommit: commit,
      apiEnv: extraApiEnv,
      target: urls,
      k6Exit,
      deaths,
      score: report ?? null,
      afterRun,
      cpu,
      memory,
      timeline,
      queueDepth,
      dbWork,
      statements: statementCount,
      gc: Object.fromEntries(Object.entries(gc).map(([k, v]) => [k, { ...v }])),
    },
    null,
    2,
  ),
);
if (!report?.score) Deno.exit(1);
