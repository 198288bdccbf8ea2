// The settled ledger's monthly partitions and the operator's retention step (sql/005, sql/006):
// months are created ahead and never over rows the default partition holds, and detaching a
// month takes it out of every summary at once, rolled up or not, while its table keeps its rows.
import assert from "node:assert/strict";
import { rollUpSettled } from "../src/payments/summary_rollups.ts";
import { summarize } from "../src/payments/summary_store.ts";
import { ensureLedgerPartitions } from "../src/payments/ledger_partitions.ts";
import type { TestDatabase } from "./support/db.ts";
import { openTestDatabase } from "./support/db.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;
const test = suite("ledger retention", async (defer) => {
  db = await openTestDatabase(defer, "ledger_retention");
});

async function settle(at: string, processor: 1 | 2, cents: number) {
  await db.sql`
    insert into processed_payments (correlation_id, processor, amount_cents, requested_at)
    values (gen_random_uuid(), ${processor}, ${cents}, ${at})`;
}

async function partitionOf(at: string): Promise<string> {
  const [row] = await db.sql<{ name: string }[]>`
    select tableoid::regclass::text as name from processed_payments where requested_at = ${at}`;
  return row.name;
}

const totals = async (from?: string, to?: string) =>
  Object.fromEntries(
    [...await summarize(db.sql, from ? new Date(from) : undefined, to ? new Date(to) : undefined)]
      .map(([p, t]) => [p, `${t.totalRequests}/${t.totalCents}`]),
  );

test("months are created ahead, once, and never over rows the default partition holds", async () => {
  // The service's call (the previous month through two ahead) creates what is missing, once.
  await ensureLedgerPartitions(db.sql, 2);
  assert.equal(await ensureLedgerPartitions(db.sql, 2), 0);
  const [{ created }] = await db.sql<{ created: number }[]>`
    select ensure_ledger_partitions('2024-01-15T12:00:00Z', 3) as created`;
  assert.equal(created, 3);
  const [{ again }] = await db.sql<{ again: number }[]>`
    select ensure_ledger_partitions('2024-01-01T00:00:00Z', 3) as again`;
  assert.equal(again, 0);
  // UTC month bounds: the last millisecond of January is in January, the next one is not.
  await settle("2024-01-31T23:59:59.999Z", 1, 100);
  await settle("2024-02-01T00:00:00.000Z", 1, 200);
  assert.equal(await partitionOf("2024-01-31T23:59:59.999Z"), "processed_payments_2024_01");
  assert.equal(await partitionOf("2024-02-01T00:00:00.000Z"), "processed_payments_2024_02");
  // A month without a partition lands in the default; that month is then left alone.
  await settle("2023-12-24T18:00:00Z", 2, 300);
  assert.equal(await partitionOf("2023-12-24T18:00:00Z"), "processed_payments_default");
  const [{ skipped }] = await db.sql<{ skipped: number }[]>`
    select ensure_ledger_partitions('2023-12-01T00:00:00Z', 1) as skipped`;
  assert.equal(skipped, 0);
  assert.equal(await partitionOf("2023-12-24T18:00:00Z"), "processed_payments_default");
});

test("detaching a month removes it from every summary, rolled up or not, and keeps its rows", async () => {
  await settle("2024-01-10T10:00:00.500Z", 2, 1_000);
  await rollUpSettled(db.sql);
  // Settled after the last run: above the watermark, read raw.
  await settle("2024-01-20T10:00:00Z", 1, 10_000);
  assert.deepEqual(await totals("2024-01-01T00:00:00Z", "2024-01-31T23:59:59.999Z"), {
    1: "2/10100",
    2: "1/1000",
  });
  const [{ name }] = await db.sql<{ name: string }[]>`
    select detach_ledger_month('2024-01-15T00:00:00Z') as name`;
  assert.equal(name, "processed_payments_2024_01");
  assert.deepEqual(await totals("2024-01-01T00:00:00Z", "2024-01-31T23:59:59.999Z"), {});
  assert.deepEqual(await totals(), { 1: "1/200", 2: "1/300" });
  await rollUpSettled(db.sql);
  assert.deepEqual(await totals(), { 1: "1/200", 2: "1/300" });
  const [kept] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from processed_payments_2024_01`;
  assert.equal(kept.n, 3);
  await assert.rejects(
    db.sql`select detach_ledger_month('2024-01-15T00:00:00Z')`,
    /no attached partition processed_payments_2024_01/,
  );
});
