// The routing policy alone (no I/O): which claims to make in each processor state.
import assert from "node:assert/strict";
import { ProcessorRouter } from "../src/processors/router.ts";
import { DEFAULT, FALLBACK } from "../src/processors/processor_id.ts";

const settings = { fallbackAfterMs: 30_000, probeIntervalMs: 200, processorTimeoutMs: 1_000 };

Deno.test("router: both healthy, one full claim to the default that resumes either", () => {
  const router = new ProcessorRouter(settings);
  assert.deepEqual(router.plan(0), [
    { target: DEFAULT, resumable: [DEFAULT, FALLBACK], fresh: true, mode: "full" },
  ]);
});

Deno.test("router: a failing default is probed one payment at a time; the fallback only resumes", () => {
  const router = new ProcessorRouter(settings);
  router.recordOutcome(DEFAULT, "not_processed", 1_000);
  assert.deepEqual(router.plan(1_000), [
    { target: DEFAULT, resumable: [DEFAULT], fresh: true, mode: "probe" },
    { target: FALLBACK, resumable: [FALLBACK], fresh: false, mode: "full" },
  ]);
  router.startProbe(DEFAULT, 1_000, true);
  assert.equal(router.plan(5_000)[0].mode, "full", "no second probe while one is out");
  assert.equal(router.plan(5_000)[0].target, FALLBACK);
  router.recordOutcome(DEFAULT, "not_processed", 1_100, true);
  assert.equal(router.plan(1_150)[0].target, FALLBACK, "the next probe waits probeIntervalMs");
  assert.equal(router.plan(1_200)[0].mode, "probe");
  router.recordOutcome(DEFAULT, "processed", 1_300, true);
  assert.equal(router.isHealthy(DEFAULT), true);
  assert.equal(router.plan(1_300).length, 1);
});

Deno.test("router: new payments go to the fallback only after FALLBACK_AFTER_MS of failure", () => {
  const router = new ProcessorRouter(settings);
  router.recordOutcome(DEFAULT, "unknown", 0);
  assert.equal(router.plan(29_999).find((p) => p.target === FALLBACK)?.fresh, false);
  assert.equal(router.plan(30_000).find((p) => p.target === FALLBACK)?.fresh, true);
  router.recordOutcome(FALLBACK, "not_processed", 30_000);
  assert.deepEqual(router.plan(30_000).map((p) => p.mode), ["probe", "probe"]);
});

Deno.test("router: shared health reports, and timeouts stretched by a slow processor", () => {
  const router = new ProcessorRouter(settings);
  const t = 1_000_000; // epoch-like: the first probe is due at once
  router.applyHealth(DEFAULT, true, 0, t);
  assert.equal(router.isHealthy(DEFAULT), false);
  router.startProbe(DEFAULT, t, false);
  assert.equal(router.plan(t + 50).some((p) => p.mode === "probe"), false);
  router.applyHealth(DEFAULT, false, 0, t + 100);
  assert.equal(router.plan(t + 100)[0].mode, "probe", "a good report invites a probe at once");
  assert.equal(router.timeoutMs(DEFAULT), 1_000);
  router.applyHealth(DEFAULT, false, 2_000, 200);
  assert.equal(router.timeoutMs(DEFAULT), 2_600, "advertised minimum × 1.2 + 200 ms");
});

Deno.test("router: a timed-out probe doubles the next probe's timeout until a health report", () => {
  const router = new ProcessorRouter(settings);
  assert.equal(router.timeoutMs(DEFAULT, true), 1_000);
  router.recordProbeTimeout(DEFAULT, 1_000);
  assert.equal(router.timeoutMs(DEFAULT, true), 2_200, "twice, plus the answer's way back");
  assert.equal(router.timeoutMs(DEFAULT), 1_000, "calls that are not probes keep theirs");
  assert.equal(router.timeoutMs(FALLBACK, true), 1_000, "only the processor that was slow");
  router.recordProbeTimeout(DEFAULT, 500);
  assert.equal(router.timeoutMs(DEFAULT, true), 2_200, "a late shorter timeout never shrinks it");
  for (const ms of [2_000, 4_000, 8_000]) router.recordProbeTimeout(DEFAULT, ms);
  assert.equal(router.timeoutMs(DEFAULT, true), 8_000, "capped");
  router.applyHealth(DEFAULT, true, 2_000, 0);
  assert.equal(router.timeoutMs(DEFAULT, true), 2_600, "a report's figure replaces it");
});
