// Settlements against a real Postgres: a settlement lingers to share its statement, except
// one whose attempt is old enough to lie inside an audit window already (settleAtOnceAgeMs),
// which goes at once and takes the lingering ones with it.
import assert from "node:assert/strict";
import { connect } from "../src/db/connect.ts";
import { insertPayments, type NewPayment } from "../src/payments/store.ts";
import { OutcomeWriter, settleAtOnceAgeMs } from "../src/worker/outcome_writer.ts";
import { withTestDatabase } from "./support/db.ts";

function payment(): NewPayment {
  return { correlationId: crypto.randomUUID(), amountCents: 1990n };
}

Deno.test("settle: a fresh attempt lingers; an old one settles at once, with it", async () => {
  await withTestDatabase("outcomes", async (db) => {
    const now = Date.now();
    const fresh = new Date(now - 200);
    const old = new Date(now - settleAtOnceAgeMs);
    const [a, b] = [payment(), payment()];
    for (const [p, requestedAt] of [[a, fresh], [b, old]] as const) {
      const claim = { owner: "api-test", target: 1 as const, requestedAt, leaseMs: 60_000 };
      await insertPayments(db.sql, [p], { ...claim, count: 1 });
    }
    // One connection, so statements complete in the order they were sent; and a linger no
    // test run outlasts, so whatever settles here was sent at once.
    const sql = connect(db.url, { max: 1 });
    try {
      const writer = new OutcomeWriter(sql, 60_000);
      const settled: string[] = [];
      const settle = (p: NewPayment, requestedAt: Date) =>
        writer.settle({ correlationId: p.correlationId, claimSeq: 1 }, requestedAt, now)
          .then((ok) => ok && settled.push(p.correlationId));
      const first = settle(a, fresh);
      await sql`select 1`;
      assert.deepEqual(settled, [], "the fresh attempt's settlement is lingering");
      const second = settle(b, old);
      await sql`select 1`;
      assert.deepEqual(settled, [a.correlationId, b.correlationId], "both went at once");
      await Promise.all([first, second, writer.drained()]);
      const rows = await sql<{ n: string }[]>`select count(*) as n from processed_payments`;
      assert.equal(Number(rows[0].n), 2);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
