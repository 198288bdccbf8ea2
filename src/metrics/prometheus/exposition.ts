// Text exposition format 0.0.4 (what Prometheus scrapes): name and label checks, escaping and
// number formatting. Everything here runs when a series is created or rendered, never per
// observation.

export const contentType = "text/plain; version=0.0.4; charset=utf-8";

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function assertMetricName(name: string): void {
  if (!metricNamePattern.test(name)) {
    throw new Error(`invalid metric name: ${JSON.stringify(name)}`);
  }
}

/** `reserved` lists names the metric type adds itself (`le` for histograms). */
export function assertLabelNames(names: readonly string[], reserved: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const name of names) {
    // Names starting with __ belong to Prometheus itself.
    if (!labelNamePattern.test(name) || name.startsWith("__") || reserved.includes(name)) {
      throw new Error(`invalid label name: ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw new Error(`duplicate label name: ${name}`);
    seen.add(name);
  }
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** HELP text escapes backslash and line feed only (quotes are literal there). */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/** `a="x",b="y"`, without braces, so histograms can append their `le` pair. */
export function formatLabelPairs(names: readonly string[], values: readonly string[]): string {
  return names.map((name, i) => `${name}="${escapeLabelValue(values[i])}"`).join(",");
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** One sample line; `pairs` as made by formatLabelPairs (possibly empty). */
export function formatSample(name: string, pairs: string, value: number): string {
  return pairs ? `${name}{${pairs}} ${formatValue(value)}` : `${name} ${formatValue(value)}`;
}

export function formatHeader(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}`;
}
