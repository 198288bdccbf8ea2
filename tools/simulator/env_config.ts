// The CLI's settings, read from the environment like the official container's, checked against
// the same rules as startSimulator's options so a bad value fails at start with a clear message.

import { optionRules, type ResolvedOptions } from "./options.ts";

/** Environment variable for each option, and its default when unset or empty. */
const variables: { [K in keyof ResolvedOptions]: { name: string; fallback: string } } = {
  port: { name: "PORT", fallback: "8080" },
  // Loopback by default: the simulator needs no wider exposure on a shared machine. In a
  // container set HOSTNAME=0.0.0.0 explicitly (Docker itself sets HOSTNAME to the container id).
  hostname: { name: "HOSTNAME", fallback: "127.0.0.1" },
  transactionFee: { name: "TRANSACTION_FEE", fallback: "0.05" },
  rateLimitSeconds: { name: "RATE_LIMIT_SECONDS", fallback: "5" },
  initialToken: { name: "INITIAL_TOKEN", fallback: "123" },
};

const numericOptions = new Set<keyof ResolvedOptions>([
  "port",
  "transactionFee",
  "rateLimitSeconds",
]);

/** The options the environment asks for; throws one Error listing every invalid variable. */
export function readEnvOptions(
  readVariable: (name: string) => string | undefined,
): ResolvedOptions {
  const options: Record<string, string | number> = {};
  const problems: string[] = [];
  for (const key of Object.keys(variables) as Array<keyof ResolvedOptions>) {
    const { name, fallback } = variables[key];
    const text = readVariable(name)?.trim() || fallback;
    const value = numericOptions.has(key) ? parseNumber(text) : text;
    const rule = optionRules[key] as { expected: string; accepts(v: unknown): boolean };
    if (Number.isNaN(value) || !rule.accepts(value)) {
      problems.push(`${name}=${JSON.stringify(text)} is invalid: expected ${rule.expected}`);
    }
    options[key] = value;
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return options as unknown as ResolvedOptions;
}

/** Number() would read "" as 0 and accept "0x10"; only plain decimal notation is allowed. */
function parseNumber(text: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
}
