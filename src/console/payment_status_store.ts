// The one statement behind GET /payments/{id}: the payment with its queue row and its ledger
// row, three primary-key probes in one round trip. Read-only; nothing here is on a hot path.
import type { Sql } from "../db/connect.ts";
import type { ProcessorId } from "../processors/processor_id.ts";

/** What the tables hold about one payment; the state is derived from it (payment_state.ts). */
export interface PaymentRecord {
  correlationId: string;
  amountCents: bigint;
  receivedAt: Date;
  /** The database's clock when read, so the state never depends on this host's clock. */
  readAt: Date;
  queue?: {
    processor: ProcessorId | null;
    requestedAt: Date | null;
    attempts: number;
    leaseOwner: string | null;
    visibleAt: Date;
    lastOutcome: string | null;
  };
  ledger?: {
    processor: ProcessorId;
    requestedAt: Date;
    settledAt: Date | null;
    attempts: number | null;
  };
}

export async function findPaymentRecord(
  sql: Sql,
  correlationId: string,
): Promise<PaymentRecord | undefined> {
  const [row] = await sql<
    {
      amount_cents: string;
      received_at: Date;
      read_at: Date;
      queued: boolean;
      q_processor: ProcessorId | null;
      q_requested_at: Date | null;
      q_attempts: number | null;
      lease_owner: string | null;
      visible_at: Date | null;
      last_outcome: string | null;
      settled: boolean;
      s_processor: ProcessorId | null;
      s_requested_at: Date | null;
      settled_at: Date | null;
      s_attempts: number | null;
    }[]
  >`
    select p.amount_cents, p.received_at, now() as read_at,
      q.correlation_id is not null as queued, q.processor as q_processor,
      q.requested_at as q_requested_at, q.attempts as q_attempts, q.lease_owner, q.visible_at,
      q.last_outcome,
      s.correlation_id is not null as settled, s.processor as s_processor,
      s.requested_at as s_requested_at, s.settled_at, s.attempts as s_attempts
    from payments p
    left join payment_queue q on q.correlation_id = p.correlation_id
    left join processed_payments s on s.correlation_id = p.correlation_id
    where p.correlation_id = ${correlationId}`;
  if (!row) return undefined;
  return {
    correlationId,
    amountCents: BigInt(row.amount_cents),
    receivedAt: row.received_at,
    readAt: row.read_at,
    queue: row.queued
      ? {
        processor: row.q_processor,
        requestedAt: row.q_requested_at,
        attempts: row.q_attempts!,
        leaseOwner: row.lease_owner,
        visibleAt: row.visible_at!,
        lastOutcome: row.last_outcome,
      }
      : undefined,
    ledger: row.settled
      ? {
        processor: row.s_processor!,
        requestedAt: row.s_requested_at!,
        settledAt: row.settled_at,
        attempts: row.s_attempts,
      }
      : undefined,
  };
}
