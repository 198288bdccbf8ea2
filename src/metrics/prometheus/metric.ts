// What the registry needs from an instrument.
export type MetricType = "counter" | "gauge" | "histogram";

export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** Refreshes values computed at scrape time; may reject (the registry reports it). */
  collect?(): Promise<void>;
  /** Appends the HELP and TYPE lines and every sample line. */
  render(lines: string[]): void;
}

export interface MetricOptions<L extends readonly string[]> {
  name: string;
  help: string;
  /** Label names in the order `labels(...)` takes their values. */
  labelNames?: L;
}
