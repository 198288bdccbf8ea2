// Deadlines (src/deadlines.ts): many deadlines on one timer. Each test waits for callbacks, and
// judges order and absence by a later deadline's callback, never by a clock.
import assert from "node:assert/strict";
import { Deadlines } from "../src/deadlines.ts";

/** A deadline's callback as a promise of its label, with the order callbacks ran in. */
function recorder() {
  const fired: string[] = [];
  const when = (label: string) => {
    const { promise, resolve } = Promise.withResolvers<string>();
    return { promise, onExpire: () => resolve(fired[fired.push(label) - 1]) };
  };
  return { fired, when };
}

Deno.test("deadlines: each fires once, earliest first, whatever the order they were added in", async () => {
  const deadlines = new Deadlines();
  const { fired, when } = recorder();
  const late = when("late");
  const early = when("early");
  const middle = when("middle");
  deadlines.add(60, late.onExpire);
  deadlines.add(5, early.onExpire); // earlier than the timer already armed: re-armed
  deadlines.add(30, middle.onExpire);
  await Promise.all([late.promise, early.promise, middle.promise]);
  assert.deepEqual(fired, ["early", "middle", "late"]);
  assert.equal(deadlines.pending, 0);
});

Deno.test("deadlines: a cancelled deadline never fires; the others still do", async () => {
  const deadlines = new Deadlines();
  const { fired, when } = recorder();
  const cancelled = when("cancelled");
  const kept = when("kept");
  const first = deadlines.add(5, cancelled.onExpire);
  deadlines.add(40, kept.onExpire);
  deadlines.cancel(first);
  assert.equal(deadlines.pending, 1);
  await kept.promise;
  assert.deepEqual(fired, ["kept"], "the cancelled one, due 35 ms earlier, did not fire");
});

Deno.test("deadlines: the timer left armed after a cancel serves deadlines added later", async () => {
  const deadlines = new Deadlines();
  const { fired, when } = recorder();
  // Work that ends in time: its deadline is cancelled but the timer stays armed for it.
  deadlines.cancel(deadlines.add(5, when("done in time").onExpire));
  const next = when("next");
  const after = when("after");
  deadlines.add(20, next.onExpire);
  await next.promise;
  // Added from another deadline's callback moment on: it is armed anew.
  deadlines.add(5, after.onExpire);
  await after.promise;
  assert.deepEqual(fired, ["next", "after"]);
});

Deno.test("deadlines: a callback may add a deadline", async () => {
  const deadlines = new Deadlines();
  const { promise, resolve } = Promise.withResolvers<void>();
  deadlines.add(5, () => deadlines.add(5, resolve));
  await promise;
  assert.equal(deadlines.pending, 0);
});
