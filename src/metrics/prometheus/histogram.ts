// A distribution over fixed buckets (upper bounds in seconds for durations). An observation
// increments one slot; the cumulative `le` counts Prometheus expects are summed at render.
import { Children, type LabelValues } from "./children.ts";
import {
  assertLabelNames,
  assertMetricName,
  formatHeader,
  formatSample,
  formatValue,
} from "./exposition.ts";
import type { Metric, MetricOptions } from "./metric.ts";

export class HistogramChild {
  /** Per-bucket counts, not cumulative; the last slot is the +Inf bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // One NaN would turn _sum into NaN for the life of the process: drop it instead.
    if (value !== value) return;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export interface HistogramOptions<L extends readonly string[]> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing; +Inf is added. */
  buckets: readonly number[];
}

export class Histogram<L extends readonly string[] = readonly []> implements Metric {
  readonly type = "histogram";
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  readonly #leText: string[];
  readonly #children: Children<HistogramChild>;
  readonly #unlabelled?: HistogramChild;

  constructor(options: HistogramOptions<L>) {
    const labelNames = options.labelNames ?? [];
    assertMetricName(options.name);
    assertLabelNames(labelNames, ["le"]);
    const bounds = options.buckets.filter((b) => b !== Infinity);
    bounds.forEach((b, i) => {
      if (!Number.isFinite(b) || (i > 0 && b <= bounds[i - 1])) {
        throw new Error(`${options.name}: buckets must be finite and strictly increasing`);
      }
    });
    this.name = options.name;
    this.help = options.help;
    this.buckets = bounds;
    this.#leText = [...bounds, Infinity].map((b) => `le="${formatValue(b)}"`);
    this.#children = new Children(labelNames, () => new HistogramChild(bounds));
    if (labelNames.length === 0) this.#unlabelled = this.#children.get([]);
  }

  labels(...values: LabelValues<L>): HistogramChild {
    return this.#children.get(values);
  }

  /** For histograms declared without labels. */
  observe(this: Histogram<readonly []>, value: number): void {
    if (!this.#unlabelled) throw new Error(`${this.name} has labels: use labels(...).observe()`);
    this.#unlabelled.observe(value);
  }

  render(lines: string[]): void {
    lines.push(formatHeader(this.name, this.help, this.type));
    const bucketName = `${this.name}_bucket`;
    for (const { pairs, child } of this.#children.entries()) {
      const prefix = pairs ? `${pairs},` : "";
      let cumulative = 0;
      child.counts.forEach((n, i) => {
        cumulative += n;
        lines.push(formatSample(bucketName, prefix + this.#leText[i], cumulative));
      });
      lines.push(formatSample(`${this.name}_sum`, pairs, child.sum));
      lines.push(formatSample(`${this.name}_count`, pairs, child.count));
    }
  }
}
