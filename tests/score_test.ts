// The score arithmetic of bench/k6/score.js against the published results (spec §5) and the
// rounding edges of the bonus.
import assert from "node:assert/strict";
import {
  bonus,
  bonusHundredths,
  computeScore,
  formatDecimal,
  parseDecimal,
} from "../bench/k6/score.js";

const cents1990 = 1990;

/** A clean run: every payment at 19.90, fees 5 % / 15 %, no inconsistency, no lag. */
function published(p99Ms: number, defaultCount: number, fallbackCount: number) {
  return computeScore({
    p99Ms,
    defaultAmountCents: defaultCount * cents1990,
    fallbackAmountCents: fallbackCount * cents1990,
    defaultFee: 0.05,
    fallbackFee: 0.15,
    inconsistencies: 0,
    successfulPosts: defaultCount + fallbackCount,
    defaultCount,
    fallbackCount,
  });
}

Deno.test("reproduces the published profits of spec §5 to the cent", () => {
  const cases: [number, number, number, string][] = [
    [1.25, 16_752, 0, "380035.87"],
    [1.30, 16_754, 0, "376913.90"],
    [1.45, 16_752, 0, "376868.91"],
    [2.74, 16_748, 0, "370446.50"],
    [4.01, 16_590, 158, "360589.43"],
  ];
  for (const [p99, def, fb, expected] of cases) {
    assert.equal(published(p99, def, fb).profit.toFixed(2), expected, `p99 ${p99}`);
  }
});

Deno.test("keeps every money figure exact", () => {
  const s = published(4.01, 16_590, 158);
  assert.equal(s.exact.gross, "333285.20");
  // 330,141.00 × 0.05 + 3,144.20 × 0.15 = 16,507.05 + 471.63
  assert.equal(s.exact.fees, "16978.6800");
  assert.equal(s.exact.net, "316306.5200");
  assert.equal(s.exact.profit, "360589.432800");
  assert.equal(s.bonus, 0.14);
  assert.equal(s.fine, 0);
  assert.equal(s.lag, 0);
  assert.equal(s.disqualified, false);
});

Deno.test("bonus rounds half up exactly at the 1.25, 0.75 and 0.25 ms edges", () => {
  assert.equal(bonus(1.25), 0.2);
  assert.equal(bonus(1.2500001), 0.19);
  assert.equal(bonus(1.26), 0.19);
  assert.equal(bonus(1.24), 0.2);
  assert.equal(bonus(0.75), 0.21);
  assert.equal(bonus(0.7500001), 0.2);
  assert.equal(bonus(0.25), 0.22);
  assert.equal(bonus(0.2500001), 0.21);
  assert.equal(bonus(0), 0.22);
  assert.equal(bonusHundredths(1.25), 20);
});

Deno.test("bonus is zero from 11 ms on and never negative", () => {
  assert.equal(bonus(11), 0);
  assert.equal(bonus(10.75), 0.01); // 0.005 rounds up
  assert.equal(bonus(10.7500001), 0);
  assert.equal(bonus(11.25), 0);
  assert.equal(bonus(250), 0);
  assert.throws(() => bonus(Number.NaN), RangeError);
  assert.throws(() => bonus(-1), RangeError);
});

Deno.test("any inconsistency costs 35 % of the net", () => {
  const clean = published(1.25, 10_000, 0);
  const fined = computeScore({
    p99Ms: 1.25,
    defaultAmountCents: 10_000 * cents1990,
    fallbackAmountCents: 0,
    defaultFee: 0.05,
    fallbackFee: 0.15,
    inconsistencies: 1,
    successfulPosts: 10_000,
    defaultCount: 10_000,
    fallbackCount: 0,
  });
  assert.equal(fined.fine, 0.35);
  // net 189,050.00 × (1 + 0.20 − 0.35) = 160,692.50
  assert.equal(fined.exact.profit, "160692.500000");
  assert.equal(clean.exact.profit, "226860.000000");
});

Deno.test("flags a negative lag (more payments claimed than given) as disqualifying", () => {
  const base = {
    p99Ms: 3,
    defaultAmountCents: 100 * cents1990,
    fallbackAmountCents: 2 * cents1990,
    defaultFee: 0.05,
    fallbackFee: 0.15,
    inconsistencies: 0,
    defaultCount: 100,
    fallbackCount: 2,
  };
  const over = computeScore({ ...base, successfulPosts: 101 });
  assert.equal(over.lag, -1);
  assert.equal(over.disqualified, true);
  const behind = computeScore({ ...base, successfulPosts: 110 });
  assert.equal(behind.lag, 8);
  assert.equal(behind.disqualified, false);
});

Deno.test("parses and formats exact decimals", () => {
  assert.deepEqual(parseDecimal(0.05), { units: 5n, scale: 2 });
  assert.deepEqual(parseDecimal("19.90"), { units: 1990n, scale: 2 });
  assert.deepEqual(parseDecimal(1e-7), { units: 1n, scale: 7 });
  assert.deepEqual(parseDecimal(5e3), { units: 5000n, scale: 0 });
  assert.throws(() => parseDecimal("abc"), RangeError);
  assert.equal(formatDecimal(5n, 4), "0.0005");
  assert.equal(formatDecimal(-1234n, 2), "-12.34");
  assert.equal(formatDecimal(7n, 0), "7");
});
