// The Prometheus exposition we produce, byte for byte, and the event-loop lag sampler.
import assert from "node:assert/strict";
import { EventLoopLagSampler, RecentMax } from "../src/metrics/event_loop_lag.ts";
import { exposition, Registry } from "../src/metrics/registry.ts";
import { createServiceMetrics, httpDurationBuckets } from "../src/metrics/service_metrics.ts";
import { shareInFlight } from "../src/metrics/single_flight.ts";

Deno.test("counters: HELP and TYPE, an unlabelled counter starts at 0, labelled series in order", async () => {
  const registry = new Registry();
  const retries = registry.counter({ name: "retries_total", help: "Retries." });
  const requests = registry.counter({
    name: "requests_total",
    help: "Requests by method and route.",
    labelNames: ["method", "route"],
  });
  assert.equal(
    await registry.render(),
    "# HELP retries_total Retries.\n# TYPE retries_total counter\nretries_total 0\n" +
      "# HELP requests_total Requests by method and route.\n# TYPE requests_total counter\n",
  );
  retries.inc();
  retries.inc(2);
  requests.labels("POST", "/payments").inc();
  requests.labels("GET", "/payments-summary").inc(0.5);
  requests.labels("POST", "/payments").inc();
  assert.equal(
    await registry.render(),
    [
      "# HELP retries_total Retries.",
      "# TYPE retries_total counter",
      "retries_total 3",
      "# HELP requests_total Requests by method and route.",
      "# TYPE requests_total counter",
      'requests_total{method="POST",route="/payments"} 2',
      'requests_total{method="GET",route="/payments-summary"} 0.5',
      "",
    ].join("\n"),
  );
});

Deno.test("labels() returns the same cached series for the same values", () => {
  const registry = new Registry();
  const c = registry.counter({ name: "c_total", help: "c", labelNames: ["a", "b"] });
  const child = c.labels("x", "y");
  assert.equal(c.labels("x", "y"), child);
  assert.notEqual(c.labels("x", "z"), child);
  assert.notEqual(c.labels("y", "x"), child);
});

Deno.test("label values escape backslash, double quote and newline; HELP escapes backslash and newline", async () => {
  const registry = new Registry();
  const g = registry.gauge({
    name: "odd",
    help: 'A "quoted" help with \\ and\nnewline.',
    labelNames: ["v"],
  });
  g.labels('a\\b"c\nd').set(1);
  assert.equal(
    await registry.render(),
    '# HELP odd A "quoted" help with \\\\ and\\nnewline.\n# TYPE odd gauge\n' +
      'odd{v="a\\\\b\\"c\\nd"} 1\n',
  );
});

Deno.test("gauges: set, inc, dec; special values as +Inf, -Inf, NaN", async () => {
  const registry = new Registry();
  const g = registry.gauge({ name: "level", help: "Level." });
  const s = registry.gauge({ name: "special", help: "Special.", labelNames: ["k"] });
  g.set(10);
  g.inc();
  g.dec(3.5);
  s.labels("pos").set(Infinity);
  s.labels("neg").set(-Infinity);
  s.labels("nan").set(NaN);
  assert.equal(
    await registry.render(),
    "# HELP level Level.\n# TYPE level gauge\nlevel 7.5\n" +
      "# HELP special Special.\n# TYPE special gauge\n" +
      'special{k="pos"} +Inf\nspecial{k="neg"} -Inf\nspecial{k="nan"} NaN\n',
  );
});

Deno.test("gauge collect callbacks run at every render, async ones included", async () => {
  const registry = new Registry();
  let depth = 0;
  registry.gauge({
    name: "depth",
    help: "Depth.",
    collect: async (gauge) => {
      await Promise.resolve();
      gauge.set(++depth);
    },
  });
  registry.gauge({
    name: "up",
    help: "Up.",
    labelNames: ["processor"],
    collect: (gauge) => {
      gauge.labels("default").set(1);
      gauge.labels("fallback").set(0);
    },
  });
  const expected = (n: number) =>
    `# HELP depth Depth.\n# TYPE depth gauge\ndepth ${n}\n` +
    '# HELP up Up.\n# TYPE up gauge\nup{processor="default"} 1\nup{processor="fallback"} 0\n';
  assert.equal(await registry.render(), expected(1));
  assert.equal(await registry.render(), expected(2));
});

Deno.test("a failing collect leaves that gauge without samples and is reported, the rest renders", async () => {
  const failures: string[] = [];
  const registry = new Registry({ onCollectError: (metric) => failures.push(metric) });
  let fail = false;
  registry.gauge({
    name: "queue",
    help: "Queue.",
    collect: (gauge) => {
      if (fail) throw new Error("database down");
      gauge.set(5);
    },
  });
  registry.counter({ name: "n_total", help: "N." });
  assert.match(await registry.render(), /^queue 5$/m);
  fail = true;
  assert.equal(
    await registry.render(),
    "# HELP queue Queue.\n# TYPE queue gauge\n# HELP n_total N.\n# TYPE n_total counter\nn_total 0\n",
  );
  assert.deepEqual(failures, ["queue"]);
  fail = false;
  assert.match(await registry.render(), /^queue 5$/m);
});

Deno.test("histograms: cumulative buckets with +Inf, _sum and _count; bounds are inclusive", async () => {
  const registry = new Registry();
  const h = registry.histogram({
    name: "rt_seconds",
    help: "Response time.",
    labelNames: ["route"],
    buckets: [0.25, 0.5, 1],
  });
  const plain = registry.histogram({ name: "plain_seconds", help: "Plain.", buckets: [1] });
  const a = h.labels("/a");
  for (const v of [0.125, 0.25, 0.5, 2]) a.observe(v);
  h.labels("/b").observe(0.75);
  a.observe(NaN); // dropped: it would poison _sum
  plain.observe(1);
  assert.equal(
    await registry.render(),
    [
      "# HELP rt_seconds Response time.",
      "# TYPE rt_seconds histogram",
      'rt_seconds_bucket{route="/a",le="0.25"} 2',
      'rt_seconds_bucket{route="/a",le="0.5"} 3',
      'rt_seconds_bucket{route="/a",le="1"} 3',
      'rt_seconds_bucket{route="/a",le="+Inf"} 4',
      'rt_seconds_sum{route="/a"} 2.875',
      'rt_seconds_count{route="/a"} 4',
      'rt_seconds_bucket{route="/b",le="0.25"} 0',
      'rt_seconds_bucket{route="/b",le="0.5"} 0',
      'rt_seconds_bucket{route="/b",le="1"} 1',
      'rt_seconds_bucket{route="/b",le="+Inf"} 1',
      'rt_seconds_sum{route="/b"} 0.75',
      'rt_seconds_count{route="/b"} 1',
      "# HELP plain_seconds Plain.",
      "# TYPE plain_seconds histogram",
      'plain_seconds_bucket{le="1"} 1',
      'plain_seconds_bucket{le="+Inf"} 1',
      "plain_seconds_sum 1",
      "plain_seconds_count 1",
      "",
    ].join("\n"),
  );
});

Deno.test("bad definitions and misuse fail loudly", () => {
  const registry = new Registry();
  registry.counter({ name: "dup_total", help: "x" });
  assert.throws(() => registry.counter({ name: "dup_total", help: "x" }), /already registered/);
  assert.throws(() => registry.gauge({ name: "bad-name", help: "x" }), /invalid metric name/);
  assert.throws(
    () => registry.gauge({ name: "g", help: "x", labelNames: ["__reserved"] }),
    /invalid label name/,
  );
  assert.throws(
    () => registry.histogram({ name: "h", help: "x", labelNames: ["le"], buckets: [1] }),
    /invalid label name/,
  );
  assert.throws(
    () => registry.histogram({ name: "h2", help: "x", buckets: [1, 1] }),
    /strictly increasing/,
  );
  const c = registry.counter({ name: "c_total", help: "x", labelNames: ["a"] });
  assert.throws(() => c.labels("x").inc(-1), /must be >= 0/);
  // Arity is checked by the types too; this is the runtime guard for untyped callers.
  assert.throws(() => (c.labels as (...v: string[]) => unknown)("x", "y"), /expected 1 label/);
});

Deno.test("the lag sampler records how late its timer fires, and stops cleanly", async () => {
  const samples: number[] = [];
  const sampler = new EventLoopLagSampler({ intervalMs: 20, record: (s) => samples.push(s) });
  sampler.start();
  sampler.start(); // idempotent: still one timer
  assert.equal(sampler.running, true);
  await new Promise((r) => setTimeout(r, 30));
  // Hold the loop for 100 ms: the sample after it must see most of that.
  const until = performance.now() + 100;
  while (performance.now() < until) { /* busy */ }
  await new Promise((r) => setTimeout(r, 60));
  sampler.stop();
  assert.equal(sampler.running, false);
  assert.ok(samples.length >= 2, `samples: ${samples.length}`);
  assert.ok(samples.every((s) => s >= 0));
  assert.ok(Math.max(...samples) >= 0.05, `max lag ${Math.max(...samples)}`);
  const count = samples.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(samples.length, count, "no samples after stop()");
});

Deno.test("RecentMax keeps the largest of the last N values", () => {
  const m = new RecentMax(3);
  assert.equal(m.max(), 0);
  for (const v of [5, 1, 2]) m.push(v);
  assert.equal(m.max(), 5);
  m.push(3); // 5 falls out of the window
  assert.equal(m.max(), 3);
});

Deno.test("shareInFlight: concurrent callers share one read; the next call reads again", async () => {
  let reads = 0;
  const read = shareInFlight(async () => {
    await new Promise((r) => setTimeout(r, 5));
    return ++reads;
  });
  assert.deepEqual(await Promise.all([read(), read(), read()]), [1, 1, 1]);
  assert.equal(await read(), 2);
});

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
