// At most `maxActive` holders at once, up to `maxWaiting` more queued first come first served,
// anyone beyond refused at once — the shape of the official processor's limit on POST /payments.

/**
 * true: admitted now. false: refused (the queue is full). A promise: queued; it resolves to true
 * once admitted, or to false if the limiter is closed first.
 */
export type Admission = boolean | Promise<boolean>;

export class ConcurrencyLimiter {
  readonly maxActive: number;
  readonly maxWaiting: number;
  #active = 0;
  #waiters: Array<(admitted: boolean) => void> = [];
  #closed = false;

  constructor(maxActive: number, maxWaiting: number) {
    this.maxActive = maxActive;
    this.maxWaiting = maxWaiting;
  }

  /** Every admission (true, or a promise resolving to true) must be paired with one release(). */
  acquireSlot(): Admission {
    if (this.#closed) return false;
    if (this.#active < this.maxActive) {
      this.#active += 1;
      return true;
    }
    if (this.#waiters.length >= this.maxWaiting) return false;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  releaseSlot(): void {
    const next = this.#waiters.shift();
    // The slot passes straight to the oldest waiter, so a newcomer can never overtake the queue.
    if (next !== undefined) next(true);
    else this.#active -= 1;
  }

  /** Refuses everyone still waiting and every later caller. */
  closeLimiter(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(false);
  }
}
