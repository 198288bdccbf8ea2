// GET /payments/{correlationId}: every state a payment can be in, each reached the way it is
// reached in production (real instances, real simulators, a timeout, a 422, a dead holder),
// plus the answers to ids that are malformed or unknown.
import assert from "node:assert/strict";
import { createOperatorRoutes } from "../src/console/operator_routes.ts";
import type { PaymentStatus } from "../src/console/payment_state.ts";
import { claimBatch, reschedulePayments, settlePayments } from "../src/payments/store.ts";
import type { Service } from "../src/service.ts";
import { openTestDatabase, type TestDatabase } from "./support/db.ts";
import {
  configure,
  instanceEnv,
  postPayment,
  type Processors,
  startInstance,
  startProcessors,
} from "./support/stack.ts";
import { waitUntil } from "./support/wait.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;
const test = suite("payment status", async (defer) => {
  db = await openTestDatabase(defer, "payment_status");
});

type Status = Omit<PaymentStatus, "amount"> & { amount: number };

async function getStatus(baseUrl: string, id: string): Promise<{ code: number; body: Status }> {
  const res = await fetch(`${baseUrl}/payments/${id}`);
  return { code: res.status, body: await res.json() };
}

/** Polls until the payment is in `state`; returns that answer. The bound is a hang guard. */
async function waitForState(baseUrl: string, id: string, state: string): Promise<Status> {
  let last: Status | undefined;
  await waitUntil(
    `payment ${id} ${state} (last: ${JSON.stringify(last)})`,
    async () => {
      const { code, body } = await getStatus(baseUrl, id);
      assert.equal(code, 200);
      last = body;
      return body.state === state;
    },
    30_000,
    20,
  );
  return last!;
}

async function withInstance(
  extraEnv: Record<string, string>,
  fn: (s: { processors: Processors; api: Service }) => Promise<void>,
) {
  await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  await db.sql`update processor_health set failing = false, min_response_ms = 0,
    checked_at = null, next_check_at = '-infinity'`;
  const processors = await startProcessors();
  const api = await startInstance(instanceEnv(db.url, processors, extraEnv));
  try {
    await fn({ processors, api });
  } finally {
    await api.stop();
    await processors.close();
  }
}

/** Only the operator routes, over real HTTP, with no worker to move rows behind the test. */
async function withRoutesOnly(fn: (baseUrl: string) => Promise<void>) {
  await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => createOperatorRoutes({ sql: db.sql })(req, new URL(req.url)),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

async function insertPayment(id: string, cents: number) {
  await db.sql`insert into payments (correlation_id, amount_cents) values (${id}, ${cents})`;
  await db.sql`insert into payment_queue (correlation_id, amount_cents) values (${id}, ${cents})`;
}

function claimOne(leaseMs: number) {
  return claimBatch(db.sql, {
    owner: "test-holder",
    limit: 1,
    fresh: true,
    target: 1,
    resumable: [1, 2],
    requestedAt: new Date(),
    leaseMs,
  });
}

test("400 for a malformed id, 404 for an unknown one and for other methods", async () => {
  await withInstance({}, async ({ api }) => {
    for (const bad of ["not-a-uuid", "123", "%zz", "0000-", `${crypto.randomUUID()}x`]) {
      const { code, body } = await getStatus(api.address, bad);
      assert.equal(code, 400, bad);
      assert.match((body as unknown as { error: string }).error, /UUID/);
    }
    const unknown = crypto.randomUUID();
    const missing = await getStatus(api.address, unknown);
    assert.equal(missing.code, 404);
    assert.match((missing.body as unknown as { error: string }).error, new RegExp(unknown));
    // Other methods under /payments/ are no route at all, as they were before this one.
    const post = await fetch(`${api.address}/payments/${unknown}`, { method: "POST" });
    assert.equal(post.status, 404);
    await post.body?.cancel();
    // POST /payments itself is untouched by the prefix route.
    assert.equal(await postPayment(api.address, unknown, 12.34), 202);
    assert.equal(await postPayment(api.address, unknown, 12.34), 200);
    const found = await getStatus(api.address, unknown.toUpperCase());
    assert.equal(found.code, 200);
    assert.equal(found.body.correlationId, unknown);
    assert.equal(found.body.amount, 12.34);
  });
});

test("a payment goes in flight, then settles at the default with the processor's requestedAt", async () => {
  await withInstance({}, async ({ processors, api }) => {
    // A slow processor keeps the call in flight long enough to be seen.
    await configure(processors.default, 800, false);
    const id = crypto.randomUUID();
    assert.equal(await postPayment(api.address, id, 19.9), 202);
    const inFlight = await waitForState(api.address, id, "in_flight");
    assert.equal(inFlight.processor, "default");
    assert.equal(inFlight.attempts, 1);
    assert.ok(inFlight.requestedAt);
    assert.equal(inFlight.settledAt, null);
    const settled = await waitForState(api.address, id, "settled");
    assert.equal(settled.amount, 19.9);
    assert.equal(settled.processor, "default");
    assert.equal(settled.requestedAt, inFlight.requestedAt, "the attempt keeps its requestedAt");
    assert.ok(Date.parse(settled.settledAt!) >= Date.parse(settled.requestedAt!));
    // requestedAt is stamped just before the claim that may pick up a payment committed a few
    // ms later, so it is not ordered against receivedAt; both are of this run.
    assert.ok(Math.abs(Date.parse(settled.receivedAt) - Date.parse(settled.requestedAt!)) < 60_000);
    const theirs = await (await fetch(`${processors.default.url}/payments/${id}`)).json();
    assert.equal(theirs.requestedAt, settled.requestedAt);
  });
});

test("queued while the default fails, pinned after a timeout, settled after the 422", async () => {
  await withInstance({ PROCESSOR_TIMEOUT_MS: "100" }, async ({ processors, api }) => {
    // The default records each payment but answers after the caller gave up.
    await configure(processors.default, 400, false);
    const id = crypto.randomUUID();
    assert.equal(await postPayment(api.address, id, 7.05), 202);
    const pinned = await waitForState(api.address, id, "pinned");
    assert.equal(pinned.processor, "default");
    assert.ok(pinned.attempts! >= 1);
    assert.ok(pinned.nextAttemptAt);
    // The processor has it; the next call of the same attempt gets 422, which settles it.
    await configure(processors.default, 0, false);
    const settled = await waitForState(api.address, id, "settled");
    assert.equal(settled.requestedAt, pinned.requestedAt);
    assert.equal(settled.processor, "default");
    const theirs = await (await fetch(`${processors.default.url}/payments/${id}`)).json();
    assert.equal(theirs.requestedAt, settled.requestedAt);

    // A failing default with the fallback not yet allowed: new payments wait, never attempted.
    await configure(processors.default, 0, true);
    const probe = crypto.randomUUID();
    assert.equal(await postPayment(api.address, probe, 1), 202);
    await waitUntil("the instance sees the default failing", async () => {
      const [r] = await db.sql`select attempts from payment_queue where correlation_id = ${probe}`;
      return r?.attempts > 0;
    });
    const waiting = crypto.randomUUID();
    assert.equal(await postPayment(api.address, waiting, 2.5), 202);
    const queued = await waitForState(api.address, waiting, "queued");
    assert.deepEqual(
      { processor: queued.processor, requestedAt: queued.requestedAt, attempts: queued.attempts },
      { processor: null, requestedAt: null, attempts: 0 },
    );
    await configure(processors.default, 0, false);
    await waitForState(api.address, waiting, "settled");
  });
});

test("retrying after a 500, pinned for unknown ones and dead holders", async () => {
  await withRoutesOnly(async (baseUrl) => {
    const id = crypto.randomUUID();
    await insertPayment(id, 990);
    assert.equal((await getStatus(baseUrl, id)).body.state, "queued");

    const [claim] = await claimOne(60_000);
    const inFlight = (await getStatus(baseUrl, id)).body;
    assert.equal(inFlight.state, "in_flight");
    assert.equal(inFlight.attempts, 1);

    // The processor answered 500: a definite failure, the attempt is released and the next
    // try starts a fresh one.
    await reschedulePayments(db.sql, [{
      ...claim,
      delayMs: 60_000,
      outcome: "500",
      definitive: true,
    }]);
    const retrying = (await getStatus(baseUrl, id)).body;
    assert.deepEqual(
      [retrying.state, retrying.lastOutcome, retrying.attempts],
      ["retrying", "500", 1],
    );
    assert.deepEqual([retrying.processor, retrying.requestedAt], [null, null]);
    assert.ok(retrying.nextAttemptAt);

    // A timeout: the outcome is unknown, the payment is pinned to its (new) attempt.
    await db.sql`update payment_queue set visible_at = now() where correlation_id = ${id}`;
    const [again] = await claimOne(60_000);
    assert.notEqual(again.requestedAt.toISOString(), inFlight.requestedAt);
    await reschedulePayments(db.sql, [{
      ...again,
      delayMs: 0,
      outcome: "timeout",
      definitive: false,
    }]);
    const pinned = (await getStatus(baseUrl, id)).body;
    assert.deepEqual([pinned.state, pinned.lastOutcome, pinned.attempts], ["pinned", "timeout", 2]);
    assert.equal(pinned.requestedAt, again.requestedAt.toISOString());

    // A 500 after it proves nothing about the call that timed out: still pinned.
    const [retry] = await claimOne(60_000);
    await reschedulePayments(db.sql, [{
      ...retry,
      delayMs: 0,
      outcome: "500",
      definitive: true,
    }]);
    const still = (await getStatus(baseUrl, id)).body;
    assert.deepEqual(
      [still.state, still.lastOutcome, still.attempts, still.requestedAt],
      ["pinned", "500", 3, pinned.requestedAt],
    );

    // A holder that died mid-call: its lease runs out with the owner still set.
    const [third] = await claimOne(1);
    await waitUntil("the lease runs out", async () => {
      return (await getStatus(baseUrl, id)).body.state === "pinned";
    });
    assert.equal((await getStatus(baseUrl, id)).body.attempts, 4);

    // Settled (a 422 settles like a 200), with the calls it took when the settle records them.
    await db.sql`update payment_queue set visible_at = now() where correlation_id = ${id}`;
    const [fourth] = await claimOne(60_000);
    assert.notEqual(fourth.claimSeq, third.claimSeq);
    assert.equal((await settlePayments(db.sql, [fourth])).size, 1);
    const settled = (await getStatus(baseUrl, id)).body;
    assert.deepEqual(
      [settled.state, settled.attempts, settled.processor, settled.amount, settled.lastOutcome],
      // The dead holder's call was never recorded (it died before it could): 3 + this one.
      ["settled", 4, "default", 9.9, null],
    );
    assert.equal(settled.requestedAt, pinned.requestedAt);
    assert.ok(settled.settledAt);
  });
});
