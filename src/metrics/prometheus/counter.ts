// A monotonically increasing count, optionally split by labels.
import { Children, type LabelValues } from "./children.ts";
import { assertLabelNames, assertMetricName, formatHeader, formatSample } from "./exposition.ts";
import type { Metric, MetricOptions } from "./metric.ts";

export class CounterChild {
  value = 0;

  inc(amount = 1): void {
    // A decrease would read as a counter reset to rate(); refuse it (also refuses NaN).
    if (!(amount >= 0)) throw new Error(`counter increment must be >= 0, got ${amount}`);
    this.value += amount;
  }
}

export class Counter<L extends readonly string[] = readonly []> implements Metric {
  readonly type = "counter";
  readonly name: string;
  readonly help: string;
  readonly #children: Children<CounterChild>;
  readonly #unlabelled?: CounterChild;

  constructor(options: MetricOptions<L>) {
    const labelNames = options.labelNames ?? [];
    assertMetricName(options.name);
    assertLabelNames(labelNames);
    this.name = options.name;
    this.help = options.help;
    this.#children = new Children(labelNames, () => new CounterChild());
    // A counter without labels shows 0 from the first scrape, so rate() has a starting point.
    if (labelNames.length === 0) this.#unlabelled = this.#children.get([]);
  }

  /** The series for these label values; keep the result to skip even the lookup. */
  labels(...values: LabelValues<L>): CounterChild {
    return this.#children.get(values);
  }

  /** For counters declared without labels. */
  inc(this: Counter<readonly []>, amount = 1): void {
    if (!this.#unlabelled) throw new Error(`${this.name} has labels: use labels(...).inc()`);
    this.#unlabelled.inc(amount);
  }

  render(lines: string[]): void {
    lines.push(formatHeader(this.name, this.help, this.type));
    for (const { pairs, child } of this.#children.entries()) {
      lines.push(formatSample(this.name, pairs, child.value));
    }
  }
}
