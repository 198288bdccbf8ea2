import assert from "node:assert/strict";
import { NotifyLimiter } from "../src/worker/notify_limiter.ts";

Deno.test("notify limiter: once per interval, and the last call of a burst is kept", async () => {
  let now = 1_000;
  let calls = 0;
  let trailing: () => void = () => {};
  const fired = () => new Promise<void>((resolve) => (trailing = resolve));
  const limiter = new NotifyLimiter(() => {
    calls++;
    trailing();
  }, { intervalMs: 50, now: () => now });

  limiter.call();
  assert.equal(calls, 1, "the first call acts at once");
  now += 10;
  const next = fired();
  limiter.call();
  limiter.call();
  assert.equal(calls, 1, "calls within the interval wait");
  await next; // the trailing call's timer (40 ms here) fires once for both
  assert.equal(calls, 2);
  now += 100;
  limiter.call();
  assert.equal(calls, 3, "after the interval, at once again");
  limiter.cancel();
});

Deno.test("notify limiter: cancel drops the pending call", async () => {
  let calls = 0;
  const limiter = new NotifyLimiter(() => calls++, { intervalMs: 20 });
  limiter.call();
  limiter.call();
  limiter.cancel();
  // Waits past the interval on purpose: proving that nothing fires needs the time to pass.
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(calls, 1);
});
