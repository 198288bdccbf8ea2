// Types of score.js for `deno check` (k6 runs the plain JavaScript).

export interface ScoreInput {
  /** p(99) of http_req_duration{expected_response:true}, in ms. */
  p99Ms: number;
  /** The service's default totalAmount, in integer cents. */
  defaultAmountCents: number | bigint;
  /** The service's fallback totalAmount, in integer cents. */
  fallbackAmountCents: number | bigint;
  /** The default processor's feePerTransaction (e.g. 0.05). */
  defaultFee: number | string;
  /** The fallback processor's feePerTransaction (e.g. 0.15). */
  fallbackFee: number | string;
  /** Sum of the consistency audit's per-check differences. */
  inconsistencies: number;
  /** POST /payments answered 200, 201, 202 or 204. */
  successfulPosts: number | bigint;
  /** The service's default totalRequests. */
  defaultCount: number | bigint;
  /** The service's fallback totalRequests. */
  fallbackCount: number | bigint;
}

export interface Score {
  /** Currency units (not cents). */
  gross: number;
  fees: number;
  net: number;
  /** Fraction: 0.2 = 20 %. */
  bonus: number;
  /** 0.35 when any inconsistency was seen, else 0. */
  fine: number;
  /** (gross − fees) × (1 + bonus − fine). */
  profit: number;
  /** successfulPosts − (defaultCount + fallbackCount). */
  lag: number;
  /** lag < 0: the service claims payments it was never given. */
  disqualified: boolean;
  /** The same money figures as exact decimal strings. */
  exact: { gross: string; fees: string; net: string; profit: string };
}

export function parseDecimal(value: number | string): { units: bigint; scale: number };
export function formatDecimal(units: bigint, scale: number): string;
export function bonusHundredths(p99Ms: number): number;
export function bonus(p99Ms: number): number;
export const fineHundredths: number;
export function computeScore(input: ScoreInput): Score;
