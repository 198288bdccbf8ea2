// The shared processor health view (src/processors/health_poller.ts, health_store.ts): two
// instances ticking at once call each processor's health endpoint once per interval between
// them (its rate limit), and each instance applies each report exactly once, its own at once
// and the other's at its next tick.
import assert from "node:assert/strict";
import { createLogger } from "../src/log.ts";
import { HealthPoller } from "../src/processors/health_poller.ts";
import type { ProcessorId } from "../src/processors/processor_id.ts";
import type { ProcessorRouter } from "../src/processors/router.ts";
import type { TestDatabase } from "./support/db.ts";
import { openTestDatabase } from "./support/db.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;
const test = suite("health poller", async (defer) => {
  db = await openTestDatabase(defer, "health_poller");
});

/** A processor's health endpoint that counts its calls and reports what it is told. */
function healthEndpoint(report: { failing: boolean; minResponseTime: number }) {
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname !== "/payments/service-health") {
      return new Response(null, { status: 404 });
    }
    calls++;
    return Response.json(report);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls: () => calls,
    close: () => server.shutdown(),
  };
}

/** What a router was told, in order: the poller's only effect on an instance. */
function recordingRouter() {
  const applied: string[] = [];
  const router = {
    applyHealth(p: ProcessorId, failing: boolean, minResponseMs: number) {
      applied.push(`${p}:${failing}:${minResponseMs}`);
    },
  } as unknown as ProcessorRouter;
  return { router, applied };
}

test("two instances take turns: one call per processor per interval, each report applied once by each", async () => {
  const endpoints = {
    1: healthEndpoint({ failing: true, minResponseTime: 0 }),
    2: healthEndpoint({ failing: false, minResponseTime: 120 }),
  };
  try {
    const urls = { 1: endpoints[1].url, 2: endpoints[2].url };
    const log = createLogger("error");
    const a = recordingRouter();
    const b = recordingRouter();
    // An interval longer than the test: no second turn may come within it.
    const options = { sql: db.sql, urls, intervalMs: 60_000, log };
    const pollerA = new HealthPoller({ ...options, router: a.router });
    const pollerB = new HealthPoller({ ...options, router: b.router });

    await Promise.all([pollerA.tick(), pollerB.tick()]);
    assert.deepEqual([endpoints[1].calls(), endpoints[2].calls()], [1, 1]);
    // Each report was applied at once by the instance that fetched it (the other instance
    // may have read it already too, if its tick came after the save).
    assert.deepEqual(new Set([...a.applied, ...b.applied]), new Set(["1:true:0", "2:false:120"]));

    await Promise.all([pollerA.tick(), pollerB.tick()]);
    await Promise.all([pollerA.tick(), pollerB.tick()]);
    assert.deepEqual([endpoints[1].calls(), endpoints[2].calls()], [1, 1]);
    for (const { applied } of [a, b]) {
      assert.deepEqual(applied.toSorted(), ["1:true:0", "2:false:120"]);
    }
  } finally {
    await Promise.all([endpoints[1].close(), endpoints[2].close()]);
  }
});
