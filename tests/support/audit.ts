// The audit every reliability scenario ends with. The traffic that feeds it is traffic.ts; the
// processes a scenario crashes are instances.ts and clusters.ts; the simulators' fault switches
// are faults.ts.
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
import type { Sql } from "../../src/db/connect.ts";
import { formatCents } from "../../src/money.ts";
import type { Simulator } from "../../tools/simulator/server.ts";
import { type Processors, processorSummary, serviceSummary, type Totals } from "./stack.ts";
import { sleep } from "./wait.ts";

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
