// The processor's record of payments. Running totals make the unfiltered summary O(1); a range
// query scans, which is fine for the handful of audit calls a test makes.

export interface RecordedPayment {
  correlationId: string;
  amountCents: number;
  /** Exactly as the client sent it: the audit must see the instant the client chose. */
  requestedAt: string;
  requestedAtMicros: number;
}

export interface LedgerTotals {
  count: number;
  cents: bigint;
}

/** Inclusive at both ends, like SQL's BETWEEN. */
export interface MicrosRange {
  fromMicros: number;
  toMicros: number;
}

export class Ledger {
  #payments = new Map<string, RecordedPayment>();
  #totalCents = 0n;

  findPayment(correlationId: string): RecordedPayment | undefined {
    return this.#payments.get(correlationId);
  }

  /**
   * Records a payment unless its correlationId is already known. Synchronous on purpose: with no
   * await between the check and the insert, concurrent requests cannot both succeed.
   */
  recordPayment(payment: RecordedPayment): boolean {
    if (this.#payments.has(payment.correlationId)) return false;
    this.#payments.set(payment.correlationId, payment);
    this.#totalCents += BigInt(payment.amountCents);
    return true;
  }

  purgePayments(): void {
    this.#payments.clear();
    this.#totalCents = 0n;
  }

  summarizePayments(range?: MicrosRange): LedgerTotals {
    if (range === undefined) return { count: this.#payments.size, cents: this.#totalCents };
    let count = 0;
    let cents = 0n;
    for (const payment of this.#payments.values()) {
      const at = payment.requestedAtMicros;
      if (at < range.fromMicros || at > range.toMicros) continue;
      count += 1;
      cents += BigInt(payment.amountCents);
    }
    return { count, cents };
  }
}
