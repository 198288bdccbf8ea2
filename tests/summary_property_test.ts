// Property test of GET /payments-summary's statement (src/payments/summary_store.ts) against a
// plain aggregate over the raw rows. fast-check draws settlements at instants on and beside
// every bucket edge, spread over transactions that commit or roll back in random order while
// the rollup job runs in between (so some rows are rolled up, some are above the watermark,
// some are invisible), and random ranges, including ends that fall exactly on a payment and
// open ends. Every answer must equal the plain aggregate to the cent.
import assert from "node:assert/strict";
import fc from "fast-check";
import type postgres from "postgres";
import { connect, type Sql } from "../src/db/connect.ts";
import { rollUpSettled } from "../src/payments/summary_rollups.ts";
import { purgePayments, summarize } from "../src/payments/summary_store.ts";
import type { TestDatabase } from "./support/db.ts";
import { openTestDatabase } from "./support/db.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;
let sql: Sql;
const test = suite("summary property", async (defer) => {
  db = await openTestDatabase(defer, "summary_property");
  // One connection per open transaction below, and one for everything else.
  sql = connect(db.url, { max: 6, applicationName: "summary-property" });
  defer(() => sql.end({ timeout: 5 }));
});

const day = 86_400_000;
const anchor = Date.UTC(2025, 6, 16);
const offsets = [0, 1, 999, 1_000, 1_001, 59_999, 60_000, 3_599_999, 3_600_000, day - 1, day];
const instant = fc.oneof(
  fc.integer({ min: -2 * day, max: 2 * day }),
  fc.constantFrom(...offsets).chain((k) => fc.constantFrom(k, -k)),
).map((ms) => anchor + ms);

interface Settlement {
  at: number;
  processor: 1 | 2;
  cents: number;
}
const settlement = fc.record({
  at: instant,
  processor: fc.constantFrom(1 as const, 2 as const),
  cents: fc.integer({ min: 1, max: 10_000_000 }),
});

/** A range end: an instant, a settled payment's instant (shifted by -1, 0 or 1 ms), or open. */
type End = number | { row: number; shiftMs: number } | undefined;
type Step =
  | { kind: "open"; rows: Settlement[] }
  | { kind: "end"; which: number; commit: boolean }
  | { kind: "rollUp" }
  | { kind: "check"; from: End; to: End };

const end = fc.option(
  fc.oneof(instant, fc.record({ row: fc.nat(), shiftMs: fc.constantFrom(-1, 0, 0, 1) })),
  { nil: undefined },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("open" as const),
      rows: fc.array(settlement, { minLength: 1, maxLength: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("end" as const),
      which: fc.nat(),
      commit: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("rollUp" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("check" as const), from: end, to: end }) },
);

async function plainTotals(from?: Date, to?: Date) {
  const rows = await sql<{ processor: 1 | 2; n: string; cents: string }[]>`
    select processor, count(*)::text as n, sum(amount_cents)::text as cents
    from processed_payments
    where true ${from ? sql`and requested_at >= ${from}` : sql``}
      ${to ? sql`and requested_at <= ${to}` : sql``}
    group by processor`;
  return Object.fromEntries(rows.map((r) => [r.processor, `${r.n}/${r.cents}`]));
}

async function fastTotals(from?: Date, to?: Date) {
  const totals = await summarize(sql, from, to);
  return Object.fromEntries(
    [...totals].map(([p, t]) => [p, `${t.totalRequests}/${t.totalCents}`]),
  );
}

async function run(steps: Step[]): Promise<void> {
  // Cheaper than the purge's TRUNCATE for a few rows, and the same for the summary.
  await sql`delete from processed_payments`;
  await sql`delete from payment_rollups`;
  const open: postgres.ReservedSql[] = [];
  const instants: number[] = [];
  const resolve = (e: End) => {
    if (e === undefined || typeof e === "number") return e === undefined ? undefined : new Date(e);
    if (!instants.length) return undefined;
    return new Date(instants[e.row % instants.length] + e.shiftMs);
  };
  try {
    for (const s of steps) {
      if (s.kind === "open") {
        if (open.length >= 4) continue;
        const conn = await sql.reserve();
        open.push(conn);
        await conn`begin`;
        for (const r of s.rows) {
          instants.push(r.at);
          await conn`
            insert into processed_payments (correlation_id, processor, amount_cents, requested_at)
            values (gen_random_uuid(), ${r.processor}, ${r.cents}, ${new Date(r.at)})`;
        }
      } else if (s.kind === "end") {
        if (!open.length) continue;
        const [conn] = open.splice(s.which % open.length, 1);
        await (s.commit ? conn`commit` : conn`rollback`);
        conn.release();
      } else if (s.kind === "rollUp") {
        await rollUpSettled(sql);
      } else {
        const from = resolve(s.from);
        const to = resolve(s.to);
        assert.deepEqual(
          await fastTotals(from, to),
          await plainTotals(from, to),
          JSON.stringify({ from, to }),
        );
      }
    }
    // Everything committed and rolled up: the rollups alone must still agree.
    for (const conn of open.splice(0)) {
      await conn`commit`;
      conn.release();
    }
    await rollUpSettled(sql);
    for (const [from, to] of [[undefined, undefined], [anchor - day, anchor + day - 1]]) {
      const f = from === undefined ? undefined : new Date(from);
      const t = to === undefined ? undefined : new Date(to);
      assert.deepEqual(await fastTotals(f, t), await plainTotals(f, t));
    }
  } finally {
    for (const conn of open) {
      await conn`rollback`.catch(() => {});
      conn.release();
    }
  }
}

test("the summary equals a plain aggregate for random ranges, settlement orders and rollup runs", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), run),
    { numRuns: 100 },
  );
});

test("rollup runs at once: one adds the rows, the others skip or find nothing new", async () => {
  await purgePayments(sql);
  await sql`
    insert into processed_payments (correlation_id, processor, amount_cents, requested_at)
    select gen_random_uuid(), 1 + i % 2, i, ${new Date(anchor)}::timestamptz + i * interval '1 ms'
    from generate_series(1, 5000) as i`;
  const runs = await Promise.all([rollUpSettled(sql), rollUpSettled(sql), rollUpSettled(sql)]);
  assert.ok(runs.some((n) => n === 5000), `runs: ${runs}`);
  assert.equal(runs.filter((n) => n).reduce((a, b) => a! + b!, 0), 5000);
  const [state] = await sql<{ n: string }[]>`
    select sum(requests)::text as n from payment_rollups where bucket_seconds = 86400`;
  assert.equal(state.n, "5000");
  assert.deepEqual(await fastTotals(), await plainTotals());
});
