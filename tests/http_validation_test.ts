// The HTTP contract of the API, called in-process (no socket): validation, idempotency,
// conflicts, summary shape and bounds, purge, health. Each bad input must be a 4xx with a JSON
// error and must write nothing.
import assert from "node:assert/strict";
import { type AppDeps, createHandler, type Handler } from "../src/http/app.ts";
import { createLogger } from "../src/log.ts";
import { Intake } from "../src/payments/intake.ts";
import { openTestDatabase, type TestDatabase } from "./support/db.ts";
import { suite } from "./support/suite.ts";
import { createServiceMetrics } from "../src/metrics/service_metrics.ts";

let db: TestDatabase;
let intake: Intake;
const log = createLogger("error");
const metrics = createServiceMetrics();
let base: AppDeps;
let handle: Handler;
const test = suite("the HTTP contract", async (defer) => {
  db = await openTestDatabase(defer, "http");
  intake = new Intake({ sql: db.sql, onEnqueued: () => {} });
  defer(() => intake.drained());
  base = {
    sql: db.sql,
    intake,
    log,
    metrics,
    maxBodyBytes: 4096,
    maxAmountCents: 100_000_00n,
    intakeDeadlineMs: 60_000,
  };
  handle = createHandler(base);
});
const id = () => crypto.randomUUID();

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return handle(
    new Request(`http://svc${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    }),
  );
}

async function rowCount(): Promise<number> {
  const [r] = await db
    .sql`select (select count(*) from payments) + (select count(*) from payment_queue) as n`;
  return Number(r.n);
}

test("a valid payment is accepted with 202 and queued", async () => {
  const cid = id();
  const res = await post("/payments", JSON.stringify({ correlationId: cid, amount: 19.9 }));
  assert.equal(res.status, 202);
  assert.equal((await res.json()).correlationId, cid);
  const rows = await db.sql`select amount_cents from payment_queue where correlation_id = ${cid}`;
  assert.equal(rows[0].amount_cents, "1990");
});

const badBodies: [string, string, number][] = [
  ["not JSON", "{nope", 400],
  ["empty body", "", 400],
  ["an array", "[]", 400],
  ["null", "null", 400],
  ["a string", '"x"', 400],
  ["missing correlationId", '{"amount": 10}', 400],
  ["missing amount", `{"correlationId": "${crypto.randomUUID()}"}`, 400],
  ["non-UUID id", '{"correlationId": "abc", "amount": 10}', 400],
  ["numeric id", '{"correlationId": 12, "amount": 10}', 400],
  ["amount as string", `{"correlationId": "${crypto.randomUUID()}", "amount": "10"}`, 400],
  ["zero amount", `{"correlationId": "${crypto.randomUUID()}", "amount": 0}`, 400],
  ["negative amount", `{"correlationId": "${crypto.randomUUID()}", "amount": -1}`, 400],
  ["three decimals", `{"correlationId": "${crypto.randomUUID()}", "amount": 1.001}`, 400],
  ["above the maximum", `{"correlationId": "${crypto.randomUUID()}", "amount": 100000.01}`, 400],
  ["huge amount", `{"correlationId": "${crypto.randomUUID()}", "amount": 1e300}`, 400],
  ["NaN as string", `{"correlationId": "${crypto.randomUUID()}", "amount": "NaN"}`, 400],
  ["boolean amount", `{"correlationId": "${crypto.randomUUID()}", "amount": true}`, 400],
];

for (const [label, body, status] of badBodies) {
  test(`rejects ${label} with ${status} and writes nothing`, async () => {
    const before = await rowCount();
    const res = await post("/payments", body);
    assert.equal(res.status, status);
    assert.equal(typeof (await res.json()).error, "string");
    assert.equal(await rowCount(), before);
  });
}

test("rejects a wrong content type with 415", async () => {
  const res = await post("/payments", `{"correlationId":"${id()}","amount":1}`, {
    "content-type": "text/plain",
  });
  assert.equal(res.status, 415);
  assert.ok((await res.json()).error);
});

test("rejects a body over the cap with 413, declared or streamed", async () => {
  const big = JSON.stringify({ correlationId: id(), amount: 1, pad: "x".repeat(5000) });
  const declared = await post("/payments", big);
  assert.equal(declared.status, 413);
  await declared.body?.cancel();
  const stream = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(big));
      c.close();
    },
  });
  const streamed = await handle(
    new Request("http://svc/payments", {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json" },
    }),
  );
  assert.equal(streamed.status, 413);
  assert.ok((await streamed.json()).error);
});

test("unknown fields are ignored", async () => {
  const res = await post("/payments", JSON.stringify({ correlationId: id(), amount: 5, x: 1 }));
  assert.equal(res.status, 202);
  await res.body?.cancel();
});

test("a repeat with the same amount is idempotent; another amount is 409", async () => {
  const cid = id();
  const body = JSON.stringify({ correlationId: cid, amount: 10.5 });
  assert.equal((await post("/payments", body)).status, 202);
  const again = await post("/payments", body);
  assert.equal(again.status, 200);
  await again.body?.cancel();
  const conflict = await post("/payments", JSON.stringify({ correlationId: cid, amount: 10.51 }));
  assert.equal(conflict.status, 409);
  assert.match((await conflict.json()).error, /different amount/);
  const rows = await db.sql`select count(*) as n from payments where correlation_id = ${cid}`;
  assert.equal(rows[0].n, "1");
});

test("1,000 concurrent posts of one correlationId make one payment", async () => {
  const cid = id();
  const body = JSON.stringify({ correlationId: cid, amount: 3 });
  const statuses = await Promise.all(
    Array.from({ length: 1000 }, async () => {
      const res = await post("/payments", body);
      await res.body?.cancel();
      return res.status;
    }),
  );
  assert.equal(statuses.filter((s) => s === 202).length, 1);
  assert.equal(statuses.filter((s) => s === 200).length, 999);
  const q = await db.sql`select count(*) as n from payment_queue where correlation_id = ${cid}`;
  assert.equal(q[0].n, "1");
});

test("wrong method is 405 with Allow; unknown path is 404", async () => {
  const res = await handle(new Request("http://svc/payments", { method: "GET" }));
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "POST");
  await res.body?.cancel();
  const missing = await handle(new Request("http://svc/nope"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

test("summary has the spec's shape, exact cents, inclusive bounds", async () => {
  await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  const rows = [
    [id(), 1, 1990, "2025-07-15T12:00:00.000Z"],
    [id(), 1, 1, "2025-07-15T12:00:01.000Z"],
    [id(), 2, 1999, "2025-07-15T12:00:02.000Z"],
  ] as const;
  for (const [cid, processor, cents, at] of rows) {
    await db.sql`insert into payments (correlation_id, amount_cents) values (${cid}, ${cents})`;
    await db.sql`insert into processed_payments values (${cid}, ${processor}, ${cents}, ${at})`;
  }
  const all = await (await handle(new Request("http://svc/payments-summary"))).json();
  assert.deepEqual(all, {
    default: { totalRequests: 2, totalAmount: 19.91 },
    fallback: { totalRequests: 1, totalAmount: 19.99 },
  });
  const ranged = await (await handle(
    new Request(
      "http://svc/payments-summary?from=2025-07-15T12:00:01.000Z&to=2025-07-15T12:00:02.000Z",
    ),
  )).json();
  assert.deepEqual(ranged, {
    default: { totalRequests: 1, totalAmount: 0.01 },
    fallback: { totalRequests: 1, totalAmount: 19.99 },
  });
  const openEnded = await (await handle(
    new Request("http://svc/payments-summary?to=2025-07-15T12:00:00.999Z"),
  )).json();
  assert.deepEqual(openEnded.default, { totalRequests: 1, totalAmount: 19.9 });
});

for (const bad of ["yesterday", "2025-13-45T00:00:00Z", "2025-07-15", "1721046896000"]) {
  test(`summary rejects from=${bad} with 400`, async () => {
    const res = await handle(new Request(`http://svc/payments-summary?from=${bad}`));
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /from must be/);
  });
}

test("purge deletes everything; with ADMIN_TOKEN it needs the token", async () => {
  const cid = id();
  (await post("/payments", JSON.stringify({ correlationId: cid, amount: 1 }))).body?.cancel();
  const guarded = createHandler({ ...base, adminToken: "s3cret" });
  const denied = await guarded(new Request("http://svc/purge-payments", { method: "POST" }));
  assert.equal(denied.status, 401);
  await denied.body?.cancel();
  assert.ok(await rowCount() > 0);
  const ok = await guarded(
    new Request("http://svc/purge-payments", {
      method: "POST",
      headers: { "x-admin-token": "s3cret" },
    }),
  );
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal(await rowCount(), 0);
});

test("a payment past its intake deadline is refused with 503 and not stored", async () => {
  const late = createHandler({ ...base, intakeDeadlineMs: 0 });
  const before = await rowCount();
  const res = await late(
    new Request("http://svc/payments", {
      method: "POST",
      body: JSON.stringify({ correlationId: id(), amount: 1 }),
      headers: { "content-type": "application/json" },
    }),
  );
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.match((await res.json()).error, /not stored/);
  assert.equal(await rowCount(), before);
});

test("REQUEST_METRICS off: requests are not timed, counters still count", async () => {
  const quietMetrics = createServiceMetrics();
  const quiet = createHandler({ ...base, metrics: quietMetrics, requestMetrics: false });
  const res = await quiet(
    new Request("http://svc/payments", {
      method: "POST",
      body: JSON.stringify({ correlationId: id(), amount: 2 }),
      headers: { "content-type": "application/json" },
    }),
  );
  assert.equal(res.status, 202);
  await res.body?.cancel();
  const text = await quietMetrics.registry.render();
  assert.doesNotMatch(text, /http_request_duration_seconds_count\{/);
  assert.match(text, /payments_accepted_total\{result="created"\} 1/);
});

test("health is 200 while Postgres answers", async () => {
  const res = await handle(new Request("http://svc/health"));
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

test("an unexpected failure is a JSON 500 and its log carries the request id", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const broken = createHandler({
      ...base,
      log: createLogger("error"),
      intake: { accept: () => Promise.reject(new Error("boom")) } as unknown as Intake,
    });
    const res = await broken(
      new Request("http://svc/payments", {
        method: "POST",
        body: JSON.stringify({ correlationId: id(), amount: 1 }),
        headers: { "x-request-id": "req-42", "content-type": "application/json" },
      }),
    );
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: "internal error" });
  } finally {
    console.error = original;
  }
  const entry = JSON.parse(lines[0]);
  assert.equal(entry.event, "unhandled_error");
  assert.equal(entry.requestId, "req-42");
  assert.equal(entry.err, "Error: boom");
});
