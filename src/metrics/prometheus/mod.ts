// A small Prometheus client: counters, gauges and histograms, optionally labelled, rendered in
// the text exposition format 0.0.4 by a registry; plus the event-loop lag sampler and the
// single-flight helper the service's scrape-time reads use. Our own rather than prom-client:
// prom-client's default process metrics (event loop, GC) are wrong under Deno, and the hot path
// here is one property increment per observation.
//
// Self-contained: nothing in this folder imports anything outside it (tests/layout_test.ts), so
// it knows nothing of payments, Postgres or the service. Import it through this file.
export { exposition, Registry, type RegistryOptions } from "./registry.ts";
export { Counter, CounterChild } from "./counter.ts";
export { Gauge, GaugeChild, type GaugeOptions } from "./gauge.ts";
export { Histogram, HistogramChild, type HistogramOptions } from "./histogram.ts";
export type { Metric, MetricOptions, MetricType } from "./metric.ts";
export type { LabelValues } from "./children.ts";
export { EventLoopLagSampler, type LagSamplerOptions, RecentMax } from "./event_loop_lag.ts";
export { shareInFlight } from "./single_flight.ts";
