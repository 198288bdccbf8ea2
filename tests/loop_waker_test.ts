// The claim loop's sleep alone, on a clock moved by hand: how long it sleeps, what ends it, and
// what a wake sent while the loop was busy does to its next sleep.
import assert from "node:assert/strict";
import { LoopWaker, type WakerClock } from "../src/worker/loop_waker.ts";

/** A clock whose time moves only when told, firing the timers that come due on the way. */
class ManualClock implements WakerClock {
  #now = 0;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn, live: true };
    this.#timers.push(timer);
    return () => (timer.live = false);
  }

  /** Timers set and not yet fired nor cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => t.live).length;
  }

  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at);
      if (due.length === 0) break;
      const next = due[0];
      this.#now = next.at;
      next.live = false;
      next.fn();
    }
    this.#now = until;
  }
}

/** Starts a sleep and reports whether it has ended (after pending callbacks run). */
function sleeping(waker: LoopWaker, ms: number): () => Promise<boolean> {
  let ended = false;
  waker.sleep(ms).then(() => (ended = true));
  return async () => {
    for (let i = 0; i < 3; i++) await Promise.resolve();
    return ended;
  };
}

function setup(coalesceMs = 10) {
  const clock = new ManualClock();
  return { clock, waker: new LoopWaker({ coalesceMs, clock }) };
}

Deno.test("loop waker: with no news the sleep lasts its full length", async () => {
  const { clock, waker } = setup();
  const ended = sleeping(waker, 100);
  clock.advance(99);
  assert.equal(await ended(), false);
  clock.advance(1);
  assert.equal(await ended(), true);
  assert.equal(clock.pending, 0);
});

Deno.test("loop waker: wakeNow ends a sleep at once and cancels its timer", async () => {
  const { clock, waker } = setup();
  const ended = sleeping(waker, 100);
  clock.advance(30);
  waker.wakeNow();
  assert.equal(await ended(), true, "no time had to pass");
  assert.equal(clock.pending, 0);
  const next = sleeping(waker, 100);
  clock.advance(99);
  assert.equal(await next(), false, "a wakeNow received asleep is not kept for the next sleep");
});

Deno.test("loop waker: a wakeNow while awake makes the next sleep return at once, once", async () => {
  const { clock, waker } = setup();
  waker.wakeNow();
  waker.wakeNow();
  assert.equal(await sleeping(waker, 100)(), true, "returned without sleeping");
  assert.equal(clock.pending, 0, "no timer was set");
  const next = sleeping(waker, 100);
  clock.advance(99);
  assert.equal(await next(), false, "two wakes while awake count as one");
  clock.advance(1);
  assert.equal(await next(), true);
});

Deno.test("loop waker: wakeSoon ends a sleep coalesceMs later, not at once", async () => {
  const { clock, waker } = setup(10);
  const ended = sleeping(waker, 100);
  clock.advance(30);
  waker.wakeSoon();
  assert.equal(await ended(), false, "not at once: more payments may come");
  clock.advance(9);
  assert.equal(await ended(), false);
  clock.advance(1);
  assert.equal(await ended(), true, "at 30 + 10 ms rather than 100");
  assert.equal(clock.pending, 0, "the poll timer was cancelled");
  const next = sleeping(waker, 100);
  clock.advance(99);
  assert.equal(await next(), false, "a wakeSoon received asleep is not kept for the next sleep");
});

Deno.test("loop waker: wakeSoon never postpones a wake due sooner", async () => {
  const { clock, waker } = setup(10);
  const short = sleeping(waker, 5);
  waker.wakeSoon();
  clock.advance(5);
  assert.equal(await short(), true, "a sleep shorter than coalesceMs keeps its end");

  const long = sleeping(waker, 100);
  waker.wakeSoon(); // due at 15
  clock.advance(6);
  waker.wakeSoon(); // would be due at 21
  clock.advance(4);
  assert.equal(await long(), true, "the first wakeSoon's deadline holds");
});

Deno.test("loop waker: a wakeSoon while awake caps the next sleep only", async () => {
  const { clock, waker } = setup(10);
  waker.wakeSoon();
  const capped = sleeping(waker, 100);
  clock.advance(9);
  assert.equal(await capped(), false);
  clock.advance(1);
  assert.equal(await capped(), true, "capped at coalesceMs");
  const next = sleeping(waker, 100);
  clock.advance(99);
  assert.equal(await next(), false, "the cap was used up");
  clock.advance(1);
  assert.equal(await next(), true);
});

Deno.test("loop waker: a wakeSoon while awake never lengthens a shorter sleep", async () => {
  const { clock, waker } = setup(10);
  waker.wakeSoon();
  const ended = sleeping(waker, 4);
  clock.advance(4);
  assert.equal(await ended(), true);
});

Deno.test("loop waker: a pending wakeNow leaves a pending wakeSoon for the sleep after", async () => {
  const { clock, waker } = setup(10);
  waker.wakeSoon();
  waker.wakeNow();
  assert.equal(await sleeping(waker, 100)(), true, "the wakeNow: at once");
  const next = sleeping(waker, 100);
  clock.advance(10);
  assert.equal(await next(), true, "the wakeSoon still caps this one");
});
