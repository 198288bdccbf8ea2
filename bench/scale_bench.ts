// `deno task bench:scale`: the instance curve (issue #14, item 3). For 1, 2 and 4 API
// instances behind HAProxy on one Postgres, with instant processors:
//
//   ingest  closed loop, k6 users posting back to back (forwarding runs at the same time, as in
//           production); the best rate with < 1 % errors is the max sustained ingest
//   drain   DRAIN_N payments put straight into the queue; settled per second until it is empty
//
// Each phase reports CPU per payment by process group and Postgres' wait events
// (bench/wait_events.ts: pg_stat_activity every 100 ms). Environment (all optional):
//   INSTANCES=1,2,4  SCALE_VUS=16,64,256  SCALE_DURATION=15s  DRAIN_N=30000  SCALE_WARMUP=5s
//   BENCH_API_ENV='{"MAX_CALL_RATE":"0"}'  (any instance setting)  BENCH_ECHO=1
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Sql } from "../src/db/connect.ts";
import { countQueue, notifyPending } from "../src/payments/store.ts";
import { cpuMsPerPayment, type CpuSplit, startCpuSplit } from "./cpu_groups.ts";
import { ensureK6 } from "./install_k6.ts";
import { startInstantStack } from "./instant_stack.ts";
import { startK6 } from "./k6_run.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { resultsRoot, timestamp } from "./paths.ts";
import { enqueueBacklog, waitQueueEmpty } from "./backlog.ts";
import { envNumbers } from "./env_numbers.ts";
import { startStatementCount, type StatementCount } from "./statements.ts";
import { describeWaits, startWaitSampler, type WaitReport } from "./wait_events.ts";

const env = (name: string, fallback: string) => Deno.env.get(name) || fallback;
const instanceCounts = envNumbers("INSTANCES", "1,2,4");
const vusList = envNumbers("SCALE_VUS", "16,64,256");
const duration = env("SCALE_DURATION", "15s");
const warmup = env("SCALE_WARMUP", "5s");
const drainN = envNumbers("DRAIN_N", "30000")[0];
const apiEnv: Record<string, string> = JSON.parse(env("BENCH_API_ENV", "{}"));

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (msg: string) => console.error(`[bench:scale] ${msg}`);

const startedAt = new Date();
const machine = machineInfo();
const tmpDir = join(resultsRoot, `.tmp-scale-${timestamp(startedAt)}`);
mkdirSync(tmpDir, { recursive: true });

interface Phase {
  instances: number;
  phase: string;
  /** Payments acknowledged (ingest) or settled (drain) per second. */
  perSec: number;
  /** Settled per second during the phase (ingest: forwarding keeping up or not). */
  settledPerSec: number;
  errorPct?: number;
  p99?: number;
  queueLeft: number;
  cpu: CpuSplit;
  msPerPayment: Record<string, number>;
  waits: WaitReport;
  /** pg_stat_statements over the phase (undefined where the module is not loaded). */
  statementsPerPayment?: number;
  statements?: StatementCount;
}

async function countSettled(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select count(*) as n from processed_payments`;
  return Number(row.n);
}

const waitDrained = (sql: Sql) => waitQueueEmpty(sql, { limitMs: 300_000, pollMs: 100 });

async function runK6(
  k6: string,
  url: string,
  label: string,
  vus: number,
  length: string,
  during?: (pid: number) => () => Promise<void>,
) {
  const path = join(tmpDir, `${label}.json`);
  const run = startK6({
    k6,
    script: "ingest.js",
    quiet: true,
    scriptEnv: {
      TARGET_URL: url,
      SUMMARY_PATH: path,
      MODE: "closed",
      VUS: String(vus),
      DURATION: length,
    },
  });
  const stop = during?.(run.pid);
  const code = await run.done;
  await stop?.();
  if (code !== 0) throw new Error(`k6 (${label}) exited with ${code}`);
  const data = JSON.parse(readFileSync(path, "utf8"));
  const m = data.metrics;
  const okCount: number = m.payments_success?.values.count ?? 0;
  const failed: number = m.payments_failure?.values.count ?? 0;
  return {
    ok: okCount,
    seconds: data.state.testRunDurationMs / 1000,
    errorPct: round((100 * failed) / Math.max(1, okCount + failed), 3),
    p99: round(m["http_req_duration{expected_response:true}"]?.values["p(99)"] ?? NaN, 1),
  };
}

async function measureInstances(k6: string, instances: number): Promise<Phase[]> {
  log(`${instances} instance(s): starting the stack…`);
  const bench = await startInstantStack({ instances, database: "bench_scale", apiEnv });
  const sql = connect(bench.stack.databaseUrl, { max: 2, applicationName: "bench-scale" });
  const waitsSql = connect(bench.stack.databaseUrl, { max: 1, applicationName: "bench-waits" });
  const phases: Phase[] = [];
  try {
    log(`${instances} instance(s): warm-up ${warmup}`);
    await runK6(k6, bench.stack.url, `warmup-${instances}`, 16, warmup);
    await waitDrained(sql);
    for (const vus of vusList) {
      await bench.purge();
      log(`${instances} instance(s): ingest, ${vus} users for ${duration}`);
      let cpu: CpuSplit | undefined;
      let waits: WaitReport | undefined;
      const settledBefore = await countSettled(sql);
      const statements = await startStatementCount(bench.stack.databaseUrl);
      const fig = await runK6(k6, bench.stack.url, `ingest-${instances}-${vus}`, vus, duration, (
        pid,
      ) => {
        const stopCpu = startCpuSplit(bench.stack, pid);
        const stopWaits = startWaitSampler(waitsSql);
        return async () => {
          cpu = stopCpu();
          waits = await stopWaits();
        };
      });
      const counted = await statements?.stop();
      const settled = (await countSettled(sql)) - settledBefore;
      phases.push({
        statements: counted,
        statementsPerPayment: counted && round(counted.total / Math.max(1, fig.ok), 2),
        instances,
        phase: `ingest ${vus} users`,
        perSec: round(fig.ok / fig.seconds),
        settledPerSec: round(settled / cpu!.wallSeconds),
        errorPct: fig.errorPct,
        p99: fig.p99,
        queueLeft: await countQueue(sql),
        cpu: cpu!,
        msPerPayment: cpuMsPerPayment(cpu!, fig.ok),
        waits: waits!,
      });
      log(JSON.stringify(phases.at(-1)));
      await waitDrained(sql);
    }

    await bench.purge();
    log(`${instances} instance(s): drain of ${drainN} payments`);
    // One statement, one commit: every instance competes for the whole backlog at once.
    await enqueueBacklog(sql, drainN);
    const statements = await startStatementCount(bench.stack.databaseUrl);
    const stopCpu = startCpuSplit(bench.stack);
    const stopWaits = startWaitSampler(waitsSql);
    await notifyPending(sql);
    await waitDrained(sql);
    const cpu = stopCpu();
    const waits = await stopWaits();
    const counted = await statements?.stop();
    const settled = await countSettled(sql);
    if (settled !== drainN) throw new Error(`drain: ${settled} settled of ${drainN}`);
    phases.push({
      statements: counted,
      statementsPerPayment: counted && round(counted.total / drainN, 2),
      instances,
      phase: "drain",
      perSec: round(drainN / cpu.wallSeconds),
      settledPerSec: round(drainN / cpu.wallSeconds),
      queueLeft: 0,
      cpu,
      msPerPayment: cpuMsPerPayment(cpu, drainN),
      waits,
    });
    log(JSON.stringify(phases.at(-1)));
    await bench.purge();
  } finally {
    await waitsSql.end();
    await sql.end();
    await bench.stop();
  }
  return phases;
}

const phases: Phase[] = [];
try {
  const k6 = await ensureK6();
  for (const n of instanceCounts) phases.push(...await measureInstances(k6, n));
} finally {
  rmSync(tmpDir, { recursive: true, force: true });
}

const out = join(resultsRoot, `scale-${timestamp(startedAt)}.json`);
writeFileSync(
  out,
  JSON.stringify({ date: startedAt.toISOString(), machine, apiEnv, duration, phases }, null, 2),
);

// Markdown rows for bench/README.md: one per phase.
const lines = [
  "",
  `bench:scale — ${describeMachine(machine)}; ${duration} per ingest step`,
  "",
  "| instances | phase | payments/s | settled/s | err % | p99 ms | ms CPU/payment: APIs / PG / HAProxy / k6 | cores: APIs / PG / HAProxy / sims / k6 / others | machine busy | statements/payment | PG waits (share of active samples) |",
  "| --: | --- | --: | --: | --: | --: | --- | --- | --: | --: | --- |",
];
for (const p of phases) {
  const c = p.cpu.cores;
  const ms = p.msPerPayment;
  lines.push(
    `| ${p.instances} | ${p.phase} | ${p.perSec} | ${p.settledPerSec} | ${p.errorPct ?? "–"} | ${
      p.p99 ?? "–"
    } | ${ms.apis} / ${ms.postgres} / ${ms.haproxy} / ${ms.k6} | ${c.apis} / ${c.postgres} / ${c.haproxy} / ${c.processors} / ${c.k6} / ${c.others} | ${p.cpu.cpu.busyPct} % | ${
      p.statementsPerPayment ?? "–"
    } | ${describeWaits(p.waits)} |`,
  );
}
lines.push("", `saved ${out}`);
console.log(lines.join("\n"));
