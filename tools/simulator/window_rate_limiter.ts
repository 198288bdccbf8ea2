// One permit per fixed window, with a short queue served oldest first, one caller per later
// window — the official processor's limit on GET /payments/service-health.
//
// A window opens when a permit is granted with no window running, and lasts `windowMs`. Anchoring
// windows to use rather than to a clock grid keeps the outcome of a burst independent of where
// the burst happens to fall on the grid. A timer exists only while someone waits, so an idle
// limiter costs nothing and leaves nothing behind. A caller that hangs up while queued keeps its
// place: Deno's request.signal also fires on every successful response, so it cannot tell a
// disconnect in time, and a stale waiter only costs its own window.

import type { Admission } from "./concurrency_limiter.ts";

export class WindowRateLimiter {
  readonly windowMs: number;
  readonly maxWaiting: number;
  #windowEnd = -Infinity;
  #waiters: Array<(granted: boolean) => void> = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(windowMs: number, maxWaiting: number) {
    this.windowMs = windowMs;
    this.maxWaiting = maxWaiting;
  }

  /**
   * true: granted now. false: refused (window used and queue full). A promise: queued; it resolves
   * to true when granted in a later window, or to false if the limiter closes first.
   */
  acquirePermit(): Admission {
    if (this.#closed) return false;
    const now = performance.now();
    if (this.#waiters.length === 0 && now >= this.#windowEnd) {
      this.#windowEnd = now + this.windowMs;
      return true;
    }
    if (this.#waiters.length >= this.maxWaiting) return false;
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#scheduleGrant();
    });
  }

  /** Refuses everyone waiting and every later caller, and cancels the timer. */
  closeLimiter(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#waiters.splice(0)) waiter(false);
  }

  #scheduleGrant(): void {
    if (this.#timer !== undefined || this.#waiters.length === 0) return;
    const wait = Math.max(0, Math.ceil(this.#windowEnd - performance.now()));
    this.#timer = setTimeout(() => this.#grantNext(), wait);
  }

  #grantNext(): void {
    this.#timer = undefined;
    const now = performance.now();
    // Timers are rounded to whole milliseconds: never open the next window before this one ends.
    if (now >= this.#windowEnd) {
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) {
        this.#windowEnd = now + this.windowMs;
        waiter(true);
      }
    }
    this.#scheduleGrant();
  }
}
