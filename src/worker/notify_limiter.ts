// Limits how often an event is acted on: at most once per interval, with one trailing call so
// that the last event of a burst is never lost. The service sends its NOTIFY through it (each
// NOTIFY commit takes a cluster-wide lock, and one per interval wakes every listener as well
// as a hundred would).

export interface NotifyLimiterOptions {
  intervalMs: number;
  /** Milliseconds since some fixed point; injectable for tests. Default Date.now. */
  now?: () => number;
}

export class NotifyLimiter {
  #last = Number.NEGATIVE_INFINITY;
  #timer?: ReturnType<typeof setTimeout>;
  readonly #intervalMs: number;
  readonly #now: () => number;

  constructor(private readonly fn: () => void, options: NotifyLimiterOptions) {
    this.#intervalMs = options.intervalMs;
    this.#now = options.now ?? Date.now;
  }

  /** Acts now if the interval has passed since the last time, else once when it has. */
  call(): void {
    const wait = this.#last + this.#intervalMs - this.#now();
    if (wait <= 0) {
      this.#fire();
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#fire();
      }, wait);
    }
  }

  /** Drops a pending trailing call (on shutdown). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#last = this.#now();
    this.fn();
  }
}
