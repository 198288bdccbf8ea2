// The simulator's settings, their defaults and the rules they must satisfy. The CLI's
// environment parsing shares these rules so both paths refuse the same values.

export interface SimulatorOptions {
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** Default "127.0.0.1". */
  hostname?: string;
  /** Share of each amount charged as a fee. Default 0.05. */
  transactionFee?: number;
  /** Health-check window in seconds; fractions allowed (for tests). Default 5. */
  rateLimitSeconds?: number;
  /** Admin token until changed through the API. Default "123". */
  initialToken?: string;
}

export type ResolvedOptions = Required<SimulatorOptions>;

export const defaultOptions: ResolvedOptions = {
  port: 0,
  hostname: "127.0.0.1",
  transactionFee: 0.05,
  rateLimitSeconds: 5,
  initialToken: "123",
};

interface Rule<T> {
  expected: string;
  accepts(value: T): boolean;
}

export const optionRules: { [K in keyof ResolvedOptions]: Rule<ResolvedOptions[K]> } = {
  port: {
    expected: "an integer from 0 to 65535",
    accepts: (v) => Number.isInteger(v) && v >= 0 && v <= 65535,
  },
  hostname: { expected: "a non-empty host name or IP address", accepts: (v) => v.length > 0 },
  transactionFee: {
    expected: "a number from 0 to 1 (0.05 = 5 %)",
    accepts: (v) => Number.isFinite(v) && v >= 0 && v <= 1,
  },
  rateLimitSeconds: {
    // The upper bound keeps the window within what setTimeout can wait (about 24.8 days).
    expected: "a number of seconds above 0 and at most 86400",
    accepts: (v) => Number.isFinite(v) && v > 0 && v <= 86400,
  },
  initialToken: { expected: "a non-empty string", accepts: (v) => v.length > 0 },
};

/** Fills in defaults; throws a RangeError naming the first invalid option. */
export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const resolved = { ...defaultOptions };
  for (const key of Object.keys(defaultOptions) as Array<keyof ResolvedOptions>) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== typeof defaultOptions[key] || !acceptsValue(key, value)) {
      throw new RangeError(`${key} must be ${optionRules[key].expected}, got ${String(value)}`);
    }
    Object.assign(resolved, { [key]: value });
  }
  return resolved;
}

function acceptsValue<K extends keyof ResolvedOptions>(
  key: K,
  value: ResolvedOptions[K],
): boolean {
  return optionRules[key].accepts(value);
}
