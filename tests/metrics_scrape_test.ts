// /metrics after a known workload: the counters must hold the exact numbers.
import assert from "node:assert/strict";
import { withTestDatabase } from "./support/db.ts";
import {
  configure,
  instanceEnv,
  postPayment,
  startInstance,
  startProcessors,
  waitForDrain,
} from "./support/stack.ts";

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("a known workload shows up in /metrics with exact counts", async () => {
  await withTestDatabase("metrics_scrape", async (db) => {
    const processors = await startProcessors();
    const instance = await startInstance(instanceEnv(db.url, processors, { INSTANCE_ID: "m1" }));
    try {
      const ids = Array.from({ length: 30 }, () => crypto.randomUUID());
      for (const id of ids) assert.equal(await postPayment(instance.address, id), 202);
      assert.equal(await postPayment(instance.address, ids[0]), 200);
      assert.equal(await postPayment(instance.address, ids[1]), 200);
      assert.equal(await postPayment(instance.address, ids[2], 1.23), 409);
      assert.equal(await postPayment(instance.address, "not-a-uuid"), 400);
      await waitForDrain(db.sql);
      // One failing call: 500 from the default, then the payment is retried once it recovers.
      await configure(processors.default, 0, true);
      const failing = crypto.randomUUID();
      assert.equal(await postPayment(instance.address, failing), 202);
      for (;;) {
        const [r] = await db
          .sql`select attempts from payment_queue where correlation_id = ${failing}`;
        if (r?.attempts > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await configure(processors.default, 0, false);
      await waitForDrain(db.sql);

      const res = await fetch(`${instance.address}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.equal(sample(text, 'payments_accepted_total{result="created"}'), 31);
      assert.equal(sample(text, 'payments_accepted_total{result="repeat"}'), 2);
      assert.equal(sample(text, 'payments_accepted_total{result="conflict"}'), 1);
      assert.equal(sample(text, 'payments_processed_total{processor="default"}'), 31);
      assert.equal(sample(text, 'payments_processed_total{processor="fallback"}'), 0);
      assert.equal(
        sample(
          text,
          'processor_attempts_total{processor="default",outcome="processed",detail="200"}',
        ),
        31,
      );
      const failures = sample(
        text,
        'processor_attempts_total{processor="default",outcome="not_processed",detail="500"}',
      ) ??
        0;
      assert.ok(failures >= 1);
      assert.equal(sample(text, "payment_retries_total"), failures);
      assert.equal(
        sample(
          text,
          'http_request_duration_seconds_count{method="POST",route="/payments",status="202"}',
        ),
        31,
      );
      assert.equal(
        sample(
          text,
          'http_request_duration_seconds_count{method="POST",route="/payments",status="400"}',
        ),
        1,
      );
      assert.equal(sample(text, "queue_pending"), 0);
      assert.equal(sample(text, "lease_takeovers_total"), 0);
    } finally {
      await instance.stop();
      await processors.close();
    }
  });
});
