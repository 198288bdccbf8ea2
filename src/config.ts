// The service's whole configuration, read from the environment once at start-up. Every value
// is validated here so that a typo fails the start with a clear message instead of surfacing
// later as odd behaviour under load.

export interface Config {
  /** TCP port to listen on (ignored when socketPath is set). */
  port: number;
  hostname: string;
  /** Listen on this unix socket instead of TCP (HAProxy on the same host or volume). */
  socketPath?: string;
  instanceId: string;
  databaseUrl: string;
  dbPoolMax: number;
  /** "on": an acknowledged payment survives a Postgres crash; "off": only an instance crash. */
  synchronousCommit: "on" | "off";
  processorDefaultUrl: string;
  processorFallbackUrl: string;
  processorTimeoutMs: number;
  leaseMarginMs: number;
  maxInFlight: number;
  claimBatchMax: number;
  maxCallRate: number;
  claimCoalesceMs: number;
  settleLingerMs: number;
  pollIntervalMs: number;
  notifyMinIntervalMs: number;
  fallbackAfterMs: number;
  probeIntervalMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  healthCheckIntervalMs: number;
  maxAmountCents: bigint;
  maxBodyBytes: number;
  intakeDeadlineMs: number;
  intakeMaxFlushes: number;
  rollupIntervalMs: number;
  adminToken?: string;
  logLevel: "debug" | "info" | "warn" | "error";
  logFormat: "json" | "pretty";
  /** Time every request into the latency histogram (the counters are always kept). */
  requestMetrics: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

class Reader {
  errors: string[] = [];
  constructor(private env: Env) {}

  string(name: string, fallback: string): string {
    const v = this.env[name];
    return v === undefined || v === "" ? fallback : v;
  }

  optional(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === "" ? undefined : v;
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.errors.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  }

  choice<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(name, fallback);
    if (!allowed.includes(raw as T)) {
      this.errors.push(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  }

  url(name: string, fallback?: string): string {
    const raw = this.optional(name) ?? fallback;
    if (raw === undefined) {
      this.errors.push(`${name} is required`);
      return "";
    }
    try {
      new URL(raw);
    } catch {
      this.errors.push(`${name} must be a URL, got "${raw}"`);
    }
    return raw.replace(/\/+$/, "");
  }
}

export function readConfig(env: Env = Deno.env.toObject()): Config {
  const r = new Reader(env);
  const processorTimeoutMs = r.int("PROCESSOR_TIMEOUT_MS", 1_000, 10);
  // Capped at 10^13: from 2^45 (≈3.5·10^13) on, a JSON number cannot carry its cents exactly.
  const maxAmount = r.int("MAX_AMOUNT", 1_000_000, 1, 10_000_000_000_000);
  const config: Config = {
    // 8080 is what the compose file publishes to HAProxy.
    port: r.int("PORT", 8080, 0, 65535),
    // Not HOSTNAME: Docker and login shells set that to the machine's name.
    hostname: r.string("BIND_HOST", "0.0.0.0"),
    socketPath: r.optional("SOCKET_PATH"),
    instanceId: r.string("INSTANCE_ID", `${Deno.hostname()}-${Deno.pid}`),
    databaseUrl: r.url("DATABASE_URL"),
    // 4: postgres.js hands each query to the idle connection that has waited longest, so a
    // pool rotates over all its backends and each statement runs on the coldest one.
    // `deno task bench` (2026-12-02, two runs each, alternating, bench/README.md): with 4,
    // statements executed in 0.29-0.30 ms per payment and Postgres used 0.86-0.93 ms, against
    // 0.39-0.42 and 1.10-1.16 ms with 10; the stack 2.06-2.31 against 2.45-2.62 ms (2 was
    // within noise of 4). This pool serves the summary, the ledger, the console and the
    // health and metrics reads; the hot paths have connections of their own (src/service.ts):
    // the intake INTAKE_MAX_FLUSHES, settles and reschedules 2, durable claims 1 (with
    // SYNCHRONOUS_COMMIT=off), plus 1 LISTEN connection.
    dbPoolMax: r.int("DB_POOL_MAX", 4, 2, 200),
    // Default "off": the ack then costs no fsync; an instance crash still loses nothing, a
    // Postgres crash can lose the last ~3 × wal_writer_delay of acknowledged payments.
    synchronousCommit: r.choice("SYNCHRONOUS_COMMIT", "off", ["on", "off"] as const),
    processorDefaultUrl: r.url("PROCESSOR_DEFAULT_URL", "http://127.0.0.1:8001"),
    processorFallbackUrl: r.url("PROCESSOR_FALLBACK_URL", "http://127.0.0.1:8002"),
    // A processor call slower than this is abandoned as "unknown" and retried on the same
    // processor. Raised automatically to the processor's advertised minResponseTime + margin.
    processorTimeoutMs,
    // A claim's lease is the call's timeout plus this margin: a crashed instance's claims are
    // taken over this long after its last call could have ended.
    leaseMarginMs: r.int("LEASE_MARGIN_MS", 2_000, 100),
    // Bounds memory and sockets per instance when a processor is slow; 256 covers the official
    // scenario's peak (≈550 payments/s × 100 ms delay ≈ 55 in flight) with room to drain.
    maxInFlight: r.int("MAX_IN_FLIGHT", 256, 1, 10_000),
    // Rows claimed per statement: large enough to drain thousands per second.
    claimBatchMax: r.int("CLAIM_BATCH_MAX", 100, 1, 10_000),
    // Processor calls started per second per instance (0 = unlimited). Paces the drain of a
    // backlog so it does not starve acknowledgements of CPU; see bench/README.md.
    maxCallRate: r.int("MAX_CALL_RATE", 0, 0, 1_000_000),
    // New payments are claimed within this delay, together: at 500 payments/s, 20 ms turns 500
    // claim and settle statements per second into 50. The requestedAt is stamped at the claim,
    // so the wait never shows in the audit; it only delays settlement by that much. The same
    // delay gathers hand-offs into one durability round trip (SYNCHRONOUS_COMMIT=off) and
    // paced claims into batches of this many milliseconds' worth of MAX_CALL_RATE (at most a
    // tenth of a second's). 50 rather than 20: `deno task bench` on 2026-12-07, alternating
    // (bench/README.md): 1.15-1.20 statements per payment against 1.36-1.40 (durability waits
    // 0.07 against 0.15, settles 0.08 against 0.17, claims 0.08 against 0.12), the stack
    // 1.44-1.65 ms of CPU per payment in nine runs against 1.59-1.80 in six, p99 unchanged,
    // 0 audit inconsistencies (a 50-ms try on 2026-12-02, before attempts were released by
    // definitive failures, had two in six runs; bench/README.md says why it differs now).
    claimCoalesceMs: r.int("CLAIM_COALESCE_MS", 50, 0, 10_000),
    // A settlement waits this long for others to share its statement. Nobody waits on it (the
    // client had its answer long ago); the audit only asks about payments 1.5 s old. 20, from
    // `deno task bench` on 2026-12-02, two runs each against 0 (bench/README.md): settle
    // statements 0.45–0.50 → 0.16–0.17 per payment, Postgres 1.02–1.03 → 0.88–0.93 ms of CPU
    // per payment, POST p99 60–86 → 43–78 ms, 0 inconsistencies. Attempts over a second old
    // settle at once (settleAtOnceAgeMs in src/worker/outcome_writer.ts: the audit's window).
    settleLingerMs: r.int("SETTLE_LINGER_MS", 20, 0, 1_000),
    // NOTIFY is only a hint; this poll is what guarantees progress.
    pollIntervalMs: r.int("POLL_INTERVAL_MS", 250, 5),
    // Each NOTIFY commit takes a cluster-wide lock: send at most one per this interval.
    notifyMinIntervalMs: r.int("NOTIFY_MIN_INTERVAL_MS", 50, 0),
    // The fallback costs 3× the default's fee. The official scenario's longest default outage
    // is 20 s, and holding payments that long costs nothing: only switch after 30 s.
    fallbackAfterMs: r.int("FALLBACK_AFTER_MS", 30_000, 0),
    // While a processor fails, one payment probes it this often per instance.
    probeIntervalMs: r.int("PROBE_INTERVAL_MS", 200, 10),
    retryBaseMs: r.int("RETRY_BASE_MS", 50, 1),
    retryMaxMs: r.int("RETRY_MAX_MS", 1_000, 1),
    // The processors allow one health call per 5 s; 5.2 s keeps a clock skew margin.
    healthCheckIntervalMs: r.int("HEALTH_CHECK_INTERVAL_MS", 5_200, 5_000),
    maxAmountCents: BigInt(maxAmount) * 100n,
    // A payment is ~80 bytes of JSON; 4 KiB is generous and cheap to buffer.
    maxBodyBytes: r.int("MAX_BODY_BYTES", 4_096, 64, 1_048_576),
    // A payment not stored within this long after its request arrived is refused with 503
    // instead: the official client gives up after 1.5 s, and storing a payment it counts as
    // failed is a negative lag (seen once in bench/README.md under overload).
    intakeDeadlineMs: r.int("INTAKE_DEADLINE_MS", 1_000, 1),
    // INSERT statements in flight at once per instance; the rest wait and go together in the
    // next one. 1, from `deno task bench` on 2026-12-02 (bench/README.md; one run each, noisy):
    // 0.70 inserts per payment instead of 0.88–0.90, Postgres 1.01 ms of CPU per payment
    // instead of 1.09–1.16, POST p99 63 ms instead of 89–123 ms. Below DB_POOL_MAX.
    intakeMaxFlushes: r.int("INTAKE_MAX_FLUSHES", 1, 1, 64),
    // How often settled payments are added to the summary's rollups (sql/006): a summary reads
    // the settlements of at most this long raw, through an index (≈ 500 rows at the official
    // scenario's peak). A run with little to add executes in ~0.2 ms (pg_stat_statements over
    // a `deno task bench:ledger` run on 2026-12-02: 480 runs, 0.19 ms mean), so once a second
    // per instance costs nothing measurable; a shorter interval only shortens that raw tail.
    rollupIntervalMs: r.int("ROLLUP_INTERVAL_MS", 1_000, 10, 3_600_000),
    adminToken: r.optional("ADMIN_TOKEN"),
    logLevel: r.choice("LOG_LEVEL", "info", ["debug", "info", "warn", "error"] as const),
    // JSON for machines; `deno task dev` asks for the readable form.
    logFormat: r.choice("LOG_FORMAT", "json", ["json", "pretty"] as const),
    // On by default; "off" exists to measure what the histogram costs on the ack path.
    requestMetrics: r.choice("REQUEST_METRICS", "on", ["on", "off"] as const) === "on",
  };
  if (config.retryMaxMs < config.retryBaseMs) r.errors.push("RETRY_MAX_MS must be ≥ RETRY_BASE_MS");
  if (r.errors.length) {
    throw new ConfigError(`invalid configuration:\n  - ${r.errors.join("\n  - ")}`);
  }
  return config;
}
