// Natural batching: an item submitted while no flush is running is flushed at once, alone, so
// light load pays no added latency; items that arrive while flushes are running wait for the
// next one and go together, so heavy load costs one statement (one commit) per batch instead
// of one per item. With `lingerMs`, a flush that would start from idle waits that long first,
// gathering what arrives meanwhile: for writes nobody is waiting on (settlements), where
// fewer, larger statements matter more than a few milliseconds. An item submitted `atOnce`
// ends the linger: it and everything waiting go now.

export type FlushFn<T, R> = (items: T[]) => Promise<R[]>;

export interface BatcherOptions {
  /** Flushes allowed at once (each holds one database connection). */
  maxConcurrent: number;
  /** Items per flush (bounds statement size); a full batch never lingers. */
  maxBatch: number;
  /** How long a flush starting from idle waits for company (default 0: not at all). */
  lingerMs?: number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Batcher<T, R> {
  #waiting: Waiting<T, R>[] = [];
  #running = 0;
  #idle: (() => void)[] = [];
  #linger?: ReturnType<typeof setTimeout>;
  #lingered = false;
  readonly #maxConcurrent: number;
  readonly #maxBatch: number;
  readonly #lingerMs: number;

  /** @param flush runs one batch; must return one result per item, in order. */
  constructor(private readonly flush: FlushFn<T, R>, options: BatcherOptions) {
    this.#maxConcurrent = options.maxConcurrent;
    this.#maxBatch = options.maxBatch;
    this.#lingerMs = options.lingerMs ?? 0;
  }

  submit(item: T, options?: { atOnce?: boolean }): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (options?.atOnce) this.#endLinger();
      this.#pump();
    });
  }

  get pending(): number {
    return this.#waiting.length + this.#running;
  }

  /** Resolves once nothing is waiting or running. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The next flush starts without lingering (the items waiting need not wait any longer). */
  #endLinger(): void {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    this.#lingered = true;
  }

  #pump(): void {
    if (this.#linger !== undefined) {
      if (this.#waiting.length < this.#maxBatch) return;
      clearTimeout(this.#linger);
      this.#linger = undefined;
    }
    while (this.#running < this.#maxConcurrent && this.#waiting.length > 0) {
      const lingerNow = this.#lingerMs > 0 && this.#running === 0 && !this.#lingered &&
        this.#waiting.length < this.#maxBatch;
      if (lingerNow) {
        this.#linger = setTimeout(() => {
          this.#linger = undefined;
          this.#lingered = true;
          this.#pump();
        }, this.#lingerMs);
        return;
      }
      this.#lingered = false;
      const batch = this.#waiting.splice(0, this.#maxBatch);
      this.#running++;
      this.#run(batch);
    }
    if (this.pending === 0) this.#idle.splice(0).forEach((resolve) => resolve());
  }

  async #run(batch: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await this.flush(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (err) {
      batch.forEach((w) => w.reject(err));
    } finally {
      this.#running--;
      this.#pump();
    }
  }
}
