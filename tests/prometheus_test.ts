// The Prometheus client (src/metrics/prometheus/), on its own: the exposition it produces, byte
// for byte, the instruments' rules, the event-loop lag sampler and the single-flight helper. No
// Postgres, no server: it knows nothing of the service.
import assert from "node:assert/strict";
import {
  EventLoopLagSampler,
  RecentMax,
  Registry,
  shareInFlight,
} from "../src/metrics/prometheus/mod.ts";
import {
  assertLabelNames,
  assertMetricName,
  escapeHelp,
  escapeLabelValue,
  formatHeader,
  formatLabelPairs,
  formatSample,
  formatValue,
} from "../src/metrics/prometheus/exposition.ts";

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

Deno.test("exposition helpers: each escape only what its context needs; special numbers by name", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeLabelValue("plain /payments-summary"), "plain /payments-summary");
  assert.equal(escapeHelp('say "hi"\\\n'), 'say "hi"\\\\\\n');
  assert.equal(formatLabelPairs(["a", "b"], ["1", 'q"']), 'a="1",b="q\\""');
  assert.equal(formatLabelPairs([], []), "");
  assert.deepEqual(
    [0, 0.1, -2.5, 1e-7, 2 ** 53, Infinity, -Infinity, NaN].map(formatValue),
    ["0", "0.1", "-2.5", "1e-7", "9007199254740992", "+Inf", "-Inf", "NaN"],
  );
  assert.equal(formatSample("up", "", 1), "up 1");
  assert.equal(formatSample("up", 'job="x"', 0), 'up{job="x"} 0');
  assert.equal(
    formatHeader("a_total", "Line one\nline two.", "counter"),
    "# HELP a_total Line one\\nline two.\n# TYPE a_total counter",
  );
});

Deno.test("names: metric names may hold colons, label names may not; duplicates are refused", () => {
  assertMetricName("rinha:payments_total");
  assertMetricName("_private");
  for (const bad of ["", "1st", "a-b", "a b", "é"]) {
    assert.throws(() => assertMetricName(bad), /invalid metric name/, bad);
  }
  assertLabelNames(["processor", "_x", "le"]);
  for (const bad of ["a:b", "1a", "__name", ""]) {
    assert.throws(() => assertLabelNames([bad]), /invalid label name/, bad);
  }
  assert.throws(() => assertLabelNames(["a", "a"]), /duplicate label name: a/);
  assert.throws(() => assertLabelNames(["le"], ["le"]), /invalid label name/);
});

Deno.test("an empty registry renders nothing; a synchronous throw in collect is reported like a rejection", async () => {
  assert.equal(await new Registry().render(), "");
  const failures: [string, string][] = [];
  const registry = new Registry({
    onCollectError: (metric, err) => failures.push([metric, (err as Error).message]),
  });
  registry.gauge({
    name: "boom",
    help: "Boom.",
    collect: () => {
      throw new Error("at once");
    },
  });
  assert.equal(await registry.render(), "# HELP boom Boom.\n# TYPE boom gauge\n");
  assert.deepEqual(failures, [["boom", "at once"]]);
});

Deno.test("instruments declared with labels refuse the unlabelled shortcuts, and non-string values", () => {
  const registry = new Registry();
  const c = registry.counter({ name: "c_total", help: "c", labelNames: ["a"] });
  const g = registry.gauge({ name: "g", help: "g", labelNames: ["a"] });
  const h = registry.histogram({ name: "h", help: "h", labelNames: ["a"], buckets: [1] });
  // The types forbid these calls; untyped callers get a runtime error instead.
  type Untyped = { inc(): void; set(v: number): void; observe(v: number): void };
  assert.throws(() => (c as unknown as Untyped).inc(), /c_total has labels/);
  assert.throws(() => (g as unknown as Untyped).set(1), /g has labels/);
  assert.throws(() => (h as unknown as Untyped).observe(1), /h has labels/);
  assert.throws(() => (c.labels as (...v: unknown[]) => unknown)(1), /must be strings, got number/);
  assert.throws(() => c.labels("x").inc(NaN), /must be >= 0/);
});

Deno.test("histogram buckets: +Inf given or not, one +Inf bucket; values below the first bound land in it", async () => {
  const registry = new Registry();
  const h = registry.histogram({ name: "d", help: "D.", buckets: [0.5, 1, Infinity] });
  assert.deepEqual(h.buckets, [0.5, 1]);
  for (const v of [-3, 0.5, 1.0001, 1e9]) h.observe(v);
  assert.equal(
    await registry.render(),
    [
      "# HELP d D.",
      "# TYPE d histogram",
      'd_bucket{le="0.5"} 2',
      'd_bucket{le="1"} 2',
      'd_bucket{le="+Inf"} 4',
      `d_sum ${-3 + 0.5 + 1.0001 + 1e9}`,
      "d_count 4",
      "",
    ].join("\n"),
  );
  assert.throws(
    () => registry.histogram({ name: "e", help: "E.", buckets: [1, NaN] }),
    /finite and strictly increasing/,
  );
  assert.throws(
    () => registry.histogram({ name: "f", help: "F.", buckets: [2, 1] }),
    /strictly increasing/,
  );
});

Deno.test("labelled series are created on first use, rendered in creation order, and kept apart per label", async () => {
  const registry = new Registry();
  const c = registry.counter({ name: "hits_total", help: "Hits.", labelNames: ["a", "b"] });
  c.labels("2", "x").inc();
  c.labels("1", "y").inc(4);
  c.labels("2", "y").inc();
  // "a","bc" and "ab","c" would collide under a naive joined key; here they are two series.
  c.labels("ab", "c").inc();
  c.labels("a", "bc").inc(2);
  assert.equal(
    await registry.render(),
    [
      "# HELP hits_total Hits.",
      "# TYPE hits_total counter",
      'hits_total{a="2",b="x"} 1',
      'hits_total{a="1",b="y"} 4',
      'hits_total{a="2",b="y"} 1',
      'hits_total{a="ab",b="c"} 1',
      'hits_total{a="a",b="bc"} 2',
      "",
    ].join("\n"),
  );
});
