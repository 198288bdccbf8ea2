// @ts-self-types="./score.d.ts"
// The official score's arithmetic (spec §4), kept free of k6 imports so that the k6 scenario
// and the Deno tests run the very same code.
//
// Why BigInt: money arrives as JSON numbers with at most two decimals and fees as decimals like
// 0.05. Doing the sums in binary floating point would drift by fractions of a cent and, worse,
// would make the bonus rounding at the 1.25 / 0.75 / 0.25 ms edges depend on how 0.195 happens
// to be represented. Everything here is an exact decimal (integer units × 10^-scale), and the
// only rounding is the one the official rules call for: the bonus, to two decimals.

/**
 * Splits a finite number or numeric string into an exact decimal: units × 10^-scale.
 * A number is taken at its shortest round-trip spelling (String(0.05) === "0.05"), which is
 * the decimal the JSON producer meant.
 * @param {number | string} value
 * @returns {{ units: bigint, scale: number }}
 */
export function parseDecimal(value) {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new RangeError(`not a finite number: ${value}`);
  }
  const text = String(value).trim();
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
  if (!match || (match[2] === "" && (match[3] ?? "") === "")) {
    throw new RangeError(`not a decimal number: ${JSON.stringify(value)}`);
  }
  const [, sign, whole, fraction = "", exponent = "0"] = match;
  let units = BigInt(`${whole}${fraction}` || "0");
  let scale = fraction.length - Number(exponent);
  // A negative scale (e.g. "5e3") becomes a plain integer.
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: sign === "-" ? -units : units, scale };
}

/** @param {{ units: bigint, scale: number }} d @param {number} scale */
function rescale(d, scale) {
  return d.units * 10n ** BigInt(scale - d.scale);
}

/**
 * Renders units × 10^-scale as a plain decimal string, exactly.
 * @param {bigint} units
 * @param {number} scale
 */
export function formatDecimal(units, scale) {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/**
 * The bonus in hundredths (20 = 20 %): round2((11 − p99) × 0.02) with halves rounded up, and
 * never below zero. (11 − p99) × 0.02 × 100 = 22 − 2·p99, computed exactly from the decimal
 * spelling of p99, so 1.25 ms gives exactly 19.5 → 20 and 1.2500001 ms gives 19.4999998 → 19.
 * @param {number} p99Ms
 * @returns {number}
 */
export function bonusHundredths(p99Ms) {
  if (typeof p99Ms !== "number" || !Number.isFinite(p99Ms) || p99Ms < 0) {
    throw new RangeError(`p99 must be a finite, non-negative number of ms, got ${p99Ms}`);
  }
  const p99 = parseDecimal(p99Ms);
  const den = 10n ** BigInt(p99.scale);
  const num = 22n * den - 2n * p99.units; // (22 − 2·p99) × den
  if (num <= 0n) return 0;
  // Half up for a positive value: floor(num/den + 1/2).
  return Number((2n * num + den) / (2n * den));
}

/**
 * bonus(p99) = max(round2((11 − p99) × 0.02), 0), as a fraction (0.2 = 20 %).
 * @param {number} p99Ms
 * @returns {number}
 */
export function bonus(p99Ms) {
  return bonusHundredths(p99Ms) / 100;
}

/** The fine, in hundredths, when any inconsistency was seen. */
export const fineHundredths = 35;

/**
 * @param {number | bigint} value
 * @param {string} name
 * @returns {bigint}
 */
function integer(value, name) {
  if (typeof value === "bigint") return value;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new RangeError(`${name} must be a safe integer, got ${value}`);
  }
  return BigInt(value);
}

/**
 * The official profit, exactly. Amounts are the service's own totals (its /payments-summary),
 * in integer cents; fees are the processors' feePerTransaction.
 * @param {import("./score.d.ts").ScoreInput} input
 * @returns {import("./score.d.ts").Score}
 */
export function computeScore(input) {
  const defaultCents = integer(input.defaultAmountCents, "defaultAmountCents");
  const fallbackCents = integer(input.fallbackAmountCents, "fallbackAmountCents");
  const defaultFee = parseDecimal(input.defaultFee);
  const fallbackFee = parseDecimal(input.fallbackFee);
  const inconsistencies = Number(input.inconsistencies);
  const successfulPosts = integer(input.successfulPosts, "successfulPosts");
  const processedCount = integer(input.defaultCount, "defaultCount") +
    integer(input.fallbackCount, "fallbackCount");

  // Work in cents × 10^-feeScale so that both fees multiply exactly.
  const feeScale = Math.max(defaultFee.scale, fallbackFee.scale);
  const grossCents = defaultCents + fallbackCents;
  const gross = grossCents * 10n ** BigInt(feeScale);
  const fees = defaultCents * rescale(defaultFee, feeScale) +
    fallbackCents * rescale(fallbackFee, feeScale);
  const net = gross - fees;

  const bonusH = bonusHundredths(input.p99Ms);
  const fineH = inconsistencies > 0 ? fineHundredths : 0;
  // profit = net × (1 + bonus − fine) = net × (100 + bonusH − fineH) / 100.
  const profit = net * BigInt(100 + bonusH - fineH);

  // Currency units = cents / 100, so the scales below add 2 for the cents.
  const exact = {
    gross: formatDecimal(grossCents, 2),
    fees: formatDecimal(fees, feeScale + 2),
    net: formatDecimal(net, feeScale + 2),
    profit: formatDecimal(profit, feeScale + 4),
  };
  const lag = successfulPosts - processedCount;
  return {
    gross: Number(exact.gross),
    fees: Number(exact.fees),
    net: Number(exact.net),
    bonus: bonusH / 100,
    fine: fineH / 100,
    profit: Number(exact.profit),
    lag: Number(lag),
    disqualified: lag < 0n,
    exact,
  };
}
