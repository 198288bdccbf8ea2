// Reliability, the fast scenarios: hostile processors (each fault of tools/simulator/faults.ts),
// a storm of mixed faults, kill -9 of instances under load, a Postgres restart under load and
// a 10× load spike. Two instances each time; every scenario ends with the audit of
// tests/support/audit.ts. The long versions live in tests/chaos/.
import assert from "node:assert/strict";
import type { Service } from "../src/service.ts";
import {
  auditBooks,
  type AuditReport,
  describeReport,
  waitForEmptyQueue,
} from "./support/audit.ts";
import { createDatabaseOn, restartCluster, startCluster } from "./support/clusters.ts";
import {
  type FaultSetting,
  faultState,
  setFault,
  startHostileProcessors,
} from "./support/faults.ts";
import { killHard, spawnInstance } from "./support/instances.ts";
import { PaymentLog, sendPayment, steadyLoad } from "./support/traffic.ts";
import { probe, sleep, waitUntil } from "./support/wait.ts";
import { openTestDatabase, type TestDatabase } from "./support/db.ts";
import {
  configure,
  instanceEnv,
  type Processors,
  processorSummary,
  startInstance,
  startProcessors,
} from "./support/stack.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;
const test = suite("reliability", async (defer) => {
  db = await openTestDatabase(defer, "reliability");
});

interface Stack {
  processors: Processors;
  instances: Service[];
  urls: string[];
}

async function withHostileStack(
  extraEnv: Record<string, string>,
  fn: (s: Stack) => Promise<void>,
  names = ["api1", "api2"],
) {
  await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  await db.sql`update processor_health set failing = false, min_response_ms = 0,
    checked_at = null, next_check_at = '-infinity'`;
  const processors = await startHostileProcessors();
  const instances: Service[] = [];
  try {
    for (const name of names) {
      instances.push(
        await startInstance(instanceEnv(db.url, processors, { INSTANCE_ID: name, ...extraEnv })),
      );
    }
    await fn({ processors, instances, urls: instances.map((i) => i.address) });
  } finally {
    for (const i of instances) await i.stop();
    await processors.close();
  }
}

/** n payments at once, spread over the instances; all must be acknowledged. */
async function postAll(urls: string[], n: number, log = new PaymentLog()): Promise<PaymentLog> {
  const before = log.acknowledged.size;
  await Promise.all(Array.from({ length: n }, (_, i) => sendPayment(urls[i % urls.length], log)));
  assert.equal(log.acknowledged.size - before, n, `not all acknowledged: ${log.describe()}`);
  return log;
}

async function audit(scenario: string, stack: Stack, log: PaymentLog, drainGuardMs = 60_000) {
  const report: AuditReport = await auditBooks({
    sql: db.sql,
    serviceUrls: stack.urls,
    processors: stack.processors,
    acknowledged: log.acknowledged,
    sent: log.all.keys(),
    drainGuardMs,
  });
  console.log(describeReport(scenario, report, `answers ${log.describe()}`));
  return report;
}

// ─── Hostile processors ─────────────────────────────────────────────────────────────────────
// FALLBACK_AFTER_MS=0 makes the router send fresh attempts to the fallback as soon as the
// default misbehaves: the sharpest test that an attempt with an unknown outcome stays with its
// processor (a double would show in the audit) while one the processor definitely refused
// (5xx, 429) may move.

test("reset after recording: unknown outcomes resolved at the same processor, once", async () => {
  await withHostileStack({ FALLBACK_AFTER_MS: "0" }, async (stack) => {
    await setFault(stack.processors.default, { fault: "reset", count: 60 });
    const log = await postAll(stack.urls, 200);
    const report = await audit("reset", stack, log);
    assert.equal((await faultState(stack.processors.default)).affected, 60);
    // Each reset payment was recorded by the default, so it must have been settled there (the
    // audit checks that our books equal the default's). How many distinct payments the 60
    // resets hit depends on batching: retries of the first few, pinned to the default, may
    // take most of them; at least the first call's payment is one.
    assert.ok(report.settled.default >= 1);
  });
});

test("drop without recording: the retry at the same processor records it once", async () => {
  await withHostileStack({ FALLBACK_AFTER_MS: "0" }, async (stack) => {
    await setFault(stack.processors.default, { fault: "drop", count: 60 });
    const log = await postAll(stack.urls, 200);
    await audit("drop", stack, log);
    assert.equal((await faultState(stack.processors.default)).affected, 60);
  });
});

test("refused connections: not processed, retried, free to go to the fallback", async () => {
  await withHostileStack({ FALLBACK_AFTER_MS: "0" }, async (stack) => {
    await setFault(stack.processors.default, { fault: "refuse", durationMs: 1_500 });
    const log = await postAll(stack.urls, 200);
    await waitUntil(
      "the default listens again",
      async () => (await faultState(stack.processors.default)).fault === "none",
    );
    await audit("refuse (fallback allowed)", stack, log);
  });
});

test("refused connections with the default policy: payments wait for the default", async () => {
  await withHostileStack({}, async (stack) => {
    await setFault(stack.processors.default, { fault: "refuse", durationMs: 1_500 });
    const log = await postAll(stack.urls, 200);
    const report = await audit("refuse (default policy)", stack, log);
    assert.equal(report.settled.fallback, 0);
  });
});

test("200 with a garbage body counts as processed, at the default only", async () => {
  await withHostileStack({ FALLBACK_AFTER_MS: "0" }, async (stack) => {
    await setFault(stack.processors.default, { fault: "garbage" });
    const log = await postAll(stack.urls, 200);
    const report = await audit("garbage 200", stack, log);
    assert.equal(report.settled.default, 200);
    assert.equal(report.settled.fallback, 0);
  });
});

test("a burst of 429: not processed, retried until accepted", async () => {
  await withHostileStack({ FALLBACK_AFTER_MS: "0" }, async (stack) => {
    await setFault(stack.processors.default, { fault: "busy", count: 150 });
    await setFault(stack.processors.fallback, { fault: "busy", count: 50 });
    const log = await postAll(stack.urls, 200);
    await audit("429 burst", stack, log);
  });
});

test("500 on every other call at both processors: each payment processed once", async () => {
  await withHostileStack({ FALLBACK_AFTER_MS: "0" }, async (stack) => {
    await setFault(stack.processors.default, { fault: "error", every: 2 });
    await setFault(stack.processors.fallback, { fault: "error", every: 2 });
    const log = await postAll(stack.urls, 200);
    await audit("alternating 500", stack, log);
  });
});

test("slower than the client timeout, then 422 on retry: never sent to the other one", async () => {
  await withHostileStack(
    { FALLBACK_AFTER_MS: "0", PROCESSOR_TIMEOUT_MS: "100" },
    async (stack) => {
      await configure(stack.processors.default, 400, false);
      const log = await postAll(stack.urls, 100);
      await waitUntil("some attempts timed out", async () => {
        const [r] = await db.sql`select count(*)::int as n from payment_queue
          where attempts > 0 and processor = 1`;
        return r.n > 0;
      });
      await postAll(stack.urls, 100, log);
      await configure(stack.processors.default, 0, false);
      await audit("timeout then 422", stack, log);
    },
  );
});

// Regression guard (a defect found and fixed here): a fallback once marked failing must be
// probed again like the default. Rows whose attempt at the fallback had an unknown outcome stay
// pinned to it and are claimable only while the fallback counts as healthy; when it was never
// probed again, with a healthy default they stayed in the queue forever (lag), and the fallback
// was never used again either.
test({
  name: "an unknown outcome at the fallback is resolved after the default recovers",
  fn: async () => {
    await withHostileStack({ FALLBACK_AFTER_MS: "0" }, async (stack) => {
      await configure(stack.processors.default, 0, true);
      await setFault(stack.processors.fallback, { fault: "reset" });
      // One payment finds the default failing; the next ones go to the fallback.
      const log = await postAll(stack.urls, 1);
      await waitUntil("the default failed", async () => {
        const [r] = await db.sql`select count(*)::int as n from payment_queue where attempts > 0`;
        return r.n > 0;
      });
      await postAll(stack.urls, 20, log);
      await waitUntil("attempts at the fallback ended unknown", async () => {
        const [r] = await db.sql`select count(*)::int as n from payment_queue
          where processor = 2 and attempts > 0`;
        return r.n > 0;
      });
      // Let calls still out at the fallback end first, so none of them can succeed after the
      // fault is cleared and mark it healthy by luck. A router that keeps probing the fallback
      // always has one out: then move on after a while, it does not matter there.
      await waitUntil("no call out at the fallback", async () => {
        const [r] = await db.sql`select count(*)::int as n from payment_queue
          where processor = 2 and lease_owner is not null and visible_at > now()`;
        return r.n === 0;
      }, 2_000).catch(() => {});
      await sleep(300);
      await setFault(stack.processors.fallback, { fault: "none" });
      await configure(stack.processors.default, 0, false);
      await auditBooks({
        sql: db.sql,
        serviceUrls: stack.urls,
        processors: stack.processors,
        acknowledged: log.acknowledged,
        sent: log.all.keys(),
        drainGuardMs: 20_000,
      });
    }, ["api1"]);
  },
});

// Regression guard (a defect found and fixed here): with both processors down, when the
// fallback comes back first, the backlog must drain to it instead of waiting for the default.
// At 0d3ec6a the fallback was tried once FALLBACK_AFTER_MS had passed, failed, and was never
// tried again (cause above). At 957e917 the other instance, which had not yet seen the default
// fail, sent the whole backlog to it, and those payments stayed pinned to the default until it
// answered 200/422; a 500 now releases them (the policy below), so all of them drain.
test({
  name: "both processors down, the fallback comes back first: the backlog drains to it",
  fn: async () => {
    await withHostileStack({ FALLBACK_AFTER_MS: "300" }, async (stack) => {
      await configure(stack.processors.default, 0, true);
      await setFault(stack.processors.fallback, { fault: "error" });
      // One payment finds the default failing; the backlog arrives after that.
      const log = await postAll(stack.urls, 1);
      await waitUntil("the default failed", async () => {
        const [r] = await db.sql`select count(*)::int as n from payment_queue where attempts > 0`;
        return r.n > 0;
      });
      await postAll(stack.urls, 50, log);
      await waitUntil("the fallback was tried and failed", async () => {
        return (await faultState(stack.processors.fallback)).affected > 0;
      }, 5_000).catch(() => {});
      await sleep(300);
      await setFault(stack.processors.fallback, { fault: "none" });
      // The default stays down: everything drains to the fallback, the payments that met a 500
      // at either processor included (each 500 released its attempt).
      await waitForEmptyQueue(db.sql, 20_000);
      assert.equal((await processorSummary(stack.processors.fallback)).totalRequests, 51);
      await configure(stack.processors.default, 0, false);
      const report = await audit("fallback back first", stack, log);
      assert.equal(report.settled.default, 0);
    });
  },
});

// The chosen policy (README, "Outcomes"): a 500 or 429 releases the attempt unless an earlier
// call of it may still be recorded (attempt_uncertain, see the tests below). The processor
// client never repeats a request by itself (src/processors/client.ts), so such an answer
// proves that its call recorded nothing: payments that met the failing default are tried
// again as fresh attempts, and go to the fallback once the default has failed for
// FALLBACK_AFTER_MS, like payments not yet attempted.
test({
  name: "a payment whose only calls got 500s fails over to the fallback",
  fn: async () => {
    await withHostileStack({ FALLBACK_AFTER_MS: "300" }, async (stack) => {
      await configure(stack.processors.default, 0, true);
      const log = await postAll(stack.urls, 20);
      await waitForEmptyQueue(db.sql, 20_000);
      assert.equal((await processorSummary(stack.processors.fallback)).totalRequests, 20);
      const [met] = await db.sql`select count(*)::int as n from processed_payments
        where attempts > 1`;
      assert.ok(met.n > 0, "some payment should have met the failing default first");
      await configure(stack.processors.default, 0, false);
      const report = await audit("500 then the fallback", stack, log);
      assert.equal(report.settled.default, 0);
    });
  },
});

// Regression guard (a defect found and fixed here): the processor recorded a call, then
// stopped listening before answering (a crash or restart). With Deno's fetch, which silently
// repeated the request on a new connection, the repeat was refused, and when that unpinned the
// attempt the payment was sent again — to the fallback (recorded twice) or to the default with
// a new requestedAt (books disagree on sub-ranges). The client now sends each request once
// (src/processors/http1_pool.ts): the cut connection is an unknown outcome, which marks the
// attempt uncertain, so the refused connections that follow (not sent: "not processed") keep
// it pinned until the default answers 200 or 422.
test({
  name: "a processor that records, then stops listening mid-answer: still processed once",
  fn: async () => {
    await withHostileStack(
      { FALLBACK_AFTER_MS: "0", PROCESSOR_TIMEOUT_MS: "3000" },
      async (stack) => {
        // A kept-alive connection to the default exists, then calls that take 500 ms.
        const log = await postAll(stack.urls, 1);
        await waitForEmptyQueue(db.sql);
        await configure(stack.processors.default, 500, false);
        await postAll(stack.urls, 20, log);
        await waitUntil("calls in flight at the default", async () => {
          const [r] = await db.sql`select count(*)::int as n from payment_queue
          where processor = 1 and lease_owner is not null`;
          return r.n > 0;
        });
        await sleep(100);
        // The default stops listening while they are in flight; it still records them.
        await setFault(stack.processors.default, { fault: "refuse", durationMs: 2_000 });
        await audit("refused mid-answer", stack, log);
      },
      ["api1"],
    );
  },
});

// Regression guard (same cause, other face): the silent repeat of a request whose reused
// connection closed before the answer can also get a 500 or 429. fetch then returned that
// status, and the call counted as "not processed" although its first transmission was
// recorded. Treating "refused" as unknown did not cover this; keeping every attempt pinned
// until a 200/422 did. Now the client never repeats a request (src/processors/client.ts): the
// closed connection is an unknown outcome, which marks the attempt uncertain, and the next
// call's 500 then keeps it pinned (reschedulePayments, src/payments/store.ts).
test({
  name: "a call recorded, its answer lost, its silent repeat refused with 500: still once",
  fn: async () => {
    await withHostileStack(
      { FALLBACK_AFTER_MS: "0", PROCESSOR_TIMEOUT_MS: "3000" },
      async (stack) => {
        await db.sql`update processor_health set next_check_at = now() + interval '1 hour'`;
        // A kept-alive connection to the default, for the next call to reuse.
        const log = await postAll(stack.urls, 1);
        await waitForEmptyQueue(db.sql);
        await configure(stack.processors.default, 300, false);
        await setFault(stack.processors.default, { fault: "reset" });
        await postAll(stack.urls, 1, log);
        await waitUntil("the call is in the processor's delay", async () => {
          const [r] = await db.sql`select count(*)::int as n from payment_queue
          where processor = 1 and lease_owner is not null`;
          return r.n > 0;
        });
        // The call in its delay will be recorded and its answer lost; the next call gets a 500.
        await setFault(stack.processors.default, { fault: "error" });
        await waitUntil("a 500 was answered", async () => {
          return (await faultState(stack.processors.default)).affected >= 1;
        });
        await sleep(200); // time for a wrong conclusion to send the payment to the fallback
        await setFault(stack.processors.default, { fault: "none" });
        await configure(stack.processors.default, 0, false);
        await audit("recorded, repeat refused", stack, log);
      },
      ["api1"],
    );
  },
});

// Regression guard (a defect found and fixed here): a 500 or 429 on the retry of an attempt
// whose earlier call timed out must not unpin the attempt, since the earlier call may still be
// inside the processor's delay and record the payment afterwards (spec §3: the delay runs
// before the failure check and the insert). When it did, the payment went to the fallback
// (recorded twice) or to the default with a new requestedAt. The timeout marks the attempt
// uncertain, and an uncertain attempt stays pinned until a 200/422, whatever later calls get
// (reschedulePayments, src/payments/store.ts).
test({
  name: "a 500 on the retry after a timeout does not free the attempt",
  fn: async () => {
    await withHostileStack(
      { FALLBACK_AFTER_MS: "0", PROCESSOR_TIMEOUT_MS: "200" },
      async (stack) => {
        // No health reads, so the 200 ms timeout is not stretched to the advertised delay.
        await db.sql`update processor_health set next_check_at = now() + interval '1 hour'`;
        await configure(stack.processors.default, 1_000, false);
        const log = await postAll(stack.urls, 10);
        await waitUntil("the first calls timed out", async () => {
          const [r] = await db.sql`select count(*)::int as n from payment_queue
          where processor = 1 and attempts > 0`;
          return r.n > 0;
        });
        // The retries get a 500 at once, while the first calls are still in their delay.
        await setFault(stack.processors.default, { fault: "error" });
        await waitUntil("ten retries were answered 500", async () => {
          return (await faultState(stack.processors.default)).affected >= 10;
        });
        // The first calls record once their delay is over (they met no fault), while every
        // retry still gets a 500. From here a retry under a new attempt could only be doubled
        // (the fallback) or settled with a requestedAt the processor does not have (a 422 at the
        // default): the audit sees either.
        await waitUntil("the first calls' delay is over and they recorded", async () => {
          return (await processorSummary(stack.processors.default)).totalRequests === 10;
        });
        await setFault(stack.processors.default, { fault: "none" });
        await configure(stack.processors.default, 0, false);
        await audit("500 after timeout", stack, log);
      },
      ["api1"],
    );
  },
});

/** Every fault, with delays beyond the storm's 300 ms timeout: the worst a processor can do. */
const everyFault: Weather = {
  faults: [
    { fault: "none" },
    { fault: "reset", every: 3 },
    { fault: "drop", every: 4 },
    { fault: "garbage" },
    { fault: "busy", count: 30 },
    { fault: "error", every: 2 },
    { fault: "refuse", durationMs: 300 },
  ],
  delays: [0, 0, 50, 600],
  failing: 0.2,
};

// The storms keep apart what triggered the defects above (all fixed), so a regression shows
// which cause is back: one storm cuts answers off (resets, drops, calls slower than the
// timeout) but never answers 500 or 429, the other answers 500 and 429 but never cuts a call
// off; neither refuses connections while calls are in flight, and the fallback never leaves an
// outcome unknown.
const cutting: [Weather, Weather] = [
  {
    faults: [
      { fault: "none" },
      { fault: "reset", every: 3 },
      { fault: "drop", every: 4 },
      { fault: "garbage" },
    ],
    delays: [0, 0, 50, 600],
    failing: 0,
  },
  { faults: [{ fault: "none" }, { fault: "garbage" }], delays: [0, 0, 20], failing: 0 },
];
const definite: Weather = {
  faults: [
    { fault: "none" },
    { fault: "garbage" },
    { fault: "busy", count: 30 },
    { fault: "error", every: 2 },
  ],
  delays: [0, 0, 20, 50],
  failing: 0.2,
};

interface Weather {
  faults: FaultSetting[];
  delays: number[];
  failing: number;
}

/** Switches each processor to a random fault, delay and failure every ~250 ms. */
async function storm(processors: Processors, weather: [Weather, Weather], untilMs: number) {
  const sims = [processors.default, processors.fallback];
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
  while (Date.now() < untilMs) {
    for (const [i, sim] of sims.entries()) {
      try {
        await configure(sim, pick(weather[i].delays), Math.random() < weather[i].failing);
        await setFault(sim, pick(weather[i].faults));
      } catch {
        // refusing right now: the next round will reach it
      }
    }
    await sleep(250);
  }
  for (const sim of sims) {
    await waitUntil("the processor listens again", async () => {
      await setFault(sim, { fault: "none" });
      await configure(sim, 0, false);
      return true;
    });
  }
}

test("a storm of resets, drops and timeouts under steady load", async () => {
  await withHostileStack({ FALLBACK_AFTER_MS: "0", PROCESSOR_TIMEOUT_MS: "300" }, async (stack) => {
    const load = steadyLoad(() => stack.urls, 300);
    await storm(stack.processors, cutting, Date.now() + 3_000);
    await load.stop();
    assert.equal(load.log.acknowledged.size, load.log.sent, load.log.describe());
    await audit("storm: answers cut off", stack, load.log);
  });
});

test("a storm of 500s, 429s and failures at both processors under steady load", async () => {
  await withHostileStack(
    { FALLBACK_AFTER_MS: "0", PROCESSOR_TIMEOUT_MS: "1000" },
    async (stack) => {
      const load = steadyLoad(() => stack.urls, 300);
      await storm(stack.processors, [definite, definite], Date.now() + 3_000);
      await load.stop();
      assert.equal(load.log.acknowledged.size, load.log.sent, load.log.describe());
      await audit("storm: definite failures", stack, load.log);
    },
  );
});

// DEFECT: one storm with every fault at both processors and delays beyond the timeout shows
// the defects above: payments pinned to the fallback stay in the queue for good,
// and payments are recorded twice or with another requestedAt.
test({
  name: "a storm of every fault at both processors, under load",
  fn: async () => {
    const env = { FALLBACK_AFTER_MS: "0", PROCESSOR_TIMEOUT_MS: "300" };
    await withHostileStack(env, async (stack) => {
      const load = steadyLoad(() => stack.urls, 300);
      await storm(stack.processors, [everyFault, everyFault], Date.now() + 4_000);
      await load.stop();
      assert.equal(load.log.acknowledged.size, load.log.sent, load.log.describe());
      await audit("storm of faults (both)", stack, load.log, 20_000);
    });
  },
});

// ─── Instance crash ─────────────────────────────────────────────────────────────────────────

test("kill -9 each instance once under load, restart it: nothing lost or doubled", async () => {
  await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  const processors = await startProcessors();
  // Calls last 150 ms, so a killed instance always dies with calls in flight.
  await configure(processors.default, 150, false);
  const env = (name: string) =>
    instanceEnv(db.url, processors, {
      INSTANCE_ID: name,
      PROCESSOR_TIMEOUT_MS: "1000",
      LEASE_MARGIN_MS: "300",
    });
  const instances = [await spawnInstance(env("api1")), await spawnInstance(env("api2"))];
  const live = new Set(instances.map((i) => i.url));
  const load = steadyLoad(() => [...live], 200);
  const recoveries: number[] = [];
  try {
    for (const [k, victim] of instances.entries()) {
      await sleep(1_000);
      live.delete(victim.url);
      await killHard(victim);
      await sleep(300);
      const t0 = Date.now();
      instances[k] = await spawnInstance(victim.env);
      recoveries.push(Date.now() - t0);
      live.add(instances[k].url);
    }
    await sleep(1_000);
    await load.stop();
    await configure(processors.default, 0, false);
    const report = await auditBooks({
      sql: db.sql,
      serviceUrls: instances.map((i) => i.url),
      processors,
      acknowledged: load.log.acknowledged,
      sent: load.log.all.keys(),
    });
    console.log(
      describeReport(
        "kill -9 ×2",
        report,
        `answers ${load.log.describe()}; restart→healthy ${recoveries.join(", ")} ms`,
      ),
    );
  } finally {
    await load.stop();
    for (const i of instances) await killHard(i);
    await processors.close();
  }
});

// ─── Postgres restart ───────────────────────────────────────────────────────────────────────

// The official client gives up after 1.5 s (spec §4): an answer later than that is no answer.
const clientTimeoutMs = 1_500;

// DEFECT: while Postgres is down, answers take up to ~20 s instead of a prompt 503, and after
// it is back the instance needs up to ~20 s to use it again (measured: 503s after 0.5, 6, 8 and
// 18 s; first 202 18.4 s after the restart). Cause: postgres.js's default reconnect backoff,
// (0.5–1) × min(3^retries / 100, 20) s with `retries` shared by the whole pool and reset only by
// a successful connection; every query waits for the next allowed attempt. Fix: pass a short
// capped `backoff` in src/db/connect.ts (e.g. retries => Math.min(0.05 * 2 ** retries, 0.5)),
// and bound /health's probe query. This is the fast version of tests/chaos/postgres_restart_test.ts.
test({
  name: "Postgres restart under load: prompt 503 while down, prompt recovery, nothing lost",
  fn: async () => {
    // A cluster of its own, stopped and started freely without disturbing the shared one.
    const pg = await startCluster("pg-reliability");
    const database = await createDatabaseOn(pg.url, "pgrestart");
    const processors = await startProcessors();
    const instances: Service[] = [];
    let load: ReturnType<typeof steadyLoad> | undefined;
    try {
      for (const name of ["api1", "api2"]) {
        instances.push(
          await startInstance(
            instanceEnv(database.url, processors, { INSTANCE_ID: name, SYNCHRONOUS_COMMIT: "on" }),
          ),
        );
      }
      const urls = instances.map((i) => i.address);
      load = steadyLoad(() => urls, 200, { timeoutMs: clientTimeoutMs });
      await sleep(1_000);
      await pg.stop();

      // Down: every new payment is refused with 503 in time, never acknowledged; health 503.
      const down = new PaymentLog();
      for (let i = 0; i < 10; i++) {
        await sendPayment(urls[i % 2], down, undefined, undefined, clientTimeoutMs);
        assert.deepEqual(
          await Promise.all(urls.map((u) => probe(`${u}/health`, clientTimeoutMs))),
          [503, 503],
        );
      }
      assert.equal(down.count(503), down.sent, `while down: ${down.describe()}`);

      await restartCluster(pg);
      // Back: the first payment each instance gets is accepted, in time.
      for (const url of urls) {
        assert.equal(await sendPayment(url, load.log, undefined, undefined, clientTimeoutMs), 202);
      }
      await sleep(1_000);
      await load.stop();
      // Nothing a client gave up on may still be on its way inside an instance while the books
      // are compared: stop them (graceful), and audit with fresh ones.
      for (const [k, i] of instances.entries()) {
        await i.stop();
        instances[k] = await startInstance(
          instanceEnv(database.url, processors, { INSTANCE_ID: `api${k + 1}-after` }),
        );
      }
      const report = await auditBooks({
        sql: database.sql,
        serviceUrls: instances.map((i) => i.address),
        processors,
        acknowledged: load.log.acknowledged,
        sent: [...load.log.all.keys(), ...down.all.keys()],
      });
      console.log(describeReport("Postgres restart", report, `answers ${load.log.describe()}`));
    } finally {
      await load?.stop();
      for (const i of instances) await i.stop();
      await processors.close();
      await database.drop().catch(() => {});
      await pg.stop();
    }
  },
});

// ─── Load spike ─────────────────────────────────────────────────────────────────────────────

test("10× the official peak at once: each request acknowledged durably or refused", async () => {
  await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  const processors = await startProcessors();
  const instances = [
    await spawnInstance(instanceEnv(db.url, processors, { INSTANCE_ID: "spike1" })),
    await spawnInstance(instanceEnv(db.url, processors, { INSTANCE_ID: "spike2" })),
  ];
  try {
    const log = new PaymentLog();
    // 5,500 requests in flight at once; the long version (seconds of it) is in tests/chaos/.
    // The 60 s timeout is a hang guard: a request is answered, or this fails.
    await Promise.all(
      Array.from(
        { length: 5_500 },
        (_, i) => sendPayment(instances[i % 2].url, log, undefined, undefined, 60_000),
      ),
    );
    const refused = log.count(503) + log.count(429);
    assert.equal(log.acknowledged.size + refused, log.sent, `answers: ${log.describe()}`);
    const report = await auditBooks({
      sql: db.sql,
      serviceUrls: instances.map((i) => i.url),
      processors,
      acknowledged: log.acknowledged,
      sent: log.all.keys(),
    });
    console.log(describeReport("spike 5,500 concurrent", report, `answers ${log.describe()}`));
  } finally {
    for (const i of instances) await killHard(i);
    await processors.close();
  }
});
