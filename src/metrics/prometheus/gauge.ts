// A value that goes up and down: set by the code that knows it, or read at scrape time by a
// collect callback (queue depth from Postgres, processor health from the router).
import { Children, type LabelValues } from "./children.ts";
import { assertLabelNames, assertMetricName, formatHeader, formatSample } from "./exposition.ts";
import type { Metric, MetricOptions } from "./metric.ts";

const noValues: readonly string[] = [];

export class GaugeChild {
  value = 0;

  set(value: number): void {
    this.value = value;
  }

  inc(amount = 1): void {
    this.value += amount;
  }

  dec(amount = 1): void {
    this.value -= amount;
  }
}

export interface GaugeOptions<L extends readonly string[]> extends MetricOptions<L> {
  /** Called on every scrape before rendering; sets the gauge's values (may be async). */
  collect?: (gauge: Gauge<L>) => void | Promise<void>;
}

export class Gauge<L extends readonly string[] = readonly []> implements Metric {
  readonly type = "gauge";
  readonly name: string;
  readonly help: string;
  readonly #labelled: boolean;
  readonly #children: Children<GaugeChild>;
  readonly #collect?: (gauge: Gauge<L>) => void | Promise<void>;

  constructor(options: GaugeOptions<L>) {
    const labelNames = options.labelNames ?? [];
    assertMetricName(options.name);
    assertLabelNames(labelNames);
    this.name = options.name;
    this.help = options.help;
    this.#labelled = labelNames.length > 0;
    this.#children = new Children(labelNames, () => new GaugeChild());
    this.#collect = options.collect;
    if (!this.#labelled) this.#children.get(noValues);
  }

  labels(...values: LabelValues<L>): GaugeChild {
    return this.#children.get(values);
  }

  /** set, inc and dec on the gauge itself are for gauges declared without labels. */
  set(this: Gauge<readonly []>, value: number): void {
    this.#unlabelled().set(value);
  }

  inc(this: Gauge<readonly []>, amount = 1): void {
    this.#unlabelled().inc(amount);
  }

  dec(this: Gauge<readonly []>, amount = 1): void {
    this.#unlabelled().dec(amount);
  }

  async collect(): Promise<void> {
    if (!this.#collect) return;
    try {
      await this.#collect(this);
    } catch (err) {
      // Better no sample than a stale one that looks current: the series disappear from this
      // scrape (and from alerts comparing them) until a collect succeeds again.
      this.#children.clear();
      throw err;
    }
  }

  render(lines: string[]): void {
    lines.push(formatHeader(this.name, this.help, this.type));
    for (const { pairs, child } of this.#children.entries()) {
      lines.push(formatSample(this.name, pairs, child.value));
    }
  }

  #unlabelled(): GaugeChild {
    if (this.#labelled) throw new Error(`${this.name} has labels: use labels(...)`);
    return this.#children.get(noValues);
  }
}
