// Latency over time from k6's raw output (`--out json=raw.json.gz`): the p99 of one call kind
// per time slice. The official score has one p99 for the whole test; this shows whether its
// tail comes from one processor stage (a failure, a slow processor) or is spread evenly (CPU).
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { createInterface } from "node:readline";

export interface Slice {
  /** Seconds since the first sample, start of the slice. */
  fromSecond: number;
  count: number;
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  // Nearest rank with linear interpolation, as k6 computes its trend percentiles.
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Reads a k6 JSON (optionally gzipped) output and slices http_req_duration of `call`. */
export async function latencyTimeline(
  path: string,
  call: string,
  sliceSeconds = 5,
): Promise<Slice[]> {
  const raw = createReadStream(path);
  const input = path.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  const buckets = new Map<number, number[]>();
  let t0: number | undefined;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    // Cheap filter first: most lines are other metrics.
    if (!line.includes('"http_req_duration"') || !line.includes('"Point"')) continue;
    const point = JSON.parse(line);
    const tags = point.data.tags ?? {};
    if (tags.call !== call || tags.expected_response !== "true") continue;
    const t = Date.parse(point.data.time) / 1000;
    t0 ??= t;
    const slice = Math.floor((t - t0) / sliceSeconds);
    const list = buckets.get(slice) ?? [];
    list.push(point.data.value);
    buckets.set(slice, list);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([slice, values]) => {
    values.sort((a, b) => a - b);
    const r = (x: number) => Math.round(x * 10) / 10;
    return {
      fromSecond: slice * sliceSeconds,
      count: values.length,
      p50: r(percentile(values, 50)),
      p99: r(percentile(values, 99)),
      max: r(values[values.length - 1]),
    };
  });
}

/** Per-second series to show beside the latency, each indexed by seconds since the start. */
export interface TimelineContext {
  queueDepth?: number[];
  /** Whole machine, % busy. */
  machineBusyPct?: number[];
  /** Cores used by the API instances together. */
  apiCores?: number[];
  /** Cores used by the whole stack (APIs, HAProxy, Postgres). */
  stackCores?: number[];
}

/** One line per slice, with the deepest queue, the machine's load and the APIs' CPU in it. */
export function formatTimeline(slices: Slice[], context: TimelineContext = {}): string {
  return slices.map((s, i) => {
    const end = slices[i + 1]?.fromSecond ?? s.fromSecond + 5;
    const part = (xs?: number[]) => xs?.slice(s.fromSecond, end).filter((x) => x >= 0) ?? [];
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const depth = part(context.queueDepth);
    const busy = part(context.machineBusyPct);
    const api = part(context.apiCores);
    // CPU seconds of the stack over the slice per payment answered in it, in ms.
    const stack = part(context.stackCores);
    const perPayment = stack.length && s.count
      ? (stack.reduce((a, b) => a + b, 0) * 1000 / s.count).toFixed(2)
      : undefined;
    return `  t ${String(s.fromSecond).padStart(3)} s  n ${String(s.count).padStart(5)}  ` +
      `p50 ${String(s.p50).padStart(6)}  p99 ${String(s.p99).padStart(6)}  ` +
      `max ${String(s.max).padStart(6)} ms` +
      (depth.length ? `  queue ≤ ${String(Math.max(...depth)).padStart(5)}` : "") +
      (busy.length ? `  machine ${avg(busy).toFixed(0).padStart(3)} % busy` : "") +
      (api.length ? `  APIs ${avg(api).toFixed(2)} cores` : "") +
      (perPayment ? `  stack ${perPayment} ms CPU/payment` : "");
  }).join("\n");
}

if (import.meta.main) {
  const [path, call = "payment"] = Deno.args;
  if (!path) throw new Error("usage: deno run -A bench/timeline.ts <raw.json.gz> [call]");
  console.log(formatTimeline(await latencyTimeline(path, call)));
}
