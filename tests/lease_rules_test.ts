// The queue's lease rules, statement by statement against a real Postgres: a claim pins its
// attempt, a stale claim settles nothing, a take-over resumes the same attempt, and a
// reschedule keeps it pinned.
import assert from "node:assert/strict";
import {
  claimBatch,
  type ClaimRequest,
  insertPayments,
  reschedulePayments,
  settlePayments,
} from "../src/payments/store.ts";
import { DEFAULT, FALLBACK } from "../src/processors/processor_id.ts";
import { createTestDatabase } from "./support/db.ts";

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

    // The first holder's outcome arrives late: it records nothing.
    const stale = await settlePayments(sql, [{ correlationId: id, claimSeq: 1 }]);
    assert.equal(stale.size, 0);
    const reschedule = (claimSeq: number) =>
      reschedulePayments(sql, [{ correlationId: id, claimSeq, delayMs: 0, outcome: "500" }]);
    assert.equal(await reschedule(1), 0);

    // The current holder's failure puts it back, still pinned, for a later retry.
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
