// The queue's lease rules, statement by statement against a real Postgres: a claim pins its
// attempt, a stale claim settles nothing, a take-over resumes the same attempt and marks it
// uncertain; a reschedule after a definitive failure (5xx, 429) releases the attempt unless it
// is uncertain (an earlier call timed out, a holder died, a shutdown let it go), in which case
// it stays pinned (reschedulePayments, sql/009_attempt_uncertain.sql).
import assert from "node:assert/strict";
import type { Sql } from "../src/db/connect.ts";
import { migrate } from "../src/db/migrate.ts";
import {
  claimBatch,
  type ClaimRequest,
  insertPayments,
  releaseLeases,
  type Reschedule,
  reschedulePayments,
  settlePayments,
} from "../src/payments/store.ts";
import { DEFAULT, FALLBACK, type ProcessorId } from "../src/processors/processor_id.ts";
import { createTestDatabase, withTestDatabase } from "./support/db.ts";

const request = (owner: string, over: Partial<ClaimRequest> = {}): ClaimRequest => ({
  owner,
  limit: 10,
  fresh: true,
  target: DEFAULT,
  resumable: [DEFAULT, FALLBACK],
  requestedAt: new Date("2026-12-02T06:00:00.000Z"),
  leaseMs: 60_000,
  ...over,
});

Deno.test("lease rules: pinned attempts, stale claims, take-overs", async () => {
  const db = await createTestDatabase("lease");
  const { sql } = db;
  try {
    const id = crypto.randomUUID();
    await insertPayments(sql, [{ correlationId: id, amountCents: 1990n }]);

    const [first] = await claimBatch(sql, request("a"));
    assert.equal(first.claimSeq, 1);
    assert.equal(first.takenOver, false);
    assert.equal(first.processor, DEFAULT);
    assert.deepEqual(await claimBatch(sql, request("b")), [], "a leased row is not claimable");

    // The lease ends (the holder hung): another instance takes it over, same attempt.
    await sql`update payment_queue set visible_at = now() where correlation_id = ${id}`;
    const [second] = await claimBatch(
      sql,
      request("b", { target: FALLBACK, requestedAt: new Date() }),
    );
    assert.equal(second.claimSeq, 2);
    assert.equal(second.takenOver, true);
    assert.equal(second.processor, DEFAULT, "the attempt stays where it was sent");
    assert.deepEqual(second.requestedAt, first.requestedAt);
    assert.equal((await rowOf(sql, id)).attempt_uncertain, true, "the dead holder's call may land");

    // The first holder's outcome arrives late: it records nothing.
    const stale = await settlePayments(sql, [{ correlationId: id, claimSeq: 1 }]);
    assert.equal(stale.size, 0);
    const reschedule = (claimSeq: number) =>
      reschedulePayments(sql, [failure(id, claimSeq, "500")]);
    assert.equal(await reschedule(1), 0);

    // The current holder's 500 puts it back, still pinned (the take-over made it uncertain),
    // for a later retry.
    assert.equal(await reschedule(2), 1);
    const [third] = await claimBatch(sql, request("c", { fresh: false, resumable: [DEFAULT] }));
    assert.equal(third.claimSeq, 3);
    assert.equal(third.takenOver, false, "a rescheduled row has no holder");
    assert.equal(third.attempts, 1);
    assert.deepEqual(
      await claimBatch(sql, request("d", { resumable: [FALLBACK] })),
      [],
      "a pinned row is only resumed on its processor",
    );

    // Settled once, by the claim that holds it; a repeat settles nothing more.
    assert.deepEqual([...await settlePayments(sql, [{ correlationId: id, claimSeq: 3 }])], [id]);
    assert.equal((await settlePayments(sql, [{ correlationId: id, claimSeq: 3 }])).size, 0);
    const [row] = await sql<{ processor: number; attempts: number }[]>`
      select processor, attempts from processed_payments where correlation_id = ${id}`;
    assert.deepEqual(row, { processor: DEFAULT, attempts: 2 });
  } finally {
    await db.drop();
  }
});

interface QueueRow {
  processor: ProcessorId | null;
  requested_at: Date | null;
  attempt_uncertain: boolean;
  attempts: number;
  lease_owner: string | null;
  last_outcome: string | null;
}

async function rowOf(sql: Sql, id: string): Promise<QueueRow> {
  const [row] = await sql<QueueRow[]>`
    select processor, requested_at, attempt_uncertain, attempts, lease_owner, last_outcome
    from payment_queue where correlation_id = ${id}`;
  return row;
}

/** A reschedule as the AttemptRunner makes it: "500" and "429" are definitive, the rest not. */
function failure(correlationId: string, claimSeq: number, outcome: string): Reschedule {
  return { correlationId, claimSeq, delayMs: 0, outcome, definitive: /^(5..|429)$/.test(outcome) };
}

async function insertOne(sql: Sql): Promise<string> {
  const id = crypto.randomUUID();
  await insertPayments(sql, [{ correlationId: id, amountCents: 1990n }]);
  return id;
}

const t1 = new Date("2026-12-02T06:00:00.000Z");
const t2 = new Date("2026-12-02T06:00:30.000Z");

Deno.test("a definitive failure releases the attempt: the next claim starts a fresh one", async () => {
  await withTestDatabase("lease_release", async ({ sql }) => {
    const id = await insertOne(sql);
    const [first] = await claimBatch(sql, request("a", { requestedAt: t1 }));
    assert.deepEqual([first.processor, first.requestedAt], [DEFAULT, t1]);

    assert.equal(await reschedulePayments(sql, [failure(id, first.claimSeq, "500")]), 1);
    assert.deepEqual(await rowOf(sql, id), {
      processor: null,
      requested_at: null,
      attempt_uncertain: false,
      attempts: 1,
      lease_owner: null,
      last_outcome: "500",
    });
    assert.deepEqual(
      await claimBatch(sql, request("b", { fresh: false })),
      [],
      "a released row is no pinned attempt to resume",
    );

    // The router now sends new attempts to the fallback: the released row goes with them.
    const [second] = await claimBatch(sql, request("b", { target: FALLBACK, requestedAt: t2 }));
    assert.deepEqual(
      [second.processor, second.requestedAt, second.attempts, second.takenOver],
      [FALLBACK, t2, 1, false],
    );
    assert.equal((await rowOf(sql, id)).attempt_uncertain, false);

    // A 429 is definitive too; so is a handed-off row's (insertPayments with a claim).
    assert.equal(await reschedulePayments(sql, [failure(id, second.claimSeq, "429")]), 1);
    assert.equal((await rowOf(sql, id)).processor, null);
    const handed = crypto.randomUUID();
    await insertPayments(sql, [{ correlationId: handed, amountCents: 1n }], {
      owner: "a",
      target: DEFAULT,
      requestedAt: t1,
      leaseMs: 60_000,
      count: 1,
    });
    assert.equal((await rowOf(sql, handed)).attempt_uncertain, false);
    await reschedulePayments(sql, [failure(handed, 1, "503")]);
    assert.deepEqual((await rowOf(sql, handed)).processor, null);
  });
});

Deno.test("an unknown outcome keeps the pin and makes it uncertain; a later 500 keeps it too", async () => {
  await withTestDatabase("lease_unknown", async ({ sql }) => {
    const id = await insertOne(sql);
    const [first] = await claimBatch(sql, request("a", { requestedAt: t1 }));
    await reschedulePayments(sql, [failure(id, first.claimSeq, "timeout")]);
    const pinned = await rowOf(sql, id);
    assert.deepEqual(
      [pinned.processor, pinned.requested_at, pinned.attempt_uncertain, pinned.last_outcome],
      [DEFAULT, t1, true, "timeout"],
    );

    // The retry goes to the same processor with the same requestedAt, whatever the router says.
    const [second] = await claimBatch(sql, request("b", { target: FALLBACK, requestedAt: t2 }));
    assert.deepEqual([second.processor, second.requestedAt], [DEFAULT, t1]);
    assert.equal((await rowOf(sql, id)).attempt_uncertain, true, "a resume keeps it uncertain");

    // Its 500 proves nothing about the call that timed out: still pinned, still uncertain.
    await reschedulePayments(sql, [failure(id, second.claimSeq, "500")]);
    const after = await rowOf(sql, id);
    assert.deepEqual(
      [after.processor, after.requested_at, after.attempt_uncertain, after.attempts],
      [DEFAULT, t1, true, 2],
    );
  });
});

Deno.test("one reschedule statement judges each row by its own attempt", async () => {
  await withTestDatabase("lease_mixed", async ({ sql }) => {
    const certain = await insertOne(sql);
    const uncertain = await insertOne(sql);
    const third = await insertOne(sql);
    const claims = await claimBatch(sql, request("a", { requestedAt: t1 }));
    const seq = new Map(claims.map((c) => [c.correlationId, c.claimSeq]));
    await sql`update payment_queue set attempt_uncertain = true where correlation_id = ${uncertain}`;
    await reschedulePayments(sql, [
      failure(certain, seq.get(certain)!, "500"),
      failure(uncertain, seq.get(uncertain)!, "500"),
      failure(third, seq.get(third)!, "network"),
    ]);
    const rows = await Promise.all([certain, uncertain, third].map((id) => rowOf(sql, id)));
    assert.deepEqual(
      rows.map((r) => [r.processor, r.attempt_uncertain]),
      [[null, false], [DEFAULT, true], [DEFAULT, true]],
    );
  });
});

Deno.test("a take-over marks the attempt uncertain: its 500 then keeps the pin", async () => {
  await withTestDatabase("lease_takeover", async ({ sql }) => {
    const id = await insertOne(sql);
    await claimBatch(sql, request("a", { requestedAt: t1 }));
    await sql`update payment_queue set visible_at = now() where correlation_id = ${id}`;
    const [taken] = await claimBatch(sql, request("b", { target: FALLBACK, requestedAt: t2 }));
    assert.equal(taken.takenOver, true);
    assert.equal((await rowOf(sql, id)).attempt_uncertain, true);
    await reschedulePayments(sql, [failure(id, taken.claimSeq, "500")]);
    const row = await rowOf(sql, id);
    assert.deepEqual([row.processor, row.requested_at, row.attempt_uncertain], [DEFAULT, t1, true]);
  });
});

Deno.test("a lease released on shutdown keeps its attempt, uncertain", async () => {
  await withTestDatabase("lease_shutdown", async ({ sql }) => {
    const [mine, theirs] = [await insertOne(sql), await insertOne(sql)];
    await claimBatch(sql, request("a", { limit: 1, requestedAt: t1 }));
    await claimBatch(sql, request("b", { limit: 1, requestedAt: t1 }));
    const owner = (await rowOf(sql, mine)).lease_owner!;
    const other = owner === "a" ? theirs : mine;
    const released = owner === "a" ? mine : theirs;
    assert.equal(await releaseLeases(sql, "a"), 1);
    const row = await rowOf(sql, released);
    assert.deepEqual(
      [row.lease_owner, row.processor, row.requested_at, row.attempt_uncertain],
      [null, DEFAULT, t1, true],
    );
    assert.equal((await rowOf(sql, other)).attempt_uncertain, false, "other owners' rows");

    // Resumed by a claim that is no take-over (no owner left), then a 500: still pinned.
    const [resumed] = await claimBatch(sql, request("c", { target: FALLBACK, requestedAt: t2 }));
    assert.deepEqual([resumed.correlationId, resumed.takenOver], [released, false]);
    await reschedulePayments(sql, [failure(released, resumed.claimSeq, "500")]);
    assert.equal((await rowOf(sql, released)).processor, DEFAULT);
  });
});

Deno.test("the migration marks attempts pinned before it as uncertain", async () => {
  await withTestDatabase("lease_migration", async ({ sql }) => {
    // Back to the schema before 009, with one pinned and one never attempted row.
    await sql`alter table payment_queue drop column attempt_uncertain`;
    await sql`delete from schema_migrations where version = 9`;
    const [pinned, fresh] = [await insertOne(sql), await insertOne(sql)];
    await sql`update payment_queue set processor = 1, requested_at = ${t1}, attempts = 1,
      last_outcome = '500' where correlation_id = ${pinned}`;
    assert.deepEqual(await migrate(sql), ["009_attempt_uncertain"]);
    assert.equal((await rowOf(sql, pinned)).attempt_uncertain, true);
    assert.equal((await rowOf(sql, fresh)).attempt_uncertain, false);
    await assert.rejects(
      sql`update payment_queue set attempt_uncertain = true where correlation_id = ${fresh}`,
      /payment_queue_attempt_uncertain_check/,
      "uncertainty belongs to an attempt",
    );
  });
});
