// The audit every reliability scenario ends with, and the traffic that feeds it.
//
// Audit (auditBooks): after the queue drains,
//   - every payment the service acknowledged (2xx) is stored, settled, and recorded by exactly
//     one processor — the one our ledger names — with the same amount and requestedAt;
//   - no correlationId is recorded by both processors (GET /payments/{id} on each);
//   - each processor holds exactly the payments our ledger gives it (counts agree, so with the
//     check above their id sets are ours);
//   - every instance's summary equals the processors' admin summaries, over the whole range
//     and over many sub-ranges, including ranges whose ends fall exactly on a payment.
// Payments that got no answer (a crash, a reset, a timeout on our side) are not acknowledged:
// they may or may not exist, and if they exist they must obey the same rules.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "../../src/db/connect.ts";
import { type LocalPostgres, startLocalPostgres } from "../../tools/local/embedded_postgres.ts";
import { type Child, spawnChild, waitForHttp } from "../../tools/local/processes.ts";
import { dataDir, projectRoot } from "../../tools/local/project_paths.ts";
import { ensurePostgresBinDir } from "../../tools/local/system_packages.ts";
import { apiV8Flags } from "../../src/v8_flags.ts";
import { formatCents } from "../../src/money.ts";
import type { Simulator } from "../../tools/simulator/server.ts";
import { createTestDatabase } from "./db.ts";
import {
  freePort,
  type Processors,
  processorSummary,
  serviceSummary,
  startProcessors,
  token,
  type Totals,
} from "./stack.ts";

// ─── Databases and instances ────────────────────────────────────────────────────────────────

/** A fresh, migrated database on the server `serverUrl` names; `drop()` removes it. */
export function createDatabaseOn(serverUrl: string, label: string) {
  return createTestDatabase(label, serverUrl);
}

/**
 * Starts (or restarts) a named local cluster, trying again (for up to a minute) while its
 * port is taken ("could not bind … Address already in use"): the derived port lies outside
 * Linux's ephemeral range, but another program may still hold it.
 */
export async function startCluster(name: string): Promise<LocalPostgres> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startLocalPostgres({ name });
    } catch (err) {
      if (attempt >= 120) throw err;
      await sleep(500);
    }
  }
}

/**
 * Crashes a named local cluster: `pg_ctl stop -m immediate`, the server's own crash (no
 * checkpoint, WAL buffers not yet written are gone; recovery replays the WAL at the next start).
 * Returns false when the cluster folder is not where this helper expects it.
 */
export async function crashCluster(name: string): Promise<boolean> {
  const pgData = join(dataDir, name, "data");
  if (!existsSync(join(pgData, "PG_VERSION"))) return false;
  const bin = await ensurePostgresBinDir();
  const args = ["-D", pgData, "-m", "immediate", "-w", "stop"];
  const [file, argv] = Deno.uid() === 0
    ? ["runuser", ["-u", "postgres", "--", `${bin}/pg_ctl`, ...args]]
    : [`${bin}/pg_ctl`, args];
  const out = await new Deno.Command(file, { args: argv, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`pg_ctl immediate stop: ${new TextDecoder().decode(out.stderr)}`);
  }
  return true;
}

export async function restartCluster(pg: LocalPostgres): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await pg.start();
    } catch (err) {
      if (attempt >= 120) throw err;
      await sleep(500);
    }
  }
}

export interface InstanceProcess {
  child: Child;
  url: string;
  env: Record<string, string>;
}

/**
 * A real API instance process (main.ts), on a port of its own, ready when this resolves.
 * `deployedFlags`: run with the V8 flags of `deno task start` (src/v8_flags.ts) so memory
 * behaves as deployed.
 */
export async function spawnInstance(
  env: Record<string, string>,
  deployedFlags = false,
): Promise<InstanceProcess> {
  const port = env.PORT && env.PORT !== "0" ? env.PORT : String(freePort());
  const full = { ...env, PORT: port };
  const flags = deployedFlags ? [`--v8-flags=${apiV8Flags}`] : [];
  const child = spawnChild({
    name: `${env.INSTANCE_ID ?? "api"}-${port}`,
    cmd: Deno.execPath(),
    args: ["run", "-A", ...flags, join(projectRoot, "main.ts")],
    env: full,
    echo: Deno.env.get("RELIABILITY_ECHO") === "1",
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health`, 30_000);
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    throw err;
  }
  return { child, url, env: full };
}

/** kill -9, and wait until the process is gone. */
export async function killHard(instance: InstanceProcess): Promise<void> {
  instance.child.kill("SIGKILL");
  await instance.child.status;
}

// ─── Processors with fault switches ─────────────────────────────────────────────────────────

/** Both simulators with their test-only fault switches (tools/simulator/faults.ts) enabled. */
export function startHostileProcessors(): Promise<Processors> {
  return startProcessors(true);
}

export interface FaultSetting {
  fault: "none" | "reset" | "drop" | "garbage" | "busy" | "error" | "refuse";
  every?: number;
  count?: number;
  durationMs?: number;
}

export async function setFault(sim: Simulator, setting: FaultSetting): Promise<void> {
  const res = await fetch(`${sim.url}/admin/configurations/fault`, {
    method: "PUT",
    headers: { "x-rinha-token": token, "content-type": "application/json" },
    body: JSON.stringify(setting),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `fault ${JSON.stringify(setting)} → ${res.status} ${text}`);
}

/** The fault state; `affected` tells how many payment calls the fault actually hit. */
export async function faultState(
  sim: Simulator,
): Promise<{ fault: string; affected: number; remaining: number | null }> {
  const res = await fetch(`${sim.url}/admin/configurations/fault`, {
    headers: { "x-rinha-token": token },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

// ─── Traffic ────────────────────────────────────────────────────────────────────────────────

export type Answer = number | "network" | "timeout";

/**
 * Every payment the test sent and what it got back. Only 2xx answers are acknowledged; a
 * network error or a timeout means "unknown" to the client.
 */
export class PaymentLog {
  readonly acknowledged = new Map<string, bigint>();
  readonly answers = new Map<Answer, number>();
  /** Time to answer of every request, in ms. */
  readonly durations: number[] = [];
  /** Every payment sent whatever its answer: id → answer and when it was sent (epoch ms). */
  readonly all = new Map<string, { answer: Answer; sentAt: number }>();
  sent = 0;

  record(id: string, cents: bigint, answer: Answer, ms = 0): void {
    this.sent++;
    this.durations.push(ms);
    this.all.set(id, { answer, sentAt: Date.now() - ms });
    this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
    if (typeof answer === "number" && answer >= 200 && answer < 300) {
      this.acknowledged.set(id, cents);
    }
  }

  count(answer: Answer): number {
    return this.answers.get(answer) ?? 0;
  }

  /** e.g. "202×1200 503×31 network×4" */
  describe(): string {
    return [...this.answers].sort(([a], [b]) => String(a).localeCompare(String(b)))
      .map(([a, n]) => `${a}×${n}`).join(" ");
  }
}

/** A random amount with at most two decimals, as cents: 0.01 to 1,000.00. */
export function randomCents(): bigint {
  return BigInt(1 + Math.floor(Math.random() * 100_000));
}

/** One POST /payments; never throws. The timeout is a hang guard (the answer is "timeout"). */
export async function sendPayment(
  baseUrl: string,
  log: PaymentLog,
  id = crypto.randomUUID(),
  cents = randomCents(),
  timeoutMs = 15_000,
): Promise<Answer> {
  let answer: Answer;
  const t0 = performance.now();
  try {
    const res = await fetch(`${baseUrl}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"correlationId":"${id}","amount":${formatCents(cents)}}`,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    answer = res.status;
  } catch (err) {
    answer = (err as Error)?.name === "TimeoutError" ? "timeout" : "network";
  }
  log.record(id, cents, answer, performance.now() - t0);
  return answer;
}

export interface SteadyLoad {
  log: PaymentLog;
  /** Stops sending and waits for every request in flight. */
  stop(): Promise<void>;
}

/**
 * Posts `perSecond` payments per second, spread over the instances `targets()` returns at the
 * moment (round robin), until stopped. At most `maxInFlight` requests are outstanding; beyond
 * that a tick's sends are skipped (and counted as skipped), so a stalled service cannot make
 * the test itself run out of memory or sockets.
 */
export function steadyLoad(
  targets: () => string[],
  perSecond: number,
  options: { log?: PaymentLog; maxInFlight?: number; timeoutMs?: number } = {},
): SteadyLoad & { skipped: () => number } {
  const log = options.log ?? new PaymentLog();
  const maxInFlight = options.maxInFlight ?? 2_000;
  const tickMs = 10;
  const inFlight = new Set<Promise<unknown>>();
  let skipped = 0;
  let next = 0;
  let owed = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    owed += (now - last) * perSecond / 1000;
    last = now;
    const urls = targets();
    while (owed >= 1) {
      owed -= 1;
      if (urls.length === 0 || inFlight.size >= maxInFlight) {
        skipped++;
        continue;
      }
      const p = sendPayment(
        urls[next++ % urls.length],
        log,
        undefined,
        undefined,
        options.timeoutMs,
      )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }, tickMs);
  return {
    log,
    skipped: () => skipped,
    async stop() {
      clearInterval(timer);
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}

/** Seconds each chaos scenario runs (CHAOS_SECONDS, default 60); CI may pass a short one. */
export function chaosSeconds(fallback = 60): number {
  const raw = Deno.env.get("CHAOS_SECONDS");
  const n = raw ? Number(raw) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`CHAOS_SECONDS must be > 0, got ${raw}`);
  return n;
}

/** p50/p99/max of a list of durations in ms, as text. */
export function percentiles(ms: number[]): string {
  if (ms.length === 0) return "no samples";
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${
    sorted[sorted.length - 1].toFixed(1)
  } ms`;
}

// ─── Waiting ────────────────────────────────────────────────────────────────────────────────

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true; the bound is a hang guard, not a speed requirement. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  guardMs = 60_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + guardMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet (e.g. the database is still coming back)
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting (${guardMs} ms) for: ${what}`);
    await sleep(everyMs);
  }
}

/** Status of GET url, or 0 when nothing answered. */
export async function probe(url: string, timeoutMs = 2_000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

/** Resident memory of a process in MB (VmRSS from /proc). */
export function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 102.4) / 10;
}

// ─── The audit ──────────────────────────────────────────────────────────────────────────────

export interface AuditInput {
  /** The database the instances use. */
  sql: Sql;
  /** Instances whose GET /payments-summary must agree (any of them may be asked). */
  serviceUrls: string[];
  processors: Processors;
  /** id → cents of every payment the service acknowledged. */
  acknowledged: Map<string, bigint>;
  /**
   * Every id sent, whatever the answer: those we do not hold must not be at a processor
   * either (a processor holding a payment we lost makes the books disagree for good).
   */
  sent?: Iterable<string>;
  /** Random sub-ranges to compare besides the whole range and the edge ranges. Default 20. */
  ranges?: number;
  /** Hang guard for the queue to drain. Default 120 s. */
  drainGuardMs?: number;
  /**
   * Acknowledged payments missing from the database are counted (report.lost) but do not fail
   * the audit: for SYNCHRONOUS_COMMIT=off, whose acknowledgement does not survive a database
   * crash by design. Everything else is still required.
   */
  lossAllowed?: boolean;
}

export interface AuditReport {
  acknowledged: number;
  /** Rows in `payments`: acknowledged ones plus any stored whose answer was lost. */
  stored: number;
  settled: { default: number; fallback: number };
  /** Acknowledged but not stored, or stored but not settled at a processor. */
  lost: number;
  /** Recorded by both processors. */
  doubled: number;
  /** Settled in our ledger but not found (or different) at the processor it names. */
  mismatched: number;
  /** Sent, unknown to us, yet recorded by a processor. */
  orphans: number;
  rangesCompared: number;
}

interface LedgerRow {
  id: string;
  processor: 1 | 2;
  cents: bigint;
  requestedAt: string;
}

/** Waits (bounded) until nothing is left in the queue; says what is stuck if it gives up. */
export async function waitForEmptyQueue(sql: Sql, guardMs = 120_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  for (;;) {
    try {
      const [r] = await sql`select count(*)::int as n from payment_queue`;
      if (r.n === 0) return;
    } catch {
      // the database may be coming back
    }
    if (Date.now() > deadline) {
      const stuck = await sql`
        select correlation_id, processor, attempts, lease_owner, visible_at
        from payment_queue order by visible_at limit 5`;
      throw new Error(`queue did not drain within ${guardMs} ms; e.g. ${JSON.stringify(stuck)}`);
    }
    await sleep(100);
  }
}

async function lookUp(sim: Simulator, id: string) {
  for (let attempt = 0;; attempt++) {
    try {
      const res = await fetch(`${sim.url}/payments/${id}`);
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      assert.equal(res.status, 200);
      return await res.json() as { amount: number; requestedAt: string };
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(50);
    }
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function totalsOf(rows: LedgerRow[], processor: 1 | 2): Totals {
  const mine = rows.filter((r) => r.processor === processor);
  const cents = mine.reduce((sum, r) => sum + r.cents, 0n);
  return { totalRequests: mine.length, totalAmount: Number(formatCents(cents)) };
}

/** The audit. Asserts; returns the figures for the results table. */
export async function auditBooks(input: AuditInput): Promise<AuditReport> {
  const { sql, processors } = input;
  await waitForEmptyQueue(sql, input.drainGuardMs);

  const stored = new Map(
    (await sql<{ id: string; cents: string }[]>`
      select correlation_id as id, amount_cents as cents from payments`)
      .map((r) => [r.id, BigInt(r.cents)]),
  );
  const ledger: LedgerRow[] = (await sql<
    { id: string; processor: 1 | 2; cents: string; requested_at: Date }[]
  >`select correlation_id as id, processor, amount_cents as cents, requested_at
    from processed_payments`).map((r) => ({
    id: r.id,
    processor: r.processor,
    cents: BigInt(r.cents),
    requestedAt: r.requested_at.toISOString(),
  }));
  const settled = new Map(ledger.map((r) => [r.id, r]));
  const problems: string[] = [];
  const note = (problem: string) => {
    if (problems.length < 20) problems.push(problem);
  };

  // Nothing acknowledged is missing; amounts are what the client sent.
  let lost = 0;
  for (const [id, cents] of input.acknowledged) {
    if (!stored.has(id)) {
      lost++;
      if (!input.lossAllowed) note(`acknowledged ${id} is not stored`);
    } else if (stored.get(id) !== cents) {
      note(`${id} stored with ${stored.get(id)} cents, sent ${cents}`);
    }
  }
  for (const id of stored.keys()) {
    if (!settled.has(id)) {
      lost++;
      note(`stored ${id} was never settled`);
    }
  }
  // What the dropped foreign keys used to guard (sql/002): every ledger row has its payment,
  // with the same amount (queue rows are checked by waitForEmptyQueue: there are none left).
  for (const row of ledger) {
    if (!stored.has(row.id)) note(`settled ${row.id} has no payment row`);
    else if (stored.get(row.id) !== row.cents) {
      note(`settled ${row.id} with ${row.cents} cents, stored ${stored.get(row.id)}`);
    }
  }

  // Each settled payment is at the processor we name, identical, and not at the other one.
  let doubled = 0;
  let mismatched = 0;
  const sims = { 1: processors.default, 2: processors.fallback } as const;
  await forEachLimited(ledger, 32, async (row) => {
    const [atDefault, atFallback] = await Promise.all([
      lookUp(processors.default, row.id),
      lookUp(processors.fallback, row.id),
    ]);
    if (atDefault && atFallback) {
      doubled++;
      note(`${row.id} is recorded by both processors`);
    }
    const there = row.processor === 1 ? atDefault : atFallback;
    if (
      !there || there.requestedAt !== row.requestedAt ||
      there.amount !== Number(formatCents(row.cents))
    ) {
      mismatched++;
      note(
        `${row.id}: ours ${JSON.stringify({ ...row, cents: String(row.cents) })}, ${
          sims[row.processor].url
        } has ${JSON.stringify(there)}`,
      );
    }
  });

  // Payments sent but not held by us must not be held by a processor either.
  let orphans = 0;
  const unknownToUs = [...(input.sent ?? [])].filter((id) => !stored.has(id));
  await forEachLimited(unknownToUs, 32, async (id) => {
    const found = await Promise.all([
      lookUp(processors.default, id),
      lookUp(processors.fallback, id),
    ]);
    if (found[0] || found[1]) {
      orphans++;
      note(`${id} is recorded by a processor but unknown to us: ${JSON.stringify(found)}`);
    }
  });

  // Each processor holds exactly our payments for it: with the lookups above, equal counts
  // make the id sets equal. Then every instance's summary must match, whole and in parts.
  const whole = { default: totalsOf(ledger, 1), fallback: totalsOf(ledger, 2) };
  const theirs = {
    default: await processorSummary(processors.default),
    fallback: await processorSummary(processors.fallback),
  };
  if (JSON.stringify(theirs) !== JSON.stringify(whole)) {
    note(`processors' books ${JSON.stringify(theirs)} ≠ our ledger ${JSON.stringify(whole)}`);
  }
  const ranges = subRanges(ledger, input.ranges ?? 20);
  for (const [i, url] of input.serviceUrls.entries()) {
    const ours = await serviceSummary(url);
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      note(`${url} summary ${JSON.stringify(ours)} ≠ processors ${JSON.stringify(theirs)}`);
    }
    // Sub-ranges are spread over the instances; every instance answers a share of them.
    for (const [j, [from, to]] of ranges.entries()) {
      if (j % input.serviceUrls.length !== i) continue;
      const mine = await serviceSummary(url, from, to);
      const books = {
        default: await processorSummary(processors.default, from, to),
        fallback: await processorSummary(processors.fallback, from, to),
      };
      if (JSON.stringify(mine) !== JSON.stringify(books)) {
        note(`[${from}, ${to}] at ${url}: ${JSON.stringify(mine)} ≠ ${JSON.stringify(books)}`);
      }
    }
  }

  const report: AuditReport = {
    acknowledged: input.acknowledged.size,
    stored: stored.size,
    settled: { default: whole.default.totalRequests, fallback: whole.fallback.totalRequests },
    lost,
    doubled,
    mismatched,
    orphans,
    rangesCompared: ranges.length,
  };
  assert.deepEqual(problems, [], `audit failed: ${JSON.stringify(report)}`);
  return report;
}

/** Ranges for the summary comparison: random ones, and ones ending exactly on payments. */
function subRanges(ledger: LedgerRow[], random: number): [string, string][] {
  if (ledger.length === 0) return [["2025-01-01T00:00:00.000Z", "2100-01-01T00:00:00.000Z"]];
  const times = ledger.map((r) => Date.parse(r.requestedAt)).sort((a, b) => a - b);
  const [first, last] = [times[0], times[times.length - 1]];
  const pick = () => times[Math.floor(Math.random() * times.length)];
  const iso = (ms: number) => new Date(ms).toISOString();
  const out: [string, string][] = [[iso(first), iso(last)], [iso(first + 1), iso(last - 1)]];
  for (let i = 0; i < random; i++) {
    const a = first - 1000 + Math.random() * (last - first + 2000);
    const b = a + Math.random() * (last + 1000 - a);
    out.push([iso(Math.floor(a)), iso(Math.ceil(b))]);
  }
  // Inclusive ends: a range that starts or ends exactly on a payment must count it.
  for (let i = 0; i < 6; i++) {
    const [a, b] = [pick(), pick()].sort((x, y) => x - y);
    out.push([iso(a), iso(b)], [iso(a + 1), iso(b - 1)], [iso(a), iso(a)]);
  }
  return out.filter(([a, b]) => a <= b);
}

/** A line for RELIABILITY.md and the test output. */
export function describeReport(scenario: string, report: AuditReport, extra = ""): string {
  return `[reliability] ${scenario}: acknowledged ${report.acknowledged}, stored ${report.stored}, ` +
    `settled ${report.settled.default}+${report.settled.fallback}, lost ${report.lost}, ` +
    `doubled ${report.doubled}, mismatched ${report.mismatched}, orphans ${report.orphans}, ` +
    `${report.rangesCompared} ranges${extra ? `; ${extra}` : ""}`;
}
