// One kind of request at a fixed arrival rate, for bench/hops.ts: how long a request takes
// through each hop of the acknowledgement path, apart from the payment's own work.
//
// Environment:
//   TARGET_URL    the full URL to request
//   METHOD        "GET", or "POST" for a new payment in the body (default GET)
//   RATE          requests per second (default 100)
//   DURATION      e.g. "15s" (default)
//   SUMMARY_PATH  where to write the k6 summary JSON
import http from "k6/http";
import { uuidv4 } from "./uuid.js";

const env = (name, fallback) => (__ENV[name] ? __ENV[name] : fallback);
const targetUrl = env("TARGET_URL", "http://localhost:9999/health");
const method = env("METHOD", "GET");
const rate = Number(env("RATE", "100"));

export const options = {
  scenarios: {
    hops: {
      executor: "constant-arrival-rate",
      rate,
      timeUnit: "1s",
      duration: env("DURATION", "15s"),
      preAllocatedVUs: Math.max(20, Math.ceil(rate / 10)),
      maxVUs: Math.max(100, rate),
    },
  },
  summaryTrendStats: ["med", "p(90)", "p(99)", "max", "count"],
};

const params = { headers: { "Content-Type": "application/json" }, timeout: "1500ms" };

export default function () {
  if (method === "POST") {
    http.post(targetUrl, JSON.stringify({ correlationId: uuidv4(), amount: 19.9 }), params);
  } else {
    http.get(targetUrl, params);
  }
}

export function handleSummary(data) {
  return { [env("SUMMARY_PATH", "/dev/stdout")]: JSON.stringify(data) };
}
