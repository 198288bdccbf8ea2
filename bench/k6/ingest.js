// POST /payments as fast as asked, for bench/queue_bench.ts: how quickly the service
// acknowledges a payment (its ingest path: HAProxy → API → one INSERT), apart from everything
// else the official scenario does.
//
// Environment:
//   TARGET_URL    the service (default http://localhost:9999)
//   MODE          "rate": open model, RATE requests/s whatever the latency (ack latency);
//                 "closed": VUS users posting back to back, no sleep (maximum throughput)
//   RATE          requests per second in rate mode (default 500)
//   VUS           users in closed mode (default 64)
//   DURATION      e.g. "15s" (default)
//   SUMMARY_PATH  where to write the k6 summary JSON (stdout only if unset)
import http from "k6/http";
import { Counter } from "k6/metrics";
import { uuidv4 } from "./uuid.js";

const env = (name, fallback) => (__ENV[name] ? __ENV[name] : fallback);
const targetUrl = env("TARGET_URL", "http://localhost:9999").replace(/\/+$/, "");
const mode = env("MODE", "rate");
const rate = Number(env("RATE", "500"));
const vus = Number(env("VUS", "64"));
const duration = env("DURATION", "15s");

const accepted = new Counter("payments_success");
const failed = new Counter("payments_failure");

const scenario = mode === "closed" ? { executor: "constant-vus", vus, duration } : {
  executor: "constant-arrival-rate",
  rate,
  timeUnit: "1s",
  duration,
  // Enough users that a latency spike does not stall the arrival rate: at p99 ≈ 50 ms a
  // user completes ≥ 20 requests/s, so rate/10 leaves a 2× margin; k6 adds more up to the max.
  preAllocatedVUs: Math.max(20, Math.ceil(rate / 10)),
  maxVUs: Math.max(100, rate),
};

export const options = {
  scenarios: { ingest: scenario },
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(99)", "max", "count"],
  // Client timeout as in the official test: a slower ack counts as a failure there too.
  thresholds: { "http_req_duration{expected_response:true}": ["max>=0"] },
};

const params = { headers: { "Content-Type": "application/json" }, timeout: "1500ms" };
const acceptedStatuses = new Set([200, 201, 202, 204]);

export default function () {
  const body = JSON.stringify({ correlationId: uuidv4(), amount: 19.9 });
  const res = http.post(`${targetUrl}/payments`, body, params);
  if (acceptedStatuses.has(res.status)) accepted.add(1);
  else failed.add(1);
}

export function handleSummary(data) {
  const path = env("SUMMARY_PATH", "");
  const d = data.metrics["http_req_duration{expected_response:true}"];
  const ok = data.metrics.payments_success ? data.metrics.payments_success.values.count : 0;
  const bad = data.metrics.payments_failure ? data.metrics.payments_failure.values.count : 0;
  const line = d
    ? `ok ${ok}, failed ${bad}, p50 ${d.values.med.toFixed(2)} ms, ` +
      `p99 ${d.values["p(99)"].toFixed(2)} ms, max ${d.values.max.toFixed(2)} ms\n`
    : `ok ${ok}, failed ${bad}\n`;
  const out = { stdout: line };
  if (path) out[path] = JSON.stringify(data);
  return out;
}
