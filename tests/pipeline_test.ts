// End-to-end: two API instances on one Postgres queue, two processor simulators, real HTTP.
// Every test ends with the audit: the service's books equal the processors' books.
import assert from "node:assert/strict";
import { openTestDatabase, type TestDatabase } from "./support/db.ts";
import {
  assertBooksAgree,
  configure,
  instanceEnv,
  postPayment,
  type Processors,
  startInstance,
  startProcessors,
  waitForDrain,
} from "./support/stack.ts";
import { suite } from "./support/suite.ts";
import type { Service } from "../src/service.ts";

let db: TestDatabase;
const test = suite("pipeline", async (defer) => {
  db = await openTestDatabase(defer, "pipeline");
});

async function withStack(
  extraEnv: Record<string, string>,
  fn: (s: { processors: Processors; instances: Service[] }) => Promise<void>,
) {
  await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  const processors = await startProcessors();
  const instances: Service[] = [];
  try {
    for (const name of ["api1", "api2"]) {
      instances.push(
        await startInstance(instanceEnv(db.url, processors, { INSTANCE_ID: name, ...extraEnv })),
      );
    }
    await fn({ processors, instances });
  } finally {
    for (const i of instances) await i.stop();
    await processors.close();
  }
}

function randomRanges(start: number, end: number, n: number): [string, string][] {
  return Array.from({ length: n }, () => {
    const a = start + Math.random() * (end - start);
    const b = a + Math.random() * (end - a);
    return [new Date(a).toISOString(), new Date(b).toISOString()];
  });
}

test("2,000 concurrent payments over two instances: books agree whole and in parts", async () => {
  await withStack({}, async ({ processors, instances }) => {
    const start = Date.now();
    const statuses = await Promise.all(
      Array.from(
        { length: 2000 },
        (_, i) => postPayment(instances[i % 2].address, crypto.randomUUID()),
      ),
    );
    assert.equal(statuses.filter((s) => s === 202).length, 2000);
    await waitForDrain(db.sql);
    const totals = await assertBooksAgree(instances[0].address, processors);
    // lag 0: every acknowledged payment is in the summary, once.
    assert.equal(totals.default.totalRequests + totals.fallback.totalRequests, 2000);
    assert.equal(totals.fallback.totalRequests, 0);
    for (const [from, to] of randomRanges(start, Date.now(), 10)) {
      await assertBooksAgree(instances[1].address, processors, from, to);
    }
  });
});

test("the official stages in turn: books agree, a failing default is waited out", async () => {
  // FALLBACK_AFTER_MS stays at its default (30 s): no stage here lasts that long.
  await withStack({ PROCESSOR_TIMEOUT_MS: "500" }, async ({ processors, instances }) => {
    const stages: [number, boolean, number, boolean][] = [
      [0, false, 0, false],
      [100, false, 0, false],
      [100, true, 0, false],
      [2000, true, 1000, true],
      [20, false, 20, false],
      [0, false, 5000, false],
    ];
    let sent = 0;
    for (const [dDelay, dFail, fDelay, fFail] of stages) {
      await configure(processors.default, dDelay, dFail);
      await configure(processors.fallback, fDelay, fFail);
      const statuses = await Promise.all(
        Array.from(
          { length: 100 },
          (_, i) => postPayment(instances[i % 2].address, crypto.randomUUID()),
        ),
      );
      assert.ok(statuses.every((s) => s === 202));
      sent += 100;
      if (dFail) {
        // Give the workers time to try (and fail), then check nothing was paid at 15 %.
        await new Promise((r) => setTimeout(r, 1_500));
        await assertBooksAgree(instances[0].address, processors);
        continue;
      }
      await waitForDrain(db.sql);
      const totals = await assertBooksAgree(instances[0].address, processors);
      assert.equal(totals.default.totalRequests + totals.fallback.totalRequests, sent);
    }
    const totals = await assertBooksAgree(instances[1].address, processors);
    assert.equal(totals.fallback.totalRequests, 0, "nothing should have gone to the fallback");
    assert.equal(totals.default.totalRequests, sent);
  });
});

test("a call that outlives the client timeout is resolved by 422 on retry: once", async () => {
  await withStack({ PROCESSOR_TIMEOUT_MS: "100" }, async ({ processors, instances }) => {
    await configure(processors.default, 400, false);
    const ids = Array.from({ length: 20 }, () => crypto.randomUUID());
    await Promise.all(ids.map((id) => postPayment(instances[0].address, id)));
    // Wait until every payment has had an attempt time out (still pinned to the default).
    for (;;) {
      const [r] = await db.sql`
        select count(*) as n from payment_queue where attempts > 0 and processor = 1`;
      if (Number(r.n) === ids.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await configure(processors.default, 0, false);
    await waitForDrain(db.sql);
    const totals = await assertBooksAgree(instances[0].address, processors);
    assert.deepEqual(totals.default, { totalRequests: 20, totalAmount: 398 });
    assert.equal(totals.fallback.totalRequests, 0);
    // Our ledger holds the very requestedAt the processor recorded.
    const [row] = await db.sql`select requested_at from processed_payments
      where correlation_id = ${ids[0]}`;
    const res = await fetch(`${processors.default.url}/payments/${ids[0]}`);
    assert.equal((await res.json()).requestedAt, (row.requested_at as Date).toISOString());
  });
});

test("the fallback takes over only after the default has failed for FALLBACK_AFTER_MS", async () => {
  await withStack({ FALLBACK_AFTER_MS: "300" }, async ({ processors, instances }) => {
    await configure(processors.default, 0, true);
    // Both instances learn of the failure from the shared health check before any payment.
    for (const instance of instances) {
      for (;;) {
        const text = await (await fetch(`${instance.address}/metrics`)).text();
        if (text.includes('processor_healthy{processor="default"} 0')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const ids = Array.from({ length: 50 }, () => crypto.randomUUID());
    await Promise.all(ids.map((id, i) => postPayment(instances[i % 2].address, id)));
    // A probe of the default gets a 500, which releases its payment: it goes to the fallback
    // too, as a fresh attempt. The default stays down; everything drains.
    await waitForDrain(db.sql);
    const totals = await assertBooksAgree(instances[0].address, processors);
    assert.equal(totals.default.totalRequests, 0);
    assert.equal(totals.fallback.totalRequests, 50);
  });
});

// At 20 calls/s the bucket holds 2 tokens, and 500 ms of calls is 10: a paced claim that
// waited for all 10 would wait forever (and, finding 2 tokens there, spin without yielding).
test("a paced worker whose coalescing window exceeds its burst still drains", async () => {
  await withStack(
    { MAX_CALL_RATE: "20", CLAIM_COALESCE_MS: "500" },
    async ({ processors, instances }) => {
      const ids = Array.from({ length: 30 }, () => crypto.randomUUID());
      await Promise.all(ids.map((id, i) => postPayment(instances[i % 2].address, id)));
      await waitForDrain(db.sql);
      const totals = await assertBooksAgree(instances[0].address, processors);
      assert.equal(totals.default.totalRequests, 30);
    },
  );
});

test("a paced worker (MAX_CALL_RATE) still settles everything, exactly once", async () => {
  await withStack({ MAX_CALL_RATE: "100" }, async ({ processors, instances }) => {
    const ids = Array.from({ length: 300 }, () => crypto.randomUUID());
    await Promise.all(ids.map((id, i) => postPayment(instances[i % 2].address, id)));
    await waitForDrain(db.sql);
    const totals = await assertBooksAgree(instances[0].address, processors);
    assert.equal(totals.default.totalRequests, 300);
  });
});
