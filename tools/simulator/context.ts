// Everything the routes share: the ledger, the settings the admin API changes, and the limiters.

import { ConcurrencyLimiter } from "./concurrency_limiter.ts";
import { Ledger } from "./ledger.ts";
import { type Decimal, parseDecimal } from "./money.ts";
import type { ResolvedOptions } from "./options.ts";
import { WindowRateLimiter } from "./window_rate_limiter.ts";

// The official processor's limits (spec §3).
const maxPaymentsInFlight = 800;
const maxPaymentsWaiting = 500;
const maxHealthChecksWaiting = 2;

/** What the admin API can change while running. */
export interface ProcessorSettings {
  token: string;
  delayMs: number;
  failing: boolean;
}

export interface SimulatorContext {
  ledger: Ledger;
  settings: ProcessorSettings;
  fee: Decimal;
  feePerTransaction: number;
  paymentLimiter: ConcurrencyLimiter;
  healthLimiter: WindowRateLimiter;
  /** Value of the Retry-After header on a refused health check. */
  retryAfterSeconds: string;
  /** Aborts when the simulator closes: pending work must end now. */
  closing: AbortSignal;
}

export function createContext(options: ResolvedOptions, closing: AbortSignal): SimulatorContext {
  return {
    ledger: new Ledger(),
    settings: { token: options.initialToken, delayMs: 0, failing: false },
    fee: parseDecimal(options.transactionFee),
    feePerTransaction: options.transactionFee,
    paymentLimiter: new ConcurrencyLimiter(maxPaymentsInFlight, maxPaymentsWaiting),
    healthLimiter: new WindowRateLimiter(options.rateLimitSeconds * 1000, maxHealthChecksWaiting),
    retryAfterSeconds: String(Math.ceil(options.rateLimitSeconds)),
    closing,
  };
}

/** Ends every wait so the server can stop: limiter queues are refused, timers cleared. */
export function closeContext(context: SimulatorContext): void {
  context.paymentLimiter.closeLimiter();
  context.healthLimiter.closeLimiter();
}
