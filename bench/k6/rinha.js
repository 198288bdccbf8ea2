// The official Rinha de Backend 2025 load test (spec §4), rewritten for this project so that
// we can reproduce its score locally: same load shape, same processor stages, same audit and
// the same score, with a summary and score written as JSON for bench/run_official.ts.
//
// Environment (all optional):
//   TARGET_URL               the service           (default http://localhost:9999)
//   PROCESSOR_DEFAULT_URL    default processor     (default http://localhost:8001)
//   PROCESSOR_FALLBACK_URL   fallback processor    (default http://localhost:8002)
//   MAX_REQUESTS             peak virtual users    (default 550, as in the published runs)
//   ADMIN_TOKEN              processors' token     (default "123")
//   RESULTS_DIR              where summary.json and score.json go (nothing written if unset)
import http from "k6/http";
import { sleep } from "k6";
import { Counter, Gauge } from "k6/metrics";
import { computeScore } from "./score.js";
import { uuidv4 } from "./uuid.js";

const env = (name, fallback) => (__ENV[name] ? __ENV[name] : fallback);
const trimSlash = (url) => url.replace(/\/+$/, "");

const targetUrl = trimSlash(env("TARGET_URL", "http://localhost:9999"));
const processorUrls = {
  default: trimSlash(env("PROCESSOR_DEFAULT_URL", "http://localhost:8001")),
  fallback: trimSlash(env("PROCESSOR_FALLBACK_URL", "http://localhost:8002")),
};
const maxRequests = Number(env("MAX_REQUESTS", "550"));
const adminToken = env("ADMIN_TOKEN", "123");
const resultsDir = env("RESULTS_DIR", "");

// Processor behaviour over the test, applied at the given second (spec §4).
const stages = [
  { at: 1, default: { delay: 0, failure: false }, fallback: { delay: 0, failure: false } },
  { at: 10, default: { delay: 100, failure: false }, fallback: { delay: 0, failure: false } },
  { at: 20, default: { delay: 100, failure: true }, fallback: { delay: 0, failure: false } },
  { at: 30, default: { delay: 2000, failure: true }, fallback: { delay: 1000, failure: true } },
  { at: 40, default: { delay: 20, failure: false }, fallback: { delay: 20, failure: false } },
  { at: 50, default: { delay: 0, failure: false }, fallback: { delay: 5000, failure: false } },
];

const paymentsOk = new Counter("payments_success");
const paymentsFailed = new Counter("payments_failure");
const inconsistencies = new Counter("inconsistencies");
const auditChecks = new Counter("audit_checks");
const auditErrors = new Counter("audit_errors");
// Teardown's findings travel to handleSummary as metrics: it is the only channel k6 offers.
const final = {
  serviceDefaultRequests: new Gauge("final_service_default_requests"),
  serviceDefaultCents: new Gauge("final_service_default_cents"),
  serviceFallbackRequests: new Gauge("final_service_fallback_requests"),
  serviceFallbackCents: new Gauge("final_service_fallback_cents"),
  processorDefaultRequests: new Gauge("final_processor_default_requests"),
  processorDefaultCents: new Gauge("final_processor_default_cents"),
  processorFallbackRequests: new Gauge("final_processor_fallback_requests"),
  processorFallbackCents: new Gauge("final_processor_fallback_cents"),
  defaultFee: new Gauge("final_default_fee"),
  fallbackFee: new Gauge("final_fallback_fee"),
  teardownErrors: new Gauge("final_teardown_errors"),
};

// Per-call-kind latency in the summary, to see which calls drive the p99. A threshold that
// always passes is how k6 is told to keep a sub-metric.
const kinds = ["payment", "audit", "admin", "summary"];
const thresholds = { "http_req_duration{expected_response:true}": ["max>=0"] };
for (const kind of kinds) {
  thresholds[`http_req_duration{call:${kind},expected_response:true}`] = ["max>=0"];
}

const scenarios = {
  payments: {
    executor: "ramping-vus",
    exec: "payment",
    startVUs: 1,
    stages: [{ duration: "60s", target: maxRequests }],
    // Iterations last at most 1.5 s + 1 s; let them finish rather than cut a POST mid-flight.
    gracefulRampDown: "5s",
    gracefulStop: "5s",
  },
  audit: {
    executor: "per-vu-iterations",
    exec: "audit",
    vus: 1,
    iterations: 6,
    maxDuration: "75s",
  },
};
stages.forEach((stage, i) => {
  scenarios[`stage_${i}`] = {
    executor: "per-vu-iterations",
    exec: "applyStage",
    vus: 1,
    iterations: 1,
    startTime: `${stage.at}s`,
    env: { STAGE_INDEX: String(i) },
  };
});

export const options = {
  scenarios,
  thresholds,
  summaryTrendStats: ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count"],
  // The test's own bookkeeping must not be counted against the service.
  setupTimeout: "30s",
  teardownTimeout: "30s",
};

const adminHeaders = { "X-Rinha-Token": adminToken, "Content-Type": "application/json" };
const jsonHeaders = { "Content-Type": "application/json" };
const acceptedStatuses = new Set([200, 201, 202, 204]);

function admin(method, processor, path, body) {
  return http.request(
    method,
    `${processorUrls[processor]}${path}`,
    body === undefined ? null : JSON.stringify(body),
    { headers: adminHeaders, tags: { call: "admin" } },
  );
}

function ensure(res, what) {
  if (res.status < 200 || res.status > 299) {
    throw new Error(`${what}: HTTP ${res.status} ${res.error || ""} ${res.body || ""}`);
  }
  return res;
}

export function setup() {
  for (const p of ["default", "fallback"]) {
    ensure(admin("PUT", p, "/admin/configurations/token", { token: adminToken }), `${p} token`);
    ensure(admin("POST", p, "/admin/purge-payments"), `${p} purge`);
  }
  ensure(
    http.post(`${targetUrl}/purge-payments`, null, { tags: { call: "admin" } }),
    "service purge",
  );
}

export function payment() {
  const body = JSON.stringify({ correlationId: uuidv4(), amount: 19.9 });
  const res = http.post(`${targetUrl}/payments`, body, {
    headers: jsonHeaders,
    timeout: "1500ms",
    tags: { call: "payment" },
  });
  if (acceptedStatuses.has(res.status)) paymentsOk.add(1);
  else paymentsFailed.add(1);
  sleep(1);
}

export function applyStage() {
  const stage = stages[Number(__ENV.STAGE_INDEX)];
  for (const p of ["default", "fallback"]) {
    admin("PUT", p, "/admin/configurations/delay", { delay: stage[p].delay });
    admin("PUT", p, "/admin/configurations/failure", { failure: stage[p].failure });
  }
}

const toCents = (amount) => Math.round(Number(amount) * 100);

/** The three books over one window, fetched together so they see the same moment. */
function fetchBooks(fromIso, toIso, tag) {
  const q = `from=${encodeURIComponent(fromIso)}&to=${encodeURIComponent(toIso)}`;
  const params = (headers) => ({ headers, tags: { call: tag } });
  const [svc, def, fb] = http.batch([
    ["GET", `${targetUrl}/payments-summary?${q}`, null, params({})],
    ["GET", `${processorUrls.default}/admin/payments-summary?${q}`, null, params(adminHeaders)],
    ["GET", `${processorUrls.fallback}/admin/payments-summary?${q}`, null, params(adminHeaders)],
  ]);
  if (svc.status !== 200 || def.status !== 200 || fb.status !== 200) {
    console.warn(
      `summary fetch failed: service ${svc.status}, default ${def.status}, ` +
        `fallback ${fb.status}`,
    );
    return null;
  }
  return { service: svc.json(), default: def.json(), fallback: fb.json() };
}

export function audit() {
  sleep(10);
  const now = Date.now();
  const books = fetchBooks(
    new Date(now - 15_000).toISOString(),
    new Date(now - 1_500).toISOString(),
    "audit",
  );
  auditChecks.add(1);
  if (!books) {
    auditErrors.add(1);
    return;
  }
  const diff = (books.service.default.totalRequests - books.default.totalRequests) +
    (books.service.fallback.totalRequests - books.fallback.totalRequests);
  if (diff !== 0) {
    console.warn(
      `inconsistency ${diff}: service ${JSON.stringify(books.service)}, ` +
        `default ${books.default.totalRequests}, fallback ${books.fallback.totalRequests}`,
    );
  }
  inconsistencies.add(Math.abs(diff));
}

export function teardown() {
  const end = Date.now();
  const books = fetchBooks(
    new Date(end - 70_000).toISOString(),
    new Date(end).toISOString(),
    "summary",
  );
  if (!books) {
    final.teardownErrors.add(1);
    return;
  }
  final.teardownErrors.add(0);
  final.serviceDefaultRequests.add(books.service.default.totalRequests);
  final.serviceDefaultCents.add(toCents(books.service.default.totalAmount));
  final.serviceFallbackRequests.add(books.service.fallback.totalRequests);
  final.serviceFallbackCents.add(toCents(books.service.fallback.totalAmount));
  final.processorDefaultRequests.add(books.default.totalRequests);
  final.processorDefaultCents.add(toCents(books.default.totalAmount));
  final.processorFallbackRequests.add(books.fallback.totalRequests);
  final.processorFallbackCents.add(toCents(books.fallback.totalAmount));
  final.defaultFee.add(books.default.feePerTransaction);
  final.fallbackFee.add(books.fallback.feePerTransaction);
}

function metricValue(data, name, stat) {
  const m = data.metrics[name];
  return m && m.values && m.values[stat] !== undefined ? m.values[stat] : undefined;
}

export function handleSummary(data) {
  const gauge = (name) => metricValue(data, name, "value");
  const count = (name) => metricValue(data, name, "count") ?? 0;
  const p99 = metricValue(data, "http_req_duration{expected_response:true}", "p(99)");
  const teardownOk = gauge("final_teardown_errors") === 0;

  const report = {
    p99Ms: p99,
    p99ByCall: Object.fromEntries(kinds.map((k) => [
      k,
      metricValue(data, `http_req_duration{call:${k},expected_response:true}`, "p(99)") ?? null,
    ])),
    successfulPosts: count("payments_success"),
    failedPosts: count("payments_failure"),
    inconsistencies: count("inconsistencies"),
    auditChecks: count("audit_checks"),
    auditErrors: count("audit_errors"),
    service: teardownOk
      ? {
        default: {
          requests: gauge("final_service_default_requests"),
          cents: gauge("final_service_default_cents"),
        },
        fallback: {
          requests: gauge("final_service_fallback_requests"),
          cents: gauge("final_service_fallback_cents"),
        },
      }
      : null,
    processors: teardownOk
      ? {
        default: {
          requests: gauge("final_processor_default_requests"),
          cents: gauge("final_processor_default_cents"),
          fee: gauge("final_default_fee"),
        },
        fallback: {
          requests: gauge("final_processor_fallback_requests"),
          cents: gauge("final_processor_fallback_cents"),
          fee: gauge("final_fallback_fee"),
        },
      }
      : null,
    maxRequests,
    score: null,
    error: null,
  };
  try {
    if (!teardownOk) throw new Error("teardown could not fetch the summaries");
    if (p99 === undefined) throw new Error("no successful HTTP call, so no p99");
    report.score = computeScore({
      p99Ms: p99,
      defaultAmountCents: report.service.default.cents,
      fallbackAmountCents: report.service.fallback.cents,
      defaultFee: report.processors.default.fee,
      fallbackFee: report.processors.fallback.fee,
      inconsistencies: report.inconsistencies,
      successfulPosts: report.successfulPosts,
      defaultCount: report.service.default.requests,
      fallbackCount: report.service.fallback.requests,
    });
  } catch (err) {
    report.error = String(err);
  }

  const s = report.score;
  const line = s
    ? `profit ${s.exact.profit} | p99 ${p99.toFixed(2)} ms (bonus ${Math.round(s.bonus * 100)} %)` +
      ` | inconsistencies ${report.inconsistencies} | lag ${s.lag}` +
      `${s.disqualified ? " (DISQUALIFIED)" : ""}` +
      ` | default ${report.service.default.requests} / fallback ${report.service.fallback.requests}` +
      ` | POST ok ${report.successfulPosts}, failed ${report.failedPosts}\n`
    : `no score: ${report.error}\n`;

  const out = { stdout: line };
  if (resultsDir) {
    out[`${resultsDir}/summary.json`] = JSON.stringify(data, null, 2);
    out[`${resultsDir}/score.json`] = JSON.stringify(report, null, 2);
  }
  return out;
}
