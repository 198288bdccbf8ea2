// `deno task bench:xmin [baseline] [held] [mitigated]`: what a long transaction does to the
// queue (issue #14, item 4). Each phase starts a fresh stack (2 API instances, instant
// processors, database bench_xmin) and offers a steady XMIN_RATE payments/s for XMIN_DURATION:
//
//   baseline   nothing else
//   held       another connection (the bench's own role, a superuser here) opens a REPEATABLE
//              READ transaction, takes its snapshot with one query and sits idle in it
//   mitigated  the same, connected as the `analyst` role (sql/007_analyst_role.sql), whose
//              role settings end an idle transaction after its timeout
//
// Every XMIN_SAMPLE_S seconds: settled payments, queue depth, payment_queue's dead tuples
// (pg_stat_user_tables.n_dead_tup), table and index size, autovacuum runs and the oldest
// backend_xmin's age. Per phase: POST latency (k6) and CPU per payment by process group.
// Environment (all optional): XMIN_RATE=500  XMIN_DURATION=150s  XMIN_SAMPLE_S=5
//   XMIN_INSTANCES=2  XMIN_DRAIN_N=20000  BENCH_ECHO=1
// After the steady load, with the snapshot still held where it was: XMIN_DRAIN_N payments put
// straight into the queue, timed until settled (the claims' path, which dead rows slow down).
import { enqueueBacklog, waitQueueEmpty } from "./backlog.ts";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Sql } from "../src/db/connect.ts";
import { countQueue, notifyPending } from "../src/payments/store.ts";
import type { Stack } from "../tools/local/stack.ts";
import { cpuMsPerPayment, type CpuSplit, startCpuSplit } from "./cpu_groups.ts";
import { ensureK6 } from "./install_k6.ts";
import { startInstantStack } from "./instant_stack.ts";
import { startK6 } from "./k6_run.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { resultsRoot, timestamp } from "./paths.ts";

const allPhases = ["baseline", "held", "mitigated"] as const;
type PhaseName = typeof allPhases[number];
const phaseNames: PhaseName[] = Deno.args.length ? Deno.args as PhaseName[] : [...allPhases];
for (const p of phaseNames) {
  if (!allPhases.includes(p)) throw new Error(`unknown phase "${p}"; use ${allPhases.join(", ")}`);
}
const env = (name: string, fallback: string) => Deno.env.get(name) || fallback;
const rate = Number(env("XMIN_RATE", "500"));
const duration = env("XMIN_DURATION", "150s");
const sampleSeconds = Number(env("XMIN_SAMPLE_S", "5"));
const instances = Number(env("XMIN_INSTANCES", "2"));
const drainN = Number(env("XMIN_DRAIN_N", "20000"));
const holderName = "bench-xmin-holder";

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.error(`[bench:xmin] ${msg}`);
const mib = (bytes: number) => round(bytes / 1048576, 2);

interface Sample {
  t: number;
  settled: number;
  /** Settled per second since the previous sample. */
  settledPerSec: number;
  queued: number;
  deadTuples: number;
  tableMiB: number;
  indexMiB: number;
  autovacuums: number;
  oldestXminAge: number | null;
  holderAlive: boolean;
}

async function sampleQueue(sql: Sql) {
  const [row] = await sql<{
    settled: number;
    dead: number;
    table_bytes: string;
    index_bytes: string;
    autovacuums: number;
    xmin_age: number | null;
    holder: boolean;
  }[]>`
    select (select count(*) from processed_payments)::int as settled,
           s.n_dead_tup::int as dead,
           pg_table_size('payment_queue') as table_bytes,
           pg_indexes_size('payment_queue') as index_bytes,
           s.autovacuum_count::int as autovacuums,
           (select max(age(backend_xmin)) from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid())::int as xmin_age,
           exists (select 1 from pg_stat_activity where application_name = ${holderName}) as holder
    from pg_stat_user_tables s where s.relname = 'payment_queue'`;
  return { ...row, queued: await countQueue(sql) };
}

/**
 * Opens the long transaction: REPEATABLE READ takes its snapshot at the first query and keeps
 * it to the end, so the backend's xmin stays where it was. Resolves the returned promise when
 * the transaction ended (released, or the server ended the session), with how it ended.
 */
async function holdSnapshot(url: string) {
  const sql = connect(url, { max: 1, applicationName: holderName });
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let snapshotTaken!: () => void;
  const taken = new Promise<void>((r) => (snapshotTaken = r));
  const ended = sql.begin("isolation level repeatable read", async (tx) => {
    await tx`select count(*) from payments`;
    snapshotTaken();
    await released;
  }).then(() => "released by the bench", (err: Error) => `ended by the server: ${err.message}`);
  await Promise.race([taken, ended]);
  return {
    ended,
    async stop() {
      release();
      // A session the server ended may leave postgres.js' COMMIT unanswered: don't wait on it.
      const how = await Promise.race([
        ended,
        sleep(5_000).then(() => "no answer to COMMIT in 5 s"),
      ]);
      await sql.end({ timeout: 1 }).catch(() => {});
      return how;
    },
  };
}

const waitDrained = (sql: Sql) => waitQueueEmpty(sql, { limitMs: 300_000, pollMs: 50 });

/** XMIN_DRAIN_N payments put straight into the queue in one commit, timed until settled. */
async function drainBacklog(stack: Stack, sql: Sql) {
  const [before] = await sql<{ dead: number }[]>`
    select n_dead_tup::int as dead from pg_stat_user_tables where relname = 'payment_queue'`;
  await enqueueBacklog(sql, drainN);
  const stopCpu = startCpuSplit(stack);
  const t0 = performance.now();
  await notifyPending(sql);
  await waitDrained(sql);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = stopCpu();
  return {
    n: drainN,
    deadTuplesBefore: before.dead,
    perSec: round(drainN / seconds),
    msPerPayment: cpuMsPerPayment(cpu, drainN),
    cores: cpu.cores,
  };
}

function holderUrl(phase: PhaseName, url: string): string | undefined {
  if (phase === "baseline") return undefined;
  if (phase === "held") return url;
  const u = new URL(url);
  u.username = "analyst";
  u.password = "";
  return u.toString();
}

async function runPhase(k6: string, phase: PhaseName) {
  log(`${phase}: starting the stack…`);
  const bench = await startInstantStack({ instances, database: "bench_xmin" });
  const sql = connect(bench.stack.databaseUrl, { max: 2, applicationName: "bench-xmin" });
  let holder: Awaited<ReturnType<typeof holdSnapshot>> | undefined;
  try {
    const [roleSettings] = await sql<{ settings: string[] | null }[]>`
      select (select setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
              where r.rolname = 'analyst' and s.setdatabase = 0) as settings`;
    const summaryPath = join(resultsRoot, `.xmin-${phase}-${Date.now()}.json`);
    const run = startK6({
      k6,
      script: "ingest.js",
      quiet: true,
      scriptEnv: {
        TARGET_URL: bench.stack.url,
        SUMMARY_PATH: summaryPath,
        MODE: "rate",
        RATE: String(rate),
        DURATION: duration,
      },
    });
    const stopCpu = startCpuSplit(bench.stack, run.pid);
    const url = holderUrl(phase, bench.stack.databaseUrl);
    if (url) {
      holder = await holdSnapshot(url);
      log(`${phase}: snapshot held by ${new URL(url).username || "the bench's role"}`);
    }
    const samples: Sample[] = [];
    const t0 = performance.now();
    let exited = false;
    run.done.finally(() => (exited = true));
    while (!exited) {
      const s = await sampleQueue(sql);
      const t = round((performance.now() - t0) / 1000, 1);
      const prev = samples.at(-1);
      samples.push({
        t,
        settled: s.settled,
        settledPerSec: prev ? round((s.settled - prev.settled) / (t - prev.t)) : 0,
        queued: s.queued,
        deadTuples: s.dead,
        tableMiB: mib(Number(s.table_bytes)),
        indexMiB: mib(Number(s.index_bytes)),
        autovacuums: s.autovacuums,
        oldestXminAge: s.xmin_age,
        holderAlive: s.holder,
      });
      log(`${phase} ${JSON.stringify(samples.at(-1))}`);
      const next = t0 + samples.length * sampleSeconds * 1000;
      while (!exited && performance.now() < next) await sleep(100);
    }
    const cpu: CpuSplit = stopCpu();
    const code = await run.done;
    if (code !== 0) throw new Error(`k6 exited with ${code}`);
    const data = JSON.parse(readFileSync(summaryPath, "utf8"));
    rmSync(summaryPath, { force: true });
    const m = data.metrics;
    const d = m["http_req_duration{expected_response:true}"]?.values ?? {};
    const okCount: number = m.payments_success?.values.count ?? 0;
    const failed: number = m.payments_failure?.values.count ?? 0;
    // What was left queued at the end, and how long it took to settle with the load gone.
    const tEnd = performance.now();
    const leftAtEnd = await countQueue(sql);
    await waitDrained(sql);
    const drainAfterMs = round(performance.now() - tEnd);
    // A backlog drained while the snapshot is still held (if it is): every claim scans the
    // queue's index from the oldest visible_at, through the entries vacuum could not remove.
    const backlog = await drainBacklog(bench.stack, sql);
    const holderEnd = await holder?.stop();
    holder = undefined;
    const last = samples.at(-1)!;
    const first = samples[0];
    const lastMinute = samples.filter((s) => s.t >= last.t - 60);
    return {
      phase,
      analystRoleSettings: roleSettings.settings,
      holderEnd: holderEnd ?? null,
      rate,
      duration,
      ok: okCount,
      failed,
      droppedIterations: m.dropped_iterations?.values.count ?? 0,
      p50: round(d.med ?? NaN, 1),
      p99: round(d["p(99)"] ?? NaN, 1),
      max: round(d.max ?? NaN, 1),
      settledPerSec: round((last.settled - first.settled) / (last.t - first.t)),
      settledPerSecLastMinute: round(
        (last.settled - lastMinute[0].settled) / Math.max(1, last.t - lastMinute[0].t),
      ),
      maxDeadTuples: Math.max(...samples.map((s) => s.deadTuples)),
      endDeadTuples: last.deadTuples,
      maxTableMiB: Math.max(...samples.map((s) => s.tableMiB)),
      endTableMiB: last.tableMiB,
      endIndexMiB: last.indexMiB,
      autovacuums: last.autovacuums,
      leftAtEnd,
      drainAfterMs,
      backlog,
      cpu,
      msPerPayment: cpuMsPerPayment(cpu, okCount),
      samples,
    };
  } finally {
    await holder?.stop();
    await sql.end();
    await bench.stop();
  }
}

const startedAt = new Date();
const machine = machineInfo();
mkdirSync(resultsRoot, { recursive: true });
const k6 = await ensureK6();
const results = [];
for (const phase of phaseNames) results.push(await runPhase(k6, phase));

const out = join(resultsRoot, `xmin-${timestamp(startedAt)}.json`);
writeFileSync(
  out,
  JSON.stringify({ date: startedAt.toISOString(), machine, instances, results }, null, 2),
);

const lines = [
  "",
  `bench:xmin — ${describeMachine(machine)}; ${rate}/s for ${duration}, ${instances} instances`,
  "",
  "| phase | settled/s (whole / last 60 s) | POST p50 / p99 / max ms | err / dropped | payment_queue dead tuples: max / end | table MiB: max / end (+ indexes) | autovacuums | ms CPU/payment: APIs / PG | cores others | left at end | backlog drain/s (dead tuples before; PG ms/payment) |",
  "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
];
for (const r of results) {
  lines.push(
    `| ${r.phase} | ${r.settledPerSec} / ${r.settledPerSecLastMinute} | ${r.p50} / ${r.p99} / ${r.max} | ${r.failed} / ${r.droppedIterations} | ${r.maxDeadTuples} / ${r.endDeadTuples} | ${r.maxTableMiB} / ${r.endTableMiB} (+ ${r.endIndexMiB}) | ${r.autovacuums} | ${r.msPerPayment.apis} / ${r.msPerPayment.postgres} | ${r.cpu.cores.others} | ${r.leftAtEnd} | ${r.backlog.perSec} (${r.backlog.deadTuplesBefore}; ${r.backlog.msPerPayment.postgres}) |`,
  );
}
lines.push("");
for (const r of results) {
  if (r.holderEnd) lines.push(`${r.phase}: holder ${r.holderEnd}`);
  lines.push(
    `${r.phase} over time (t s: dead tuples, table MiB, settled/s, xmin age): ` +
      r.samples.filter((_, i) => i % 3 === 0).map((s) =>
        `${s.t}: ${s.deadTuples}, ${s.tableMiB}, ${s.settledPerSec}, ${s.oldestXminAge ?? "–"}`
      ).join("; "),
  );
}
lines.push("", `saved ${out}`);
console.log(lines.join("\n"));
