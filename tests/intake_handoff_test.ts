// The intake's hand-off to the worker, in-process against a real Postgres: new payments the
// worker reserved slots for are inserted already leased (the state a claim leaves), handed
// over only once their commit is durable, and every slot comes back whatever happens.
import assert from "node:assert/strict";
import { connect, type Sql } from "../src/db/connect.ts";
import { type HandOffTarget, Intake } from "../src/payments/intake.ts";
import {
  awaitDurable,
  type InsertClaim,
  insertPayments,
  type NewPayment,
} from "../src/payments/store.ts";
import { createTestDatabase } from "./support/db.ts";

const requestedAt = new Date("2026-12-02T05:00:00.123Z");
const claim: InsertClaim = { owner: "api-test", target: 1, requestedAt, leaseMs: 60_000 };

/** A worker that grants up to `budget` slots in all, and records what it is handed. */
class FakeWorker implements HandOffTarget {
  reserved: number[] = [];
  handed: { slots: number; ids: string[] }[] = [];
  #waiters: { calls: number; resolve: () => void }[] = [];

  constructor(private budget: number) {}

  reserve(wanted: number) {
    const slots = Math.min(wanted, this.budget);
    this.reserved.push(wanted);
    if (slots < 1) return undefined;
    this.budget -= slots;
    return { slots, claim };
  }

  handOff(reservation: { slots: number }, rows: NewPayment[]) {
    this.budget += reservation.slots - rows.length;
    this.handed.push({ slots: reservation.slots, ids: rows.map((r) => r.correlationId) });
    for (const w of this.#waiters.filter((w) => this.handed.length >= w.calls)) w.resolve();
  }

  /** Resolves once handOff has been called `calls` times in all. */
  handedOff(calls: number): Promise<void> {
    if (this.handed.length >= calls) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ calls, resolve }));
  }
}

async function queueRow(sql: Sql, id: string) {
  const [row] = await sql<
    {
      claim_seq: number;
      lease_owner: string | null;
      processor: number | null;
      requested_at: Date | null;
      leased: boolean;
    }[]
  >`select claim_seq, lease_owner, processor, requested_at, visible_at > now() + interval '30 s' as leased
    from payment_queue where correlation_id = ${id}`;
  return row;
}

function payment(amountCents = 1990n): NewPayment {
  return { correlationId: crypto.randomUUID(), amountCents };
}

async function withIntake(
  budget: number,
  fn: (ctx: { intake: Intake; worker: FakeWorker; sql: Sql; enqueued: () => number }) => Promise<
    void
  >,
) {
  const db = await createTestDatabase("handoff");
  // As in the service with SYNCHRONOUS_COMMIT=off: acknowledging inserts on an "off" pool, the
  // durability wait on a pool of its own whose sessions are "on".
  const sql = connect(db.url, { max: 2, synchronousCommit: "off" });
  const durableSql = connect(db.url, { max: 1, synchronousCommit: "on" });
  const worker = new FakeWorker(budget);
  let enqueued = 0;
  const intake = new Intake({ sql, durableSql, worker, onEnqueued: () => enqueued++ });
  try {
    await fn({ intake, worker, sql, enqueued: () => enqueued });
    await intake.drained();
  } finally {
    await sql.end({ timeout: 5 });
    await durableSql.end({ timeout: 5 });
    await db.drop();
  }
}

Deno.test("hand-off: reserved payments are stored leased and handed over; the rest wait for a claim", async () => {
  await withIntake(2, async ({ intake, worker, sql, enqueued }) => {
    const [a, b, c] = [payment(), payment(), payment()];
    // The first flushes alone at once; the next two go together in the second flush, which
    // gets the one slot left.
    const results = await Promise.all([a, b, c].map((p) => intake.accept(p)));
    assert.deepEqual(results, ["created", "created", "created"]);
    await worker.handedOff(2);
    assert.deepEqual(worker.reserved, [1, 2]);
    assert.deepEqual(worker.handed, [{ slots: 1, ids: [a.correlationId] }, {
      slots: 1,
      ids: [b.correlationId],
    }]);
    for (const p of [a, b]) {
      assert.deepEqual(await queueRow(sql, p.correlationId), {
        claim_seq: 1,
        lease_owner: "api-test",
        processor: 1,
        requested_at: requestedAt,
        leased: true,
      });
    }
    assert.deepEqual(await queueRow(sql, c.correlationId), {
      claim_seq: 0,
      lease_owner: null,
      processor: null,
      requested_at: null,
      leased: false,
    });
    assert.equal(enqueued(), 1, "only the flush that left a payment unclaimed wakes the claims");
  });
});

Deno.test("hand-off: a repeat uses no slot and is handed nothing", async () => {
  // Two slots: the first payment's stays in use (its call is in flight), the repeat gets the other.
  await withIntake(2, async ({ intake, worker }) => {
    const p = payment();
    assert.equal(await intake.accept(p), "created");
    await worker.handedOff(1);
    assert.equal(await intake.accept(p), "repeat");
    await worker.handedOff(2);
    assert.deepEqual(worker.handed[1], { slots: 1, ids: [] });
    assert.equal(worker.reserve(1)?.slots, 1, "every slot came back");
  });
});

Deno.test("hand-off: a failed insert gives its slots back and stores nothing", async () => {
  await withIntake(5, async ({ intake, worker, sql }) => {
    // amount_cents > 0 is a check constraint: the statement fails as a whole.
    await assert.rejects(intake.accept(payment(0n)), /violates check constraint/);
    assert.deepEqual(worker.handed, [{ slots: 1, ids: [] }]);
    const [{ n }] = await sql<{ n: string }[]>`select count(*) as n from payment_queue`;
    assert.equal(Number(n), 0);
  });
});

Deno.test("hand-off: the durability wait flushes the WAL past every earlier commit", async () => {
  const db = await createTestDatabase("durable");
  const sql = connect(db.url, { max: 1, synchronousCommit: "off" });
  const durableSql = connect(db.url, { max: 1, synchronousCommit: "on" });
  try {
    // Each round: an acknowledging commit that may sit in the WAL buffers, then the wait. A
    // wait that flushes nothing passes only when the WAL writer happens to be quicker, which
    // across 50 rounds it is not (the `pg_current_xact_id()` version failed here).
    let behind = 0;
    for (let i = 0; i < 50; i++) {
      await insertPayments(sql, [payment()]);
      const [{ lsn }] = await sql<{ lsn: string }[]>`select pg_current_wal_insert_lsn() as lsn`;
      await awaitDurable(durableSql);
      const [{ ok }] = await sql<
        { ok: boolean }[]
      >`select pg_current_wal_flush_lsn() >= ${lsn}::pg_lsn as ok`;
      if (!ok) behind++;
    }
    assert.equal(behind, 0, "rounds whose commit was not on disk after the wait");
  } finally {
    await sql.end({ timeout: 5 });
    await durableSql.end({ timeout: 5 });
    await db.drop();
  }
});
