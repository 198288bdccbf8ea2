// The service's instruments (src/metrics/service_metrics.ts): every named metric renders, with
// its pre-bound series from the start. The client library itself is tested on its own in
// tests/prometheus_test.ts.
import assert from "node:assert/strict";
import { exposition } from "../src/metrics/prometheus/mod.ts";
import { createServiceMetrics, httpDurationBuckets } from "../src/metrics/service_metrics.ts";

Deno.test("service metrics: every named instrument renders; pre-bound series exist from the start", async () => {
  const metrics = createServiceMetrics({ isProcessorHealthy: (p) => p === 1, lagIntervalMs: 10 });
  metrics.start();
  try {
    metrics.httpRequestDuration.labels("POST", "/payments", "202").observe(0.0012);
    metrics.paymentsAccepted.created.inc();
    metrics.paymentsAccepted.conflict.inc();
    metrics.paymentsProcessed[2].inc(3);
    metrics.processorAttempts.labels("default", "unknown", "timeout").inc();
    metrics.paymentRetries.inc();
    metrics.leaseTakeovers.inc(2);
    await new Promise((r) => setTimeout(r, 40));
    const text = await metrics.registry.render();
    for (
      const line of [
        'http_request_duration_seconds_bucket{method="POST",route="/payments",status="202",le="0.001"} 0',
        'http_request_duration_seconds_bucket{method="POST",route="/payments",status="202",le="0.0015"} 1',
        'http_request_duration_seconds_count{method="POST",route="/payments",status="202"} 1',
        'payments_accepted_total{result="created"} 1',
        'payments_accepted_total{result="repeat"} 0',
        'payments_accepted_total{result="conflict"} 1',
        'payments_processed_total{processor="default"} 0',
        'payments_processed_total{processor="fallback"} 3',
        'processor_attempts_total{processor="default",outcome="unknown",detail="timeout"} 1',
        "payment_retries_total 1",
        "lease_takeovers_total 2",
        'processor_healthy{processor="default"} 1',
        'processor_healthy{processor="fallback"} 0',
      ]
    ) assert.ok(text.includes(`\n${line}\n`), `missing: ${line}`);
    assert.match(text, /^event_loop_lag_seconds_count [1-9]\d*$/m);
    assert.match(text, /^event_loop_lag_max_seconds \d/m);
    assert.match(text, /^process_resident_memory_bytes [1-9]\d*$/m);
    assert.match(text, /^# TYPE metrics_collect_errors_total counter$/m);
    // Without a pool there is nothing to read queue depth from: those gauges are absent.
    assert.doesNotMatch(text, /queue_pending|db_pool_connections/);
    assert.equal(httpDurationBuckets.filter((b) => b < 0.005).length, 5);
    assert.equal(exposition, "text/plain; version=0.0.4; charset=utf-8");
  } finally {
    metrics.stop();
  }
});
