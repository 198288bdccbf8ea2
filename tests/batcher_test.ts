// The batcher alone (no database): what goes together, what lingers, and that every item gets
// its own result or its batch's error.
import assert from "node:assert/strict";
import { Batcher } from "../src/batcher.ts";

/** A batcher whose flushes are recorded and finish only when released. */
function recording(options: ConstructorParameters<typeof Batcher>[1]) {
  const batches: number[][] = [];
  const release: (() => void)[] = [];
  const batcher = new Batcher<number, number>(async (items) => {
    batches.push(items);
    await new Promise<void>((r) => release.push(r));
    return items.map((i) => i * 10);
  }, options);
  return { batcher, batches, releaseAll: () => release.splice(0).forEach((r) => r()) };
}

Deno.test("from idle, the first item goes alone; those arriving meanwhile go together", async () => {
  const { batcher, batches, releaseAll } = recording({ maxConcurrent: 1, maxBatch: 100 });
  const results = [1, 2, 3, 4].map((i) => batcher.submit(i));
  assert.deepEqual(batches, [[1]]);
  releaseAll();
  await results[0];
  await Promise.resolve();
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
  releaseAll();
  assert.deepEqual(await Promise.all(results), [10, 20, 30, 40]);
  await batcher.drained();
});

Deno.test("maxBatch bounds a batch and maxConcurrent the flushes at once", async () => {
  const { batcher, batches, releaseAll } = recording({ maxConcurrent: 2, maxBatch: 2 });
  const results = [1, 2, 3, 4, 5].map((i) => batcher.submit(i));
  // A free flush slot takes the next item at once; the rest wait for a slot.
  assert.deepEqual(batches, [[1], [2]]);
  releaseAll();
  await Promise.all(results.slice(0, 2));
  await Promise.resolve();
  assert.deepEqual(batches, [[1], [2], [3, 4], [5]]);
  releaseAll();
  assert.deepEqual(await Promise.all(results), [10, 20, 30, 40, 50]);
});

Deno.test("with lingerMs, a flush from idle waits and takes what arrived meanwhile", async () => {
  const { batcher, batches, releaseAll } = recording({
    maxConcurrent: 1,
    maxBatch: 100,
    lingerMs: 5,
  });
  const results = [1, 2, 3].map((i) => batcher.submit(i));
  assert.deepEqual(batches, [], "nothing flushed before the linger ends");
  const drained = batcher.drained();
  while (batches.length === 0) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(batches, [[1, 2, 3]]);
  releaseAll();
  assert.deepEqual(await Promise.all(results), [10, 20, 30]);
  await drained;
});

Deno.test("a full batch does not linger", () => {
  const { batcher, batches, releaseAll } = recording({
    maxConcurrent: 1,
    maxBatch: 2,
    lingerMs: 60_000,
  });
  const results = [1, 2].map((i) => batcher.submit(i));
  assert.deepEqual(batches, [[1, 2]]);
  releaseAll();
  return Promise.all(results).then(() => {});
});

Deno.test("an item submitted at once ends the linger: it and those waiting go now", async () => {
  const { batcher, batches, releaseAll } = recording({
    maxConcurrent: 1,
    maxBatch: 100,
    lingerMs: 60_000,
  });
  const results = [batcher.submit(1), batcher.submit(2)];
  assert.deepEqual(batches, [], "lingering");
  results.push(batcher.submit(3, { atOnce: true }));
  assert.deepEqual(batches, [[1, 2, 3]]);
  releaseAll();
  assert.deepEqual(await Promise.all(results), [10, 20, 30]);
  // The linger's timer is gone with it (the test would otherwise leak a 60-s timer), and the
  // next item from idle lingers again.
  const next = batcher.submit(4);
  assert.deepEqual(batches, [[1, 2, 3]]);
  batcher.submit(5, { atOnce: true });
  assert.deepEqual(batches, [[1, 2, 3], [4, 5]]);
  releaseAll();
  assert.equal(await next, 40);
  await batcher.drained();
});

Deno.test("a failed flush rejects every item of its batch, and the next batch still runs", async () => {
  let calls = 0;
  const batcher = new Batcher<number, number>(async (items) => {
    await Promise.resolve();
    if (calls++ === 0) throw new Error("boom");
    return items;
  }, { maxConcurrent: 1, maxBatch: 10 });
  const first = batcher.submit(1);
  const rest = [2, 3].map((i) => batcher.submit(i));
  await assert.rejects(first, /boom/);
  assert.deepEqual(await Promise.all(rest), [2, 3]);
});
