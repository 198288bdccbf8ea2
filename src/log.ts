// One JSON line per event on stderr, filtered by level. Quiet on the hot path by design:
// per-request logging is debug-only.
export type Level = "debug" | "info" | "warn" | "error";

const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

function describe(value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}

export type LogFormat = "json" | "pretty";

/** "12:34:56.789 WARN claim_failed err=…": for a person watching `deno task dev`. */
function formatPretty(entry: Record<string, unknown>): string {
  const { t, level, event, ...rest } = entry;
  const fields = Object.entries(rest).map(([k, v]) =>
    `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
  );
  return [String(t).slice(11, 23), String(level).toUpperCase().padEnd(5), event, ...fields]
    .join(" ");
}

export function createLogger(
  level: Level,
  base: Record<string, unknown> = {},
  format: LogFormat = "json",
): Logger {
  const write = (l: Level) => (event: string, fields: Record<string, unknown> = {}) => {
    if (rank[l] < rank[level]) return;
    const entry: Record<string, unknown> = { t: new Date().toISOString(), level: l, event };
    for (const [k, v] of Object.entries({ ...base, ...fields })) entry[k] = describe(v);
    console.error(format === "pretty" ? formatPretty(entry) : JSON.stringify(entry));
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
