// PROPOSED for src/payments/store.ts (owned by the lead; not wired in yet): the reschedule and
// settle statements as they would be if they also recorded what GET /payments/{id} and the
// console show. Each differs from its store.ts twin by one column:
//   reschedulePaymentsRecordingOutcome  also sets payment_queue.last_outcome to the call's
//                                       detail ("500", "429", "timeout", "refused", …), so a
//                                       payment whose processor answered 5xx/429 shows as
//                                       `retrying` rather than `pinned`;
//   settlePaymentsRecordingAttempts     also copies the number of calls (failed ones + this
//                                       one) into processed_payments.attempts.
// Until the dispatcher calls these, last_outcome and attempts stay null and the status says so
// (pinned: outcome not recorded; attempts: null once settled). The columns are in sql/004.
import type { Sql } from "../db/connect.ts";
import type { ClaimRef, Reschedule } from "../payments/store.ts";

export interface RescheduleWithOutcome extends Reschedule {
  /** The call's detail from callProcessor: an HTTP status, or "timeout", "refused", "network". */
  outcome: string;
}

export async function reschedulePaymentsRecordingOutcome(
  sql: Sql,
  items: RescheduleWithOutcome[],
): Promise<number> {
  const ids = items.map((r) => r.correlationId);
  const seqs = items.map((r) => r.claimSeq);
  const delays = items.map((r) => r.delayMs);
  const outcomes = items.map((r) => r.outcome);
  const result = await sql`
    update payment_queue q set
      visible_at = now() + r.delay_ms * interval '1 millisecond',
      lease_owner = null,
      attempts = q.attempts + 1,
      last_outcome = r.outcome
    from unnest(${ids}::uuid[], ${seqs}::int4[], ${delays}::int4[], ${outcomes}::text[])
      as r(correlation_id, claim_seq, delay_ms, outcome)
    where q.correlation_id = r.correlation_id and q.claim_seq = r.claim_seq`;
  return result.count;
}

export async function settlePaymentsRecordingAttempts(
  sql: Sql,
  refs: ClaimRef[],
): Promise<Set<string>> {
  const ids = refs.map((r) => r.correlationId);
  const seqs = refs.map((r) => r.claimSeq);
  const rows = await sql<{ correlation_id: string }[]>`
    with settled as (
      delete from payment_queue q
      using unnest(${ids}::uuid[], ${seqs}::int4[]) as s(correlation_id, claim_seq)
      where q.correlation_id = s.correlation_id and q.claim_seq = s.claim_seq
      returning q.correlation_id, q.processor, q.amount_cents, q.requested_at, q.attempts
    )
    insert into processed_payments
      (correlation_id, processor, amount_cents, requested_at, attempts)
    select correlation_id, processor, amount_cents, requested_at, attempts + 1 from settled
    on conflict (correlation_id) do nothing
    returning correlation_id`;
  return new Set(rows.map((r) => r.correlation_id));
}
