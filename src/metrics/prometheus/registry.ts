// A set of instruments rendered together for one /metrics endpoint.
import { Counter } from "./counter.ts";
import { contentType } from "./exposition.ts";
import { Gauge, type GaugeOptions } from "./gauge.ts";
import { Histogram, type HistogramOptions } from "./histogram.ts";
import type { Metric, MetricOptions } from "./metric.ts";

/** The Content-Type to answer a scrape with. */
export const exposition = contentType;

export interface RegistryOptions {
  /** A collect callback failed; its gauge is left out of this scrape. */
  onCollectError?: (metric: string, error: unknown) => void;
}

export class Registry {
  readonly #metrics = new Map<string, Metric>();
  readonly #onCollectError: (metric: string, error: unknown) => void;

  constructor(options: RegistryOptions = {}) {
    this.#onCollectError = options.onCollectError ?? (() => {});
  }

  register<M extends Metric>(metric: M): M {
    if (this.#metrics.has(metric.name)) {
      throw new Error(`metric already registered: ${metric.name}`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  counter<const L extends readonly string[] = readonly []>(options: MetricOptions<L>): Counter<L> {
    return this.register(new Counter(options));
  }

  gauge<const L extends readonly string[] = readonly []>(options: GaugeOptions<L>): Gauge<L> {
    return this.register(new Gauge(options));
  }

  histogram<const L extends readonly string[] = readonly []>(
    options: HistogramOptions<L>,
  ): Histogram<L> {
    return this.register(new Histogram(options));
  }

  /** Runs every collect callback (concurrently), then renders all metrics in registration order. */
  async render(): Promise<string> {
    const metrics = [...this.#metrics.values()];
    // async: a collect that throws synchronously becomes a rejection like the others.
    const results = await Promise.allSettled(metrics.map(async (m) => await m.collect?.()));
    results.forEach((r, i) => {
      if (r.status === "rejected") this.#onCollectError(metrics[i].name, r.reason);
    });
    const lines: string[] = [];
    for (const metric of metrics) metric.render(lines);
    return lines.length ? lines.join("\n") + "\n" : "";
  }
}
