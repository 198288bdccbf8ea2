// `deno task bench:queue [ack] [max] [drain] [summary]`: the queue's own figures, apart from
// the official scenario's processor stages, with instant processors (delay 0, no failure).
//
//   ack      acknowledgement latency of POST /payments at fixed arrival rates (open model)
//   max      highest ingest rate with < 1 % errors (closed loop, several user counts)
//   drain    payments settled per second when a backlog is put straight into the queue
//   summary  GET /payments-summary latency at 10^5, 10^6 and 10^7 settled payments (full range,
//            a day, 10 s), with the rollups of sql/006 brought up to date after each load
// With no argument, all four. Environment (all optional):
//   ACK_RATES=500,2000,5000  ACK_DURATION=15s  MAX_VUS=16,64,256  MAX_DURATION=15s
//   DRAIN_N=50000  SUMMARY_SIZES=100000,1000000,10000000  SUMMARY_RUNS=7
//   SYNCHRONOUS_COMMIT=on|off (API instances)  KEEP_BENCH_DB=1 (keep database bench_summary)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Sql } from "../src/db/connect.ts";
import { migrate } from "../src/db/migrate.ts";
import { spawnChild, waitForHttp } from "../tools/local/processes.ts";
import type { Stack } from "../tools/local/stack.ts";
import { projectRoot } from "../tools/local/project_paths.ts";
import { apiV8Flags } from "../src/v8_flags.ts";
import { countQueue, notifyPending } from "../src/payments/store.ts";
import { summarize } from "../src/payments/summary_store.ts";
import { rollUpSettled } from "../src/payments/summary_rollups.ts";
import { benchDatabase } from "./db.ts";
import { type InstantStack, startInstantStack } from "./instant_stack.ts";
import { enqueueBacklog, waitQueueEmpty } from "./backlog.ts";
import { startCpuSplit } from "./cpu_groups.ts";
import { envNumbers } from "./env_numbers.ts";
import { ensureK6 } from "./install_k6.ts";
import { startK6 } from "./k6_run.ts";
import { type CpuUsage, describeMachine, machineInfo } from "./machine.ts";
import { resultsRoot, timestamp } from "./paths.ts";

const allParts = ["ack", "max", "drain", "summary"] as const;
type Part = typeof allParts[number];
const parts: Part[] = Deno.args.length ? Deno.args as Part[] : [...allParts];
for (const p of parts) {
  if (!allParts.includes(p)) throw new Error(`unknown part "${p}"; use ${allParts.join(", ")}`);
}

const env = (name: string, fallback: string) => Deno.env.get(name) || fallback;
const synchronousCommit = Deno.env.get("SYNCHRONOUS_COMMIT") || undefined;

const machine = machineInfo();
const startedAt = new Date();
const results: Record<string, unknown> = {
  date: startedAt.toISOString(),
  machine,
  apiSynchronousCommit: synchronousCommit ?? "off (the service's default)",
  parts,
};
const tmpDir = join(resultsRoot, `.tmp-${timestamp(startedAt)}`);
mkdirSync(tmpDir, { recursive: true });
const log = (msg: string) => console.error(`[bench:queue] ${msg}`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serverSettings(sql: Sql): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (
    const name of ["synchronous_commit", "shared_buffers", "wal_writer_delay", "server_version"]
  ) {
    const [row] = await sql.unsafe(`show ${name}`);
    out[name] = String(Object.values(row)[0]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parts that need the whole stack: ack, max, drain.

interface K6Figures {
  target?: number;
  vus?: number;
  ok: number;
  failed: number;
  errorPct: number;
  achievedPerSec: number;
  droppedIterations: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The machine during the step: steal or other users' load explain outliers. */
  cpu: CpuUsage;
  /** Cores used during the step, by whom ("others": the rest of the machine). */
  cores: Record<string, number>;
}

async function runIngest(
  k6: string,
  stack: Stack,
  label: string,
  scriptEnv: Record<string, string>,
): Promise<K6Figures> {
  const path = join(tmpDir, `${label}.json`);
  const run = startK6({
    k6,
    script: "ingest.js",
    quiet: true,
    scriptEnv: { TARGET_URL: stack.url, SUMMARY_PATH: path, ...scriptEnv },
  });
  const stopAccounting = startCpuSplit(stack, run.pid);
  const code = await run.done;
  const { cpu, cores } = stopAccounting();
  if (code !== 0) throw new Error(`k6 (${label}) exited with ${code}`);
  const data = JSON.parse(readFileSync(path, "utf8"));
  const m = data.metrics;
  const d = m["http_req_duration{expected_response:true}"]?.values ?? {};
  const okCount = m.payments_success?.values.count ?? 0;
  const failed = m.payments_failure?.values.count ?? 0;
  const seconds = data.state.testRunDurationMs / 1000;
  return {
    ok: okCount,
    failed,
    errorPct: round((100 * failed) / Math.max(1, okCount + failed), 3),
    achievedPerSec: round(okCount / seconds, 0),
    droppedIterations: m.dropped_iterations?.values.count ?? 0,
    p50: round(d.med ?? NaN),
    p90: round(d["p(90)"] ?? NaN),
    p99: round(d["p(99)"] ?? NaN),
    max: round(d.max ?? NaN),
    cpu,
    cores,
  };
}

/** The backlog of one step must not slow the next: wait until the dispatchers caught up. */
const waitCaughtUp = (sql: Sql) => waitQueueEmpty(sql, { limitMs: 120_000, pollMs: 100 });

async function ackPart(k6: string, bench: InstantStack, sql: Sql) {
  const rates = envNumbers("ACK_RATES", "500,2000,5000");
  const duration = env("ACK_DURATION", "15s");
  const rows: K6Figures[] = [];
  for (const rate of rates) {
    await bench.purge();
    log(`ack: ${rate} req/s for ${duration}`);
    const fig = await runIngest(k6, bench.stack, `ack-${rate}`, {
      MODE: "rate",
      RATE: String(rate),
      DURATION: duration,
    });
    rows.push({ target: rate, ...fig });
    await waitCaughtUp(sql);
  }
  return { duration, rows };
}

async function maxPart(k6: string, bench: InstantStack, sql: Sql) {
  const vusList = envNumbers("MAX_VUS", "16,64,256");
  const duration = env("MAX_DURATION", "15s");
  const rows: K6Figures[] = [];
  for (const vus of vusList) {
    await bench.purge();
    log(`max: ${vus} users back to back for ${duration}`);
    const fig = await runIngest(k6, bench.stack, `max-${vus}`, {
      MODE: "closed",
      VUS: String(vus),
      DURATION: duration,
    });
    rows.push({ vus, ...fig });
    await waitCaughtUp(sql);
  }
  const good = rows.filter((r) => r.errorPct < 1);
  const best = good.length
    ? good.reduce((a, b) => (b.achievedPerSec > a.achievedPerSec ? b : a))
    : undefined;
  return { duration, rows, maxSustainedPerSec: best?.achievedPerSec ?? null, atVus: best?.vus };
}

async function drainPart(bench: InstantStack, sql: Sql) {
  const n = envNumbers("DRAIN_N", "50000")[0];
  await bench.purge();
  log(`drain: inserting ${n} payments straight into the queue`);
  await enqueueBacklog(sql, n);
  const t0 = performance.now();
  const stopAccounting = startCpuSplit(bench.stack);
  await notifyPending(sql);
  let firstSettledMs: number | undefined;
  while (true) {
    const left = await countQueue(sql);
    if (firstSettledMs === undefined && left < n) firstSettledMs = performance.now() - t0;
    if (left === 0) break;
    if (performance.now() - t0 > 300_000) throw new Error(`drain: ${left} still queued at 300 s`);
    await sleep(50);
  }
  const elapsedMs = performance.now() - t0;
  const { cpu, cores } = stopAccounting();
  const [settled] = await sql<{ n: string; default_n: string }[]>`
    select count(*) as n, count(*) filter (where processor = 1) as default_n
    from processed_payments`;
  return {
    n,
    elapsedMs: round(elapsedMs, 0),
    perSec: round(n / (elapsedMs / 1000), 0),
    firstSettledMs: round(firstSettledMs ?? NaN, 0),
    settled: Number(settled.n),
    settledDefault: Number(settled.default_n),
    cpu,
    cores,
  };
}

async function stackParts(k6: string) {
  log("starting the stack…");
  // A fresh database: payments a previous (interrupted) run left queued would be forwarded as
  // soon as the instances start, landing in the processors' books after their purge. Instant
  // processors: what is measured is our own path, not the simulators' delay.
  const bench = await startInstantStack({
    instances: 2,
    database: "bench_queue",
    apiEnv: synchronousCommit ? { SYNCHRONOUS_COMMIT: synchronousCommit } : {},
  });
  const sql = connect(bench.stack.databaseUrl, { max: 2, applicationName: "bench-queue" });
  try {
    results.postgres = await serverSettings(sql);
    if (parts.includes("ack")) results.ack = await ackPart(k6, bench, sql);
    if (parts.includes("max")) results.max = await maxPart(k6, bench, sql);
    if (parts.includes("drain")) results.drain = await drainPart(bench, sql);
    await bench.purge();
  } finally {
    await sql.end();
    await bench.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// summary: a database of its own, filled with generate_series.

const day = {
  from: new Date("2025-07-15T00:00:00.000Z"),
  to: new Date("2025-07-15T23:59:59.999Z"),
};
const window10s = {
  from: new Date("2025-07-15T12:00:00.000Z"),
  to: new Date("2025-07-15T12:00:10.000Z"),
};

/**
 * Loads `count` more settled payments spread at random over one day, 90 % default, then brings
 * the rollups up to date (sql/006: the job's own statement, over every new row at once). The
 * table's indexes are dropped first and rebuilt after: building a b-tree once is far faster
 * than inserting millions of random UUIDs into it, and the result is the same index.
 */
async function loadRows(sql: Sql, count: number): Promise<{ loadMs: number; rollupMs: number }> {
  const t0 = performance.now();
  const conn = await sql.reserve();
  try {
    await conn`set synchronous_commit = off`;
    await conn`set maintenance_work_mem = '256MB'`;
    // The day's month needs its partition (the service only creates them around now).
    await conn`select ensure_ledger_partitions(${day.from}, 1)`;
    const constraints = await conn<{ name: string; def: string }[]>`
      select conname as name, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = 'processed_payments'::regclass and contype in ('p', 'u')`;
    const indexes = await conn<{ name: string; def: string }[]>`
      select indexname as name, indexdef as def from pg_indexes
      where tablename = 'processed_payments'
        and indexname not in (select conname from pg_constraint
                              where conrelid = 'processed_payments'::regclass)`;
    for (const c of constraints) {
      await conn.unsafe(`alter table processed_payments drop constraint ${c.name}`);
    }
    for (const i of indexes) await conn.unsafe(`drop index ${i.name}`);
    const chunk = 1_000_000;
    for (let done = 0; done < count; done += chunk) {
      const k = Math.min(chunk, count - done);
      // Milliseconds, as the service stores them (the instant it sent as requestedAt).
      await conn`
        insert into processed_payments (correlation_id, processor, amount_cents, requested_at)
        select gen_random_uuid(),
               case when random() < 0.9 then 1 else 2 end,
               1990,
               date_trunc('milliseconds', ${day.from}::timestamptz + random() * interval '1 day')
        from generate_series(1, ${k}::int)`;
    }
    for (const c of constraints) {
      await conn.unsafe(`alter table processed_payments add constraint ${c.name} ${c.def}`);
    }
    // A partitioned table's index definition reads "ON ONLY", which would build the parent's
    // index alone (and leave it invalid); without ONLY it is built on every partition too.
    for (const i of indexes) await conn.unsafe(i.def.replace(" ON ONLY ", " ON "));
  } finally {
    conn.release();
  }
  const t1 = performance.now();
  const rolled = await rollUpSettled(sql);
  if (rolled !== count) throw new Error(`rolled up ${rolled} rows, expected ${count}`);
  const rollupMs = performance.now() - t1;
  // Marks pages all-visible (index-only scans of the edges) and refreshes the statistics.
  await sql`vacuum analyze processed_payments`;
  await sql`vacuum analyze payment_rollups`;
  return { loadMs: performance.now() - t0 - rollupMs, rollupMs };
}

async function timeIt(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: plan cache, buffer cache
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

type Range = { from?: Date; to?: Date };
const ranges: Record<"full" | "day" | "window10s", Range> = {
  full: {},
  day,
  window10s,
};

interface SummaryRow {
  rows: number;
  loadSeconds: number;
  rollupSeconds: number;
  tableMiB: number;
  indexMiB: number;
  rollupRows: number;
  /** Median ms per range: store = summarize(), api = GET through one instance. */
  ms: Record<keyof typeof ranges, { store: number; api: number }>;
}

async function summaryPart() {
  const sizes = envNumbers("SUMMARY_SIZES", "100000,1000000,10000000").sort((a, b) => a - b);
  const runs = envNumbers("SUMMARY_RUNS", "7")[0];
  // Rebuilt from scratch each time: the row counts below assume an empty ledger.
  const db = await benchDatabase("bench_summary", true);
  const sql = connect(db.url, { max: 2, applicationName: "bench-summary" });
  let api: ReturnType<typeof spawnChild> | undefined;
  const rows: SummaryRow[] = [];
  try {
    await migrate(sql);
    results.postgres ??= await serverSettings(sql);

    // One real API instance on this database, to time the endpoint as a client sees it.
    const apiPort = 9101;
    // Fail clearly rather than time another program's server on the same port.
    Deno.listen({ hostname: "127.0.0.1", port: apiPort }).close();
    api = spawnChild({
      name: "bench-summary-api",
      cmd: Deno.execPath(),
      args: ["run", "-A", `--v8-flags=${apiV8Flags}`, join(projectRoot, "main.ts")],
      env: {
        DATABASE_URL: db.url,
        PORT: String(apiPort),
        HOSTNAME: "127.0.0.1",
        INSTANCE_ID: "bench-summary",
        // Nothing listens there: this instance never has payments to forward.
        PROCESSOR_DEFAULT_URL: "http://127.0.0.1:9",
        PROCESSOR_FALLBACK_URL: "http://127.0.0.1:9",
        LOG_LEVEL: "error",
        // The bench rolls its loads up itself and checks the count: the instance must not.
        ROLLUP_INTERVAL_MS: "3600000",
      },
      echo: false,
    });
    await waitForHttp(`http://127.0.0.1:${apiPort}/health`);
    const viaApi = async (range: Range) => {
      const q = new URLSearchParams();
      if (range.from) q.set("from", range.from.toISOString());
      if (range.to) q.set("to", range.to.toISOString());
      const res = await fetch(`http://127.0.0.1:${apiPort}/payments-summary?${q}`);
      if (!res.ok) throw new Error(`summary via API: HTTP ${res.status}`);
      return await res.json();
    };

    let loaded = 0;
    for (const size of sizes) {
      log(`summary: loading to ${size.toLocaleString("en-US")} rows…`);
      const { loadMs, rollupMs } = await loadRows(sql, size - loaded);
      loaded = size;
      const [sizes_] = await sql<{ table_mb: string; index_mb: string; rollups: string }[]>`
        select round(sum(pg_table_size(relid)) / 1048576.0, 1) as table_mb,
               round(sum(pg_indexes_size(relid)) / 1048576.0, 1) as index_mb,
               (select count(*) from payment_rollups)::text as rollups
        from pg_partition_tree('processed_payments')`;
      const ms = {} as SummaryRow["ms"];
      for (const [name, range] of Object.entries(ranges) as [keyof typeof ranges, Range][]) {
        const store = await timeIt(runs, () => summarize(sql, range.from, range.to));
        const api = await timeIt(runs, () => viaApi(range));
        ms[name] = { store: round(median(store)), api: round(median(api)) };
      }
      // Exact: the whole load lies in the day, and a plain count agrees with the full range.
      for (const range of [ranges.full, ranges.day]) {
        const totals = await summarize(sql, range.from, range.to);
        const count = [...totals.values()].reduce((a, t) => a + t.totalRequests, 0n);
        if (count !== BigInt(size)) throw new Error(`expected ${size} rows in range, got ${count}`);
      }
      const row: SummaryRow = {
        rows: size,
        loadSeconds: round(loadMs / 1000, 1),
        rollupSeconds: round(rollupMs / 1000, 1),
        tableMiB: Number(sizes_.table_mb),
        indexMiB: Number(sizes_.index_mb),
        rollupRows: Number(sizes_.rollups),
        ms,
      };
      log(`summary: ${JSON.stringify(row)}`);
      rows.push(row);
    }
  } finally {
    await api?.stop();
    await sql.end();
    await db.close({ drop: Deno.env.get("KEEP_BENCH_DB") !== "1" });
  }
  return { runs, statistic: "median", rows };
}

// ---------------------------------------------------------------------------------------------

try {
  if (parts.some((p) => p !== "summary")) await stackParts(await ensureK6());
  if (parts.includes("summary")) results.summary = await summaryPart();
} finally {
  rmSync(tmpDir, { recursive: true, force: true });
}

const out = join(resultsRoot, `queue-${timestamp(startedAt)}.json`);
writeFileSync(out, JSON.stringify(results, null, 2));

// The figures, readably.
const lines = [
  "",
  `queue benchmarks — ${describeMachine(machine)}`,
  `API SYNCHRONOUS_COMMIT ${results.apiSynchronousCommit}; Postgres ${
    JSON.stringify(results.postgres)
  }`,
];
const fmtRow = (label: string, f: K6Figures) => {
  const cols = [
    label.padEnd(14),
    `ok/s ${String(f.achievedPerSec).padStart(5)}`,
    `err ${String(f.errorPct).padStart(5)} %`,
    `dropped ${String(f.droppedIterations).padStart(6)}`,
    `p50 ${f.p50} p90 ${f.p90} p99 ${f.p99} max ${f.max} ms`,
  ];
  return `  ${cols.join("  ")}\n${" ".repeat(18)}${describeCores(f.cpu, f.cores)}`;
};
const describeCores = (cpu: CpuUsage, cores: Record<string, number>) =>
  `CPU cores: ${
    Object.entries(cores).map(([k, v]) => `${k} ${v}`).join(", ")
  } (machine ${cpu.busyPct} % busy, steal ${cpu.stealPct} %)`;
if (results.ack) {
  const a = results.ack as { duration: string; rows: K6Figures[] };
  lines.push(`ack latency (open model, ${a.duration} per rate, through HAProxy):`);
  for (const r of a.rows) lines.push(fmtRow(`${r.target} req/s`, r));
}
if (results.max) {
  const m = results.max as Awaited<ReturnType<typeof maxPart>>;
  lines.push(`max ingest (closed loop, ${m.duration} per step):`);
  for (const r of m.rows) lines.push(fmtRow(`${r.vus} users`, r));
  lines.push(
    `  → max sustained with < 1 % errors: ${m.maxSustainedPerSec} req/s (${m.atVus} users)`,
  );
}
if (results.drain) {
  const d = results.drain as Awaited<ReturnType<typeof drainPart>>;
  lines.push(
    `drain: ${d.n} queued → empty in ${d.elapsedMs} ms = ${d.perSec} payments/s ` +
      `(first settled after ${d.firstSettledMs} ms; ${d.settled} settled, ${d.settledDefault} default)`,
    `  ${describeCores(d.cpu, d.cores)}`,
  );
}
if (results.summary) {
  const s = results.summary as Awaited<ReturnType<typeof summaryPart>>;
  lines.push(
    `summary latency (median of ${s.runs}; store = summarize(), api = GET via one instance):`,
  );
  for (const r of s.rows) {
    const t = (k: keyof typeof ranges) => `${r.ms[k].store} / ${r.ms[k].api} ms`;
    lines.push(
      `  ${String(r.rows).padStart(9)} rows: full range ${t("full")}, a day ${t("day")}, ` +
        `10 s ${t("window10s")}; table ${r.tableMiB} MiB + indexes ${r.indexMiB} MiB, ` +
        `${r.rollupRows} rollup rows; load ${r.loadSeconds} s, rollup ${r.rollupSeconds} s`,
    );
  }
}
lines.push(`saved ${out}`);
console.log(lines.join("\n"));
