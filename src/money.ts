// Money crosses the service as integer cents (bigint). JSON numbers are converted once, at the
// edge, with an exactness check; sums are added in Postgres as bigint and printed from bigint.

/**
 * The cents of a JSON amount, or undefined when it is not a positive number with at most two
 * decimals. A double read from "19.90" is the closest double to 19.9; it has two decimals
 * exactly when scaling it to cents and back lands on the same double.
 */
export function amountToCents(amount: unknown): bigint | undefined {
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount <= 0) return undefined;
  const cents = Math.round(amount * 100);
  if (!Number.isSafeInteger(cents) || cents / 100 !== amount) return undefined;
  return BigInt(cents);
}

/** Decimal text for JSON, e.g. 1990n → "19.9", 5n → "0.05", 0n → "0". */
export function formatCents(cents: bigint): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? "." + frac : ""}`;
}
