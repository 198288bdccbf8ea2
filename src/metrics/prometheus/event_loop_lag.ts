// Event-loop lag: a timer asks to fire every intervalMs and measures how late it actually
// fires. The delay is time the loop spent on other work (long synchronous tasks, GC pauses) or
// time the process was not scheduled at all (a CPU quota throttling the container); either
// way it is added to every request and every processor call at that moment.

export interface LagSamplerOptions {
  /** How often to sample; default 500 ms. */
  intervalMs?: number;
  /** Receives each sample's lag in seconds (never negative). */
  record: (lagSeconds: number) => void;
}

export class EventLoopLagSampler {
  readonly #intervalMs: number;
  readonly #record: (lagSeconds: number) => void;
  #timer?: ReturnType<typeof setTimeout>;
  #due = 0;

  constructor(options: LagSamplerOptions) {
    this.#intervalMs = options.intervalMs ?? 500;
    this.#record = options.record;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  start(): void {
    if (this.#timer === undefined) this.#schedule();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    // A fresh timeout each time (not setInterval), so each sample measures one wait from its
    // own due time and a long stall is reported once, not smeared over catch-up firings.
    this.#due = performance.now() + this.#intervalMs;
    const timer = setTimeout(this.#fire, this.#intervalMs);
    // Sampling alone must never keep a process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  readonly #fire = (): void => {
    const lagMs = Math.max(0, performance.now() - this.#due);
    this.#schedule();
    this.#record(lagMs / 1000);
  };
}

/** The largest of the last `size` values: "worst stall lately", which a histogram blurs. */
export class RecentMax {
  readonly #values: Float64Array;
  #next = 0;

  constructor(size: number) {
    this.#values = new Float64Array(size);
  }

  push(value: number): void {
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.#values.length;
  }

  max(): number {
    let max = 0;
    for (const v of this.#values) if (v > max) max = v;
    return max;
  }
}
