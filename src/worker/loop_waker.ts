// When the claim loop sleeps and what ends the sleep. Three kinds of news reach it, and each
// deserves a different answer:
//   - none: poll after the interval anyway, since retries come due and leases run out with no
//     event to announce them;
//   - work may be waiting right now (a slot freed with a backlog, the NOTIFY listener back after
//     missing notifications, a stop): wake at once;
//   - new payments were queued (here, or by another instance's NOTIFY): wake within coalesceMs
//     rather than at once, so that at a steady trickle one claim (and one settle) serves many
//     payments instead of one each.
// News that arrives while the loop is busy claiming is kept for its next sleep, so none is lost
// between two sleeps.

/** Time and timers, injectable so tests move time by hand instead of waiting for it. */
export interface WakerClock {
  /** Milliseconds since some fixed point. */
  now(): number;
  /** Calls `fn` once after `ms`; the function returned cancels that call. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: WakerClock = {
  now: Date.now,
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface LoopWakerOptions {
  /** The longest a wakeSoon may wait, to gather more payments into one claim. */
  coalesceMs: number;
  /** Default systemClock. */
  clock?: WakerClock;
}

export class LoopWaker {
  /** Ends the current sleep; set only while the loop sleeps. */
  #endSleep?: () => void;
  /** A wakeNow came while the loop was not asleep: the next sleep returns at once. */
  #wakePending = false;
  /** A wakeSoon came while the loop was not asleep: the next sleep lasts coalesceMs at most. */
  #soonPending = false;
  /** When the current sleep ends unless woken earlier (0 while awake). */
  #sleepUntil = 0;
  #cancelTimer?: () => void;
  readonly #coalesceMs: number;
  readonly #clock: WakerClock;

  constructor(options: LoopWakerOptions) {
    this.#coalesceMs = options.coalesceMs;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Sleeps up to `ms`, less if woken. A wakeNow that came while the loop was awake makes this
   * return at once (leaving a pending wakeSoon for the sleep after); a pending wakeSoon caps
   * this sleep at coalesceMs.
   */
  sleep(ms: number): Promise<void> {
    if (this.#wakePending) {
      this.#wakePending = false;
      return Promise.resolve();
    }
    if (this.#soonPending) ms = Math.min(ms, this.#coalesceMs);
    this.#soonPending = false;
    return new Promise((resolve) => {
      const end = () => {
        this.#cancelTimer?.();
        this.#cancelTimer = undefined;
        this.#endSleep = undefined;
        this.#sleepUntil = 0;
        resolve();
      };
      this.#endSleep = end;
      this.#sleepUntil = this.#clock.now() + ms;
      this.#cancelTimer = this.#clock.after(ms, end);
    });
  }

  /** Ends the sleep now, or makes the next one return at once. */
  wakeNow(): void {
    if (this.#endSleep) this.#endSleep();
    else this.#wakePending = true;
  }

  /**
   * Ends the sleep within coalesceMs, or caps the next one at that. Never postpones a wake due
   * sooner: a stream of new payments must not keep the loop asleep.
   */
  wakeSoon(): void {
    if (!this.#endSleep) {
      this.#soonPending = true;
      return;
    }
    const due = this.#clock.now() + this.#coalesceMs;
    if (this.#sleepUntil <= due) return;
    this.#cancelTimer?.();
    this.#sleepUntil = due;
    this.#cancelTimer = this.#clock.after(this.#coalesceMs, this.#endSleep);
  }
}
