// The retry backoff alone (the attempt itself, call and outcome, is covered end to end by
// pipeline_test.ts and reliability_test.ts against real processors and Postgres).
import assert from "node:assert/strict";
import { retryDelayMs } from "../src/worker/attempt_runner.ts";

const retry = { baseMs: 100, maxMs: 5_000 };

Deno.test("retry delay: doubles with each failed call, up to maxMs", () => {
  const top = () => 1; // no jitter taken off
  assert.deepEqual(
    [0, 1, 2, 3, 5, 6, 20].map((attempts) => retryDelayMs(attempts, retry, top)),
    [100, 200, 400, 800, 3_200, 5_000, 5_000],
  );
});

Deno.test("retry delay: jitter takes off at most half, in whole milliseconds", () => {
  assert.equal(retryDelayMs(2, retry, () => 0), 200, "half of 400");
  assert.equal(retryDelayMs(2, retry, () => 0.5), 300);
  assert.equal(retryDelayMs(0, { baseMs: 3, maxMs: 5_000 }, () => 0.5), 2, "2.25 rounded");
  assert.equal(retryDelayMs(30, retry, () => 0), 2_500, "half of the cap");
});
