// Money arithmetic for the simulator. Amounts live as integer cents and sums as bigint cents, so
// no total ever drifts the way repeated binary-float additions do (0.1 + 0.2 !== 0.3).

/** A number as the exact decimal it was written as: value = units × 10^-scale. */
export interface Decimal {
  units: bigint;
  scale: number;
}

/** Amounts beyond this are refused: their cents would no longer be exact in a double. */
export const maxAmount = 1e13;

/**
 * Rounds an amount to whole cents, half away from zero, on its decimal literal (the shortest
 * form that round-trips, which is what the client wrote): 10.005 is 10.00499999… in binary and
 * would round down if the double itself were rounded. Requires |amount| <= maxAmount.
 */
export function roundToCents(amount: number): number {
  const text = String(Math.abs(amount));
  // Within maxAmount, only magnitudes below 1e-6 print in exponent form: they are 0 cents.
  if (text.includes("e")) return 0;
  const dot = text.indexOf(".");
  const whole = dot < 0 ? text : text.slice(0, dot);
  const fraction = dot < 0 ? "" : text.slice(dot + 1);
  let cents = Number(whole) * 100 + Number(fraction.slice(0, 2).padEnd(2, "0"));
  if (fraction.length > 2 && fraction[2] >= "5") cents += 1;
  return amount < 0 && cents !== 0 ? -cents : cents;
}

/** The exact decimal behind a number's shortest round-trip form (0.05 → 5 × 10^-2). */
export function parseDecimal(value: number): Decimal {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value));
  if (match === null) throw new RangeError(`not a finite number: ${value}`);
  const [, sign, whole, fraction = "", exponent = "0"] = match;
  const units = BigInt(sign + whole + fraction);
  const scale = fraction.length - Number(exponent);
  return scale >= 0 ? { units, scale } : { units: units * 10n ** BigInt(-scale), scale: 0 };
}

/** Cents as a JSON-ready number: the double nearest to the exact decimal value. */
export function centsToAmount(cents: bigint | number): number {
  return Number(`${cents}e-2`);
}

/**
 * totalCents × fee computed exactly (a product of two decimals is a decimal), then turned into
 * the nearest double once: 19.90 × 0.05 gives 0.995, not 0.9950000000000001.
 */
export function computeFee(totalCents: bigint, fee: Decimal): number {
  return Number(`${totalCents * fee.units}e-${fee.scale + 2}`);
}
