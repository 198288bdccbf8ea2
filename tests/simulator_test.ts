// The payment processor simulator against spec §3, over real HTTP. Outcomes are asserted, never
// elapsed times; where a step must land inside a delay or a window, the delay or window is at
// least ten times what the step needs.

import assert from "node:assert/strict";
import { readEnvOptions } from "../tools/simulator/env_config.ts";
import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../tools/simulator/server.ts";
import { WindowRateLimiter } from "../tools/simulator/window_rate_limiter.ts";

const token = "123";
const noon = "2025-07-15T12:00:00.000Z";

interface Reply {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

async function withSimulator(
  options: SimulatorOptions,
  run: (simulator: Simulator) => Promise<void>,
): Promise<void> {
  const simulator = await startSimulator({ port: 0, ...options });
  try {
    await run(simulator);
  } finally {
    await simulator.close();
  }
}

async function callSimulator(
  simulator: Simulator,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; token?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token !== undefined) headers["x-rinha-token"] = options.token;
  const body = options.rawBody ??
    (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await fetch(simulator.url + path, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

function postPayment(
  simulator: Simulator,
  correlationId: string,
  amount = 19.9,
  requestedAt = noon,
): Promise<Reply> {
  return callSimulator(simulator, "POST", "/payments", {
    body: { correlationId, amount, requestedAt },
  });
}

function callAdmin(simulator: Simulator, method: string, path: string, body?: unknown) {
  return callSimulator(simulator, method, path, { body, token });
}

async function fetchSummary(simulator: Simulator, query = ""): Promise<Reply> {
  return await callAdmin(simulator, "GET", `/admin/payments-summary${query}`);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Follows concurrent calls, keeping their results in the order they finish. */
function trackCompletions<T>(calls: Array<Promise<T>>) {
  const finished: T[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  for (const call of calls) {
    call.then((value) => {
      finished.push(value);
      for (const waiter of waiters) if (finished.length >= waiter.count) waiter.resolve();
    });
  }
  return {
    finished,
    waitForCount(count: number): Promise<void> {
      if (finished.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    settleAll: () => Promise.all(calls),
  };
}

/** Rejects instead of hanging forever if a bug keeps `promise` from settling. */
async function guardAgainstHang<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting for ${what}`)), 30_000);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function countStatuses(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

Deno.test("a payment is recorded once: 200, then 422 for the same correlationId", async () => {
  await withSimulator({}, async (simulator) => {
    const first = await postPayment(simulator, "pay-1");
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { message: "payment processed successfully" });
    assert.equal(first.headers.get("content-type"), "application/json");

    const again = await postPayment(simulator, "pay-1", 5);
    assert.equal(again.status, 422);
    assert.equal(typeof again.body.message, "string");

    const found = await callSimulator(simulator, "GET", "/payments/pay-1");
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, { correlationId: "pay-1", amount: 19.9, requestedAt: noon });
    assert.equal((await callSimulator(simulator, "GET", "/payments/unknown")).status, 404);
    assert.equal((await fetchSummary(simulator)).body.totalRequests, 1);
  });
});

Deno.test("amounts are stored rounded to cents; requestedAt exactly as sent", async () => {
  await withSimulator({}, async (simulator) => {
    const sentAt = "2025-07-15T09:34:56.123456-03:00";
    assert.equal((await postPayment(simulator, "half", 10.005, sentAt)).status, 200);
    assert.equal((await postPayment(simulator, "float", 0.1 + 0.2)).status, 200);

    const half = await callSimulator(simulator, "GET", "/payments/half");
    assert.deepEqual(half.body, { correlationId: "half", amount: 10.01, requestedAt: sentAt });
    assert.equal((await callSimulator(simulator, "GET", "/payments/float")).body.amount, 0.3);

    const summary = await fetchSummary(simulator);
    assert.deepEqual(summary.body, {
      totalRequests: 2,
      totalAmount: 10.31,
      totalFee: 0.5155,
      feePerTransaction: 0.05,
    });
  });
});

Deno.test("malformed payments get 400 and record nothing", async () => {
  await withSimulator({}, async (simulator) => {
    const bodies = [
      "not json",
      "[]",
      "null",
      JSON.stringify({ amount: 1, requestedAt: noon }),
      JSON.stringify({ correlationId: "", amount: 1, requestedAt: noon }),
      JSON.stringify({ correlationId: 7, amount: 1, requestedAt: noon }),
      JSON.stringify({ correlationId: "x", amount: "19.90", requestedAt: noon }),
      JSON.stringify({ correlationId: "x", requestedAt: noon }),
      JSON.stringify({ correlationId: "x", amount: 1e20, requestedAt: noon }),
      JSON.stringify({ correlationId: "x", amount: 1 }),
      JSON.stringify({ correlationId: "x", amount: 1, requestedAt: "yesterday" }),
      JSON.stringify({ correlationId: "x", amount: 1, requestedAt: "2025-02-30T00:00:00Z" }),
    ];
    for (const rawBody of bodies) {
      const reply = await callSimulator(simulator, "POST", "/payments", { rawBody });
      assert.equal(reply.status, 400, rawBody);
      assert.equal(typeof reply.body.message, "string");
    }
    assert.equal((await fetchSummary(simulator)).body.totalRequests, 0);
  });
});

Deno.test("failure is read after the delay: switched off during it → 200, recorded", async () => {
  await withSimulator({}, async (simulator) => {
    await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 500 });
    await callAdmin(simulator, "PUT", "/admin/configurations/failure", { failure: true });
    const pending = postPayment(simulator, "recovered");
    await pause(50); // lets the POST reach the simulator and start its delay
    await callAdmin(simulator, "PUT", "/admin/configurations/failure", { failure: false });

    assert.equal((await pending).status, 200);
    assert.equal((await callSimulator(simulator, "GET", "/payments/recovered")).status, 200);
  });
});

Deno.test("failure is read after the delay: switched on during it → 500, nothing recorded", async () => {
  await withSimulator({}, async (simulator) => {
    await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 500 });
    const pending = postPayment(simulator, "doomed");
    await pause(50);
    await callAdmin(simulator, "PUT", "/admin/configurations/failure", { failure: true });

    assert.equal((await pending).status, 500);
    assert.equal((await callSimulator(simulator, "GET", "/payments/doomed")).status, 404);
    assert.equal((await fetchSummary(simulator)).body.totalRequests, 0);
  });
});

Deno.test("a failing processor answers 500, records nothing, and says so in health", async () => {
  await withSimulator({}, async (simulator) => {
    await callAdmin(simulator, "PUT", "/admin/configurations/failure", { failure: true });
    assert.equal((await postPayment(simulator, "lost")).status, 500);
    assert.equal((await callSimulator(simulator, "GET", "/payments/lost")).status, 404);
    assert.equal((await fetchSummary(simulator)).body.totalRequests, 0);
    const health = await callSimulator(simulator, "GET", "/payments/service-health");
    assert.deepEqual(health.body, { failing: true, minResponseTime: 0 });

    // Once healthy again the same correlationId goes through: the 500 left no trace.
    await callAdmin(simulator, "PUT", "/admin/configurations/failure", { failure: false });
    assert.equal((await postPayment(simulator, "lost")).status, 200);
  });
});

Deno.test("every admin call needs the current token; the token can be changed", async () => {
  await withSimulator({}, async (simulator) => {
    const adminCalls: Array<[string, string, unknown]> = [
      ["GET", "/admin/payments-summary", undefined],
      ["PUT", "/admin/configurations/token", { token: "new" }],
      ["PUT", "/admin/configurations/delay", { delay: 10 }],
      ["PUT", "/admin/configurations/failure", { failure: true }],
      ["POST", "/admin/purge-payments", undefined],
    ];
    for (const [method, path, body] of adminCalls) {
      assert.equal((await callSimulator(simulator, method, path, { body })).status, 401, path);
      const wrong = await callSimulator(simulator, method, path, { body, token: "nope" });
      assert.equal(wrong.status, 401, path);
    }
    // None of the refused calls changed anything.
    const health = await callSimulator(simulator, "GET", "/payments/service-health");
    assert.deepEqual(health.body, { failing: false, minResponseTime: 0 });

    const changed = await callAdmin(simulator, "PUT", "/admin/configurations/token", {
      token: "s3cret",
    });
    assert.equal(changed.status, 204);
    assert.equal(changed.body, null);
    assert.equal((await fetchSummary(simulator)).status, 401);
    const withNew = await callSimulator(simulator, "GET", "/admin/payments-summary", {
      token: "s3cret",
    });
    assert.equal(withNew.status, 200);
  });
});

Deno.test("delay and failure settings answer with what they were and are", async () => {
  await withSimulator({ rateLimitSeconds: 0.01 }, async (simulator) => {
    const delays = [
      await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 20 }),
      await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 0 }),
    ];
    assert.deepEqual(delays.map((reply) => [reply.status, reply.body]), [
      [200, { config: "delay", was: 0, is: 20 }],
      [200, { config: "delay", was: 20, is: 0 }],
    ]);
    const failures = [
      await callAdmin(simulator, "PUT", "/admin/configurations/failure", { failure: true }),
      await callAdmin(simulator, "PUT", "/admin/configurations/failure", { failure: true }),
    ];
    assert.deepEqual(failures.map((reply) => [reply.status, reply.body]), [
      [200, { config: "failure", was: false, is: true }],
      [200, { config: "failure", was: true, is: true }],
    ]);
    await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 35 });
    const health = await callSimulator(simulator, "GET", "/payments/service-health");
    assert.deepEqual(health.body, { failing: true, minResponseTime: 35 });

    for (const body of [{ delay: -1 }, { delay: 1.5 }, { delay: "5" }, {}]) {
      const bad = await callAdmin(simulator, "PUT", "/admin/configurations/delay", body);
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    for (const body of [{ failure: "true" }, { failure: 1 }, {}]) {
      const bad = await callAdmin(simulator, "PUT", "/admin/configurations/failure", body);
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    const badToken = await callAdmin(simulator, "PUT", "/admin/configurations/token", { token: 1 });
    assert.equal(badToken.status, 400);
  });
});

Deno.test("purge forgets every payment", async () => {
  await withSimulator({}, async (simulator) => {
    await postPayment(simulator, "a");
    await postPayment(simulator, "b");
    const purged = await callAdmin(simulator, "POST", "/admin/purge-payments");
    assert.equal(purged.status, 200);
    assert.deepEqual(purged.body, { message: "All payments purged." });
    assert.deepEqual((await fetchSummary(simulator)).body, {
      totalRequests: 0,
      totalAmount: 0,
      totalFee: 0,
      feePerTransaction: 0.05,
    });
    assert.equal((await callSimulator(simulator, "GET", "/payments/a")).status, 404);
    assert.equal((await postPayment(simulator, "a")).status, 200);
  });
});

Deno.test("summary: BETWEEN from AND to, inclusive, only when both bounds are given", async () => {
  await withSimulator({ transactionFee: 0.15 }, async (simulator) => {
    const t1 = "2025-07-15T12:00:00.000Z";
    const t2 = "2025-07-15T12:00:01.000Z";
    const t3 = "2025-07-15T12:00:02.000Z";
    await postPayment(simulator, "p1", 19.9, t1);
    await postPayment(simulator, "p2", 19.9, t2);
    await postPayment(simulator, "p3", 19.9, "2025-07-15T09:00:01.500-03:00"); // 12:00:01.5Z
    await postPayment(simulator, "p4", 19.9, t3);

    const both = await fetchSummary(simulator, `?from=${t1}&to=${t2}`);
    assert.deepEqual(both.body, {
      totalRequests: 2,
      totalAmount: 39.8,
      totalFee: 5.97,
      feePerTransaction: 0.15,
    });
    const offsetAware = await fetchSummary(simulator, `?from=${t2}&to=2025-07-15T12:00:01.500Z`);
    assert.equal(offsetAware.body.totalRequests, 2);
    const all = { totalRequests: 4, totalAmount: 79.6, totalFee: 11.94, feePerTransaction: 0.15 };
    assert.deepEqual((await fetchSummary(simulator)).body, all);
    assert.deepEqual((await fetchSummary(simulator, `?from=${t3}`)).body, all);
    assert.deepEqual((await fetchSummary(simulator, `?to=${t1}`)).body, all);
    const empty = await fetchSummary(simulator, `?from=${t3}&to=${t1}`);
    assert.equal(empty.body.totalRequests, 0);
    assert.equal((await fetchSummary(simulator, `?from=soon&to=${t1}`)).status, 400);
  });
});

Deno.test("fees are exact: 3 × 19.90 at 15 % is 8.955", async () => {
  await withSimulator({ transactionFee: 0.15 }, async (simulator) => {
    for (const id of ["a", "b", "c"]) await postPayment(simulator, id);
    const summary = await fetchSummary(simulator);
    assert.equal(summary.body.totalAmount, 59.7);
    assert.equal(summary.body.totalFee, 8.955);
  });
});

Deno.test("health: one call per window, two queued and served later in order, then 429", async () => {
  await withSimulator({ rateLimitSeconds: 0.5 }, async (simulator) => {
    const health = trackCompletions(
      Array.from({ length: 4 }, () => callSimulator(simulator, "GET", "/payments/service-health")),
    );
    // The granted call and the refused one come back at once, the queued ones a window apart.
    await guardAgainstHang(health.waitForCount(2), "the immediate answers");
    const early = health.finished.map((reply) => reply.status).sort();
    assert.deepEqual(early, [200, 429]);
    const refused = health.finished.find((reply) => reply.status === 429)!;
    assert.equal(refused.headers.get("retry-after"), "1");

    // Each queued call reports the state of the window in which it is served.
    await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 7 });
    await guardAgainstHang(health.waitForCount(3), "the first queued answer");
    await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 9 });
    await guardAgainstHang(health.settleAll(), "the second queued answer");
    assert.deepEqual(health.finished.slice(2).map((reply) => [reply.status, reply.body]), [
      [200, { failing: false, minResponseTime: 7 }],
      [200, { failing: false, minResponseTime: 9 }],
    ]);
  });
});

Deno.test("health limiter serves its queue oldest first", async () => {
  const limiter = new WindowRateLimiter(20, 2);
  try {
    assert.equal(limiter.acquirePermit(), true);
    const served: string[] = [];
    const second = limiter.acquirePermit();
    const third = limiter.acquirePermit();
    assert.equal(limiter.acquirePermit(), false);
    assert.ok(second instanceof Promise && third instanceof Promise);
    await Promise.all([
      second.then((granted) => granted && served.push("second")),
      third.then((granted) => granted && served.push("third")),
    ]);
    assert.deepEqual(served, ["second", "third"]);
  } finally {
    limiter.closeLimiter();
  }
});

Deno.test("payments: 800 in flight and 500 queued; exactly the excess gets 429", async () => {
  await withSimulator({}, async (simulator) => {
    // Admitted payments sit in a long delay, so the limiter stays full until close() ends them.
    await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 60_000 });
    const capacity = 800 + 500;
    const excess = 6;
    const posts = trackCompletions(
      Array.from({ length: capacity + excess }, (_, i) => postPayment(simulator, `burst-${i}`)),
    );
    // Nothing but refusals can come back before close(): once `excess` have, all have arrived.
    await guardAgainstHang(posts.waitForCount(excess), "the refusals");
    const statuses = () => countStatuses(posts.finished.map((reply) => reply.status));
    assert.deepEqual(statuses(), { 429: excess });

    // close() answers every admitted or queued payment 503, recording nothing.
    await simulator.close();
    await posts.settleAll();
    assert.deepEqual(statuses(), { 429: excess, 503: capacity });
  });
});

Deno.test("2,000 concurrent payments with distinct ids are all recorded", async () => {
  await withSimulator({}, async (simulator) => {
    const replies = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => postPayment(simulator, `distinct-${i}`)),
    );
    assert.deepEqual(countStatuses(replies.map((reply) => reply.status)), { 200: 2000 });
    const summary = await fetchSummary(simulator);
    assert.equal(summary.body.totalRequests, 2000);
    assert.equal(summary.body.totalAmount, 39800);
    assert.equal(summary.body.totalFee, 1990);
  });
});

Deno.test("200 concurrent payments with one id: exactly one 200, the rest 422", async () => {
  await withSimulator({}, async (simulator) => {
    // A delay makes them all wait together, then decide one after another.
    await callAdmin(simulator, "PUT", "/admin/configurations/delay", { delay: 50 });
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => postPayment(simulator, "same-id")),
    );
    assert.deepEqual(countStatuses(replies.map((reply) => reply.status)), { 200: 1, 422: 199 });
    assert.equal((await fetchSummary(simulator)).body.totalRequests, 1);
  });
});

Deno.test("unknown paths get 404, known paths with the wrong method 405", async () => {
  await withSimulator({}, async (simulator) => {
    for (const path of ["/", "/nope", "/admin", "/payments/a/b", "/payments-summary"]) {
      const reply = await callSimulator(simulator, "GET", path);
      assert.equal(reply.status, 404, path);
      assert.equal(typeof reply.body.message, "string");
    }
    const cases: Array<[string, string, string]> = [
      ["GET", "/payments", "POST"],
      ["POST", "/payments/service-health", "GET"],
      ["DELETE", "/payments/abc", "GET"],
      ["POST", "/admin/payments-summary", "GET"],
      ["GET", "/admin/configurations/delay", "PUT"],
      ["GET", "/admin/purge-payments", "POST"],
    ];
    for (const [method, path, allowed] of cases) {
      const reply = await callSimulator(simulator, method, path, { token });
      assert.equal(reply.status, 405, `${method} ${path}`);
      assert.equal(reply.headers.get("allow"), allowed);
    }
  });
});

Deno.test("close() stops the server; invalid options are refused", async () => {
  const simulator = await startSimulator({ port: 0 });
  assert.match(simulator.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  await simulator.close();
  await simulator.close(); // idempotent
  await assert.rejects(fetch(`${simulator.url}/payments/service-health`));

  for (const options of [{ rateLimitSeconds: 0 }, { transactionFee: -1 }, { port: 70000 }]) {
    await assert.rejects(startSimulator(options), RangeError);
  }
});

Deno.test("environment settings: defaults, and every invalid variable reported", () => {
  assert.deepEqual(readEnvOptions(() => undefined), {
    port: 8080,
    hostname: "127.0.0.1",
    transactionFee: 0.05,
    rateLimitSeconds: 5,
    initialToken: "123",
  });
  const env: Record<string, string> = {
    PORT: "80a",
    TRANSACTION_FEE: "0.15",
    RATE_LIMIT_SECONDS: "0",
  };
  assert.throws(
    () => readEnvOptions((name) => env[name]),
    (error: Error) =>
      /PORT="80a"/.test(error.message) && /RATE_LIMIT_SECONDS="0"/.test(error.message),
  );
});
