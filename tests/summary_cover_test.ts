// The summary's split of a range into rollup buckets and raw ends (src/payments/summary_cover.ts),
// checked against its definition for random ranges: every bucket is aligned to its size and
// lies inside the range, the buckets do not overlap and fill the covered part exactly, and what
// is left at each end is less than a second.
import assert from "node:assert/strict";
import fc from "fast-check";
import { bucketSizesSeconds, coverRange } from "../src/payments/summary_cover.ts";

const day = 86_400_000;
// Instants near a day boundary, so that every bucket size has an edge to fall on or beside.
const anchor = Date.UTC(2025, 6, 16);
const instant = fc.oneof(
  fc.integer({ min: -3 * day, max: 3 * day }),
  fc.constantFrom(0, 1, -1, 999, 1_000, 1_001, 59_999, 60_000, 3_599_999, 3_600_000, day - 1, day)
    .chain((k) => fc.constantFrom(k, -k)),
).map((ms) => anchor + ms);
const bound = fc.option(instant, { nil: undefined });

Deno.test("a cover's buckets are aligned, disjoint, inside the range, and fill what they cover", () => {
  fc.assert(
    fc.property(bound, bound, (fromMs, toMs) => {
      const from = fromMs === undefined ? undefined : new Date(fromMs);
      const to = toMs === undefined ? undefined : new Date(toMs);
      const cover = coverRange(from, to);
      const lo = fromMs ?? -Infinity;
      const hi = toMs ?? Infinity;
      if (!cover.covered) {
        assert.equal(cover.buckets.length, 0);
        // Nothing covered only when no whole second fits: the raw read is under 2 s long.
        assert.ok(fromMs !== undefined && toMs !== undefined && toMs - fromMs < 2_000);
        return;
      }
      const { fromMs: cLo, beforeMs: cHi } = cover.covered;
      // The raw ends are under a second each and the covered part lies inside [from, to].
      assert.ok(cLo >= lo && (fromMs === undefined ? cLo === -Infinity : cLo - lo < 1_000));
      assert.ok(cHi <= hi && (toMs === undefined ? cHi === Infinity : hi - cHi < 1_000));
      const sorted = [...cover.buckets].sort((a, b) => a.fromMs - b.fromMs);
      let at = cLo;
      for (const b of sorted) {
        assert.ok((bucketSizesSeconds as readonly number[]).includes(b.seconds));
        const step = b.seconds * 1_000;
        assert.equal(b.fromMs, at, "buckets are contiguous and disjoint");
        assert.ok(b.fromMs < b.beforeMs);
        for (const edge of [b.fromMs, b.beforeMs]) {
          assert.ok(!Number.isFinite(edge) || edge % step === 0, "aligned to the bucket size");
        }
        at = b.beforeMs;
      }
      assert.equal(at, cHi);
      // Largest sizes first: at most two ranges per size, whatever the range's length.
      assert.ok(cover.buckets.length <= 2 * bucketSizesSeconds.length - 1);
    }),
    { numRuns: 5_000 },
  );
});

Deno.test("an open range is one bucket range of the largest size", () => {
  assert.deepEqual(coverRange(undefined, undefined).buckets, [
    { seconds: 86_400, fromMs: -Infinity, beforeMs: Infinity },
  ]);
});
