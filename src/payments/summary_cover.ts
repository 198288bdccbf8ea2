// How a summary range splits between rollup buckets and raw rows (sql/006_summary_rollups.sql):
// the whole seconds inside [from, to] are covered by buckets, largest first, and what is left
// at each end (less than a second) is read raw. Pure arithmetic on epoch milliseconds, so that
// the one summary statement gets at most a handful of bucket ranges whatever the range's size.

/** Bucket sizes in seconds, largest first; the same four as payment_rollups' check. */
export const bucketSizesSeconds = [86_400, 3_600, 60, 1] as const;

/** Buckets of one size whose start lies in [from, before); ±Infinity for an open end. */
export interface BucketRange {
  seconds: number;
  fromMs: number;
  beforeMs: number;
}

export interface SummaryCover {
  /** Covered by buckets: [fromMs, beforeMs). Absent when the range holds no whole second. */
  covered?: { fromMs: number; beforeMs: number };
  buckets: BucketRange[];
}

const ceilTo = (ms: number, stepMs: number) => Math.ceil(ms / stepMs) * stepMs;
const floorTo = (ms: number, stepMs: number) => Math.floor(ms / stepMs) * stepMs;

/**
 * The cover of [from, to], both inclusive, either open. Timestamps from a Date are whole
 * milliseconds, so a bucket [s, s + 1 s) lies inside [from, to] exactly when s ≥ from and
 * s + 1 s ≤ to: the covered part is [ceil(from), floor(to)) in whole seconds.
 */
export function coverRange(from: Date | undefined, to: Date | undefined): SummaryCover {
  const lo = from ? ceilTo(from.getTime(), 1_000) : -Infinity;
  const hi = to ? floorTo(to.getTime(), 1_000) : Infinity;
  if (!(lo < hi)) return { buckets: [] };
  const buckets: BucketRange[] = [];
  splitRange(lo, hi, 0, buckets);
  return { covered: { fromMs: lo, beforeMs: hi }, buckets };
}

/** Covers [lo, hi) with buckets of size index `level` and smaller ones at the ends. */
function splitRange(lo: number, hi: number, level: number, out: BucketRange[]): void {
  if (!(lo < hi)) return;
  const seconds = bucketSizesSeconds[level];
  const stepMs = seconds * 1_000;
  if (level === bucketSizesSeconds.length - 1) {
    out.push({ seconds, fromMs: lo, beforeMs: hi });
    return;
  }
  // ±Infinity stays itself under ceil/floor, so an open end is covered by the largest size.
  const innerLo = ceilTo(lo, stepMs);
  const innerHi = floorTo(hi, stepMs);
  if (innerLo < innerHi) {
    out.push({ seconds, fromMs: innerLo, beforeMs: innerHi });
    splitRange(lo, innerLo, level + 1, out);
    splitRange(innerHi, hi, level + 1, out);
  } else {
    splitRange(lo, hi, level + 1, out);
  }
}

/** An epoch-millisecond bound as Postgres timestamptz text (±infinity for open ends). */
export function timestampText(ms: number): string {
  if (ms === -Infinity) return "-infinity";
  if (ms === Infinity) return "infinity";
  return new Date(ms).toISOString();
}
