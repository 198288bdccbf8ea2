// Natural batching: an item submitted while no flush is running is flushed at once, alone, so
// light load pays no added latency; items that arrive while flushes are running wait for the
// next one and go together, so heavy load costs one statement (one commit) per batch instead
// of one per item.

export type FlushFn<T, R> = (items: T[]) => Promise<R[]>;

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Batcher<T, R> {
  #waiting: Waiting<T, R>[] = [];
  #running = 0;
  #idle: (() => void)[] = [];

  /**
   * @param flush runs one batch; must return one result per item, in order.
   * @param maxConcurrent flushes allowed at once (each holds one database connection).
   * @param maxBatch items per flush (bounds statement size).
   */
  constructor(
    private readonly flush: FlushFn<T, R>,
    private readonly maxConcurrent: number,
    private readonly maxBatch: number,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
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

  #pump(): void {
    while (this.#running < this.maxConcurrent && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.maxBatch);
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
