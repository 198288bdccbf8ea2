// Client traffic for the reliability and chaos scenarios: payments sent one by one or at a
// steady rate, every answer logged (only a 2xx counts as acknowledged), and the figures the
// scenarios print.
import { formatCents } from "../../src/money.ts";

export type Answer = number | "network" | "timeout";

/**
 * Every payment the test sent and what it got back. Only 2xx answers are acknowledged; a
 * network error or a timeout means "unknown" to the client.
 */
export class PaymentLog {
  readonly acknowledged = new Map<string, bigint>();
  readonly answers = new Map<Answer, number>();
  /** Time to answer of every request, in ms. */
  readonly durations: number[] = [];
  /** Every payment sent whatever its answer: id → answer and when it was sent (epoch ms). */
  readonly all = new Map<string, { answer: Answer; sentAt: number }>();
  sent = 0;

  record(id: string, cents: bigint, answer: Answer, ms = 0): void {
    this.sent++;
    this.durations.push(ms);
    this.all.set(id, { answer, sentAt: Date.now() - ms });
    this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
    if (typeof answer === "number" && answer >= 200 && answer < 300) {
      this.acknowledged.set(id, cents);
    }
  }

  count(answer: Answer): number {
    return this.answers.get(answer) ?? 0;
  }

  /** e.g. "202×1200 503×31 network×4" */
  describe(): string {
    return [...this.answers].sort(([a], [b]) => String(a).localeCompare(String(b)))
      .map(([a, n]) => `${a}×${n}`).join(" ");
  }
}

/** A random amount with at most two decimals, as cents: 0.01 to 1,000.00. */
export function randomCents(): bigint {
  return BigInt(1 + Math.floor(Math.random() * 100_000));
}

/** One POST /payments; never throws. The timeout is a hang guard (the answer is "timeout"). */
export async function sendPayment(
  baseUrl: string,
  log: PaymentLog,
  id = crypto.randomUUID(),
  cents = randomCents(),
  timeoutMs = 15_000,
): Promise<Answer> {
  let answer: Answer;
  const t0 = performance.now();
  try {
    const res = await fetch(`${baseUrl}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"correlationId":"${id}","amount":${formatCents(cents)}}`,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    answer = res.status;
  } catch (err) {
    answer = (err as Error)?.name === "TimeoutError" ? "timeout" : "network";
  }
  log.record(id, cents, answer, performance.now() - t0);
  return answer;
}

export interface SteadyLoad {
  log: PaymentLog;
  /** Stops sending and waits for every request in flight. */
  stop(): Promise<void>;
}

/**
 * Posts `perSecond` payments per second, spread over the instances `targets()` returns at the
 * moment (round robin), until stopped. At most `maxInFlight` requests are outstanding; beyond
 * that a tick's sends are skipped (and counted as skipped), so a stalled service cannot make
 * the test itself run out of memory or sockets.
 */
export function steadyLoad(
  targets: () => string[],
  perSecond: number,
  options: { log?: PaymentLog; maxInFlight?: number; timeoutMs?: number } = {},
): SteadyLoad & { skipped: () => number } {
  const log = options.log ?? new PaymentLog();
  const maxInFlight = options.maxInFlight ?? 2_000;
  const tickMs = 10;
  const inFlight = new Set<Promise<unknown>>();
  let skipped = 0;
  let next = 0;
  let owed = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    owed += (now - last) * perSecond / 1000;
    last = now;
    const urls = targets();
    while (owed >= 1) {
      owed -= 1;
      if (urls.length === 0 || inFlight.size >= maxInFlight) {
        skipped++;
        continue;
      }
      const p = sendPayment(
        urls[next++ % urls.length],
        log,
        undefined,
        undefined,
        options.timeoutMs,
      )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }, tickMs);
  return {
    log,
    skipped: () => skipped,
    async stop() {
      clearInterval(timer);
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}

/** Seconds each chaos scenario runs (CHAOS_SECONDS, default 60); CI may pass a short one. */
export function chaosSeconds(fallback = 60): number {
  const raw = Deno.env.get("CHAOS_SECONDS");
  const n = raw ? Number(raw) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`CHAOS_SECONDS must be > 0, got ${raw}`);
  return n;
}

/** p50/p99/max of a list of durations in ms, as text. */
export function percentiles(ms: number[]): string {
  if (ms.length === 0) return "no samples";
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${
    sorted[sorted.length - 1].toFixed(1)
  } ms`;
}
