import assert from "node:assert/strict";
import { TokenBucket } from "../src/worker/token_bucket.ts";

Deno.test("token bucket: starts full, refills at its rate, never beyond its burst", () => {
  const bucket = new TokenBucket(1000, 100, 0);
  assert.equal(bucket.available(0), 100);
  bucket.take(100);
  assert.equal(bucket.available(0), 0);
  assert.equal(bucket.msUntil(1), 1);
  assert.equal(bucket.msUntil(10), 10);
  assert.equal(bucket.msUntil(1_000), 100, "never waits for more than the burst");
  assert.equal(bucket.available(50), 50);
  bucket.take(50);
  assert.equal(bucket.available(10_000), 100);
});

Deno.test("token bucket: rate 0 means unlimited", () => {
  const bucket = new TokenBucket(0, 1, 0);
  bucket.take(1_000_000);
  assert.equal(bucket.available(0), Number.POSITIVE_INFINITY);
  assert.equal(bucket.msUntil(1_000), 0);
});
