// A token bucket that paces the worker's claims. Draining a backlog as fast as the processors
// allow saturates both cores for seconds, and every acknowledgement waiting behind that burst
// lands in the p99; pacing spreads the same work over a little more time.

export class TokenBucket {
  #tokens: number;
  #last: number;

  /** @param ratePerSec tokens added per second (0 = unlimited); @param burst the bucket size. */
  constructor(private readonly ratePerSec: number, readonly burst: number, now: number) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Whole tokens available now. */
  available(now: number): number {
    if (this.ratePerSec === 0) return Number.POSITIVE_INFINITY;
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#last) * this.ratePerSec / 1000);
    this.#last = now;
    return Math.floor(this.#tokens);
  }

  take(n: number): void {
    if (this.ratePerSec !== 0) this.#tokens -= n;
  }

  /** Milliseconds until `n` whole tokens are there (at most the burst). */
  msUntil(n: number): number {
    const wanted = Math.min(n, this.burst);
    if (this.ratePerSec === 0 || this.#tokens >= wanted) return 0;
    return Math.ceil((wanted - this.#tokens) * 1000 / this.ratePerSec);
  }
}
