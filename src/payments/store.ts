// The queue's statements on the payment tables (sql/001_payments.sql), one function each:
// intake insert, claim, settle, reschedule, release, notify. The summary and the purge are in
// summary_store.ts; the read-only views for metrics, console and status in src/queue/.
import type { Sql } from "../db/connect.ts";
import type { ProcessorId } from "../processors/processor_id.ts";

export const pendingChannel = "payments_pending";

export interface NewPayment {
  correlationId: string;
  amountCents: bigint;
}

export interface ClaimedPayment {
  correlationId: string;
  amountCents: bigint;
  processor: ProcessorId;
  requestedAt: Date;
  claimSeq: number;
  attempts: number;
  /** The row was still leased by an instance that never came back for it (crash, hang). */
  takenOver: boolean;
}

export interface ClaimRequest {
  owner: string;
  limit: number;
  /** Whether rows with no attempt in progress may be taken (false: resume pinned ones only). */
  fresh: boolean;
  /** Processor for rows with no attempt in progress. */
  target: ProcessorId;
  /** Processors whose in-progress attempts may be resumed now. */
  resumable: ProcessorId[];
  /** requestedAt for fresh attempts (millisecond precision, as sent to the processor). */
  requestedAt: Date;
  leaseMs: number;
}

export interface ClaimRef {
  correlationId: string;
  claimSeq: number;
}

export interface Reschedule extends ClaimRef {
  delayMs: number;
  /** The failed call's detail ("500", "429", "timeout", "refused", …), shown by the console. */
  outcome: string;
  /** The call proved it recorded nothing (CallResult outcome "not_processed"). */
  definitive: boolean;
}

/**
 * Claim fields for queue rows this instance takes as it inserts them (see Intake): the same
 * state a claim leaves (claimBatch), so a row whose holder dies is taken over the same way.
 */
export interface InsertClaim {
  owner: string;
  target: ProcessorId;
  requestedAt: Date;
  leaseMs: number;
}

/**
 * Inserts the payments and their queue rows in one statement (one commit). Returns the ids
 * that were new; the others already existed (a repeat, or a conflict for the caller to judge).
 * With `claim`, the first `claim.count` rows of `batch`, where new, are inserted already
 * leased to claim.owner with their attempt fixed, claim_seq 1: a claim that costs no statement.
 */
export async function insertPayments(
  sql: Sql,
  batch: NewPayment[],
  claim?: InsertClaim & { count: number },
): Promise<Set<string>> {
  const ids = batch.map((p) => p.correlationId);
  const cents = batch.map((p) => p.amountCents.toString());
  const rows = await sql<{ correlation_id: string }[]>`
    with input as (
      select * from unnest(${ids}::uuid[], ${cents}::int8[]) with ordinality
        as t(correlation_id, amount_cents, n)
    ), inserted as (
      insert into payments (correlation_id, amount_cents)
      select correlation_id, amount_cents from input
      on conflict (correlation_id) do nothing
      returning correlation_id, amount_cents
    ), queued as (
      insert into payment_queue
        (correlation_id, amount_cents, visible_at, claim_seq, lease_owner, processor, requested_at)
      select i.correlation_id, i.amount_cents,
        case when c.claimed
          then now() + ${claim?.leaseMs ?? 0} * interval '1 millisecond' else now() end,
        case when c.claimed then 1 else 0 end,
        case when c.claimed then ${claim?.owner ?? null}::text end,
        case when c.claimed then ${claim?.target ?? null}::int2 end,
        case when c.claimed then ${claim?.requestedAt ?? null}::timestamptz end
      from inserted i join input t using (correlation_id),
        lateral (select t.n <= ${claim?.count ?? 0} as claimed) c
    )
    select correlation_id from inserted`;
  return new Set(rows.map((r) => r.correlation_id));
}

/**
 * Returns once every commit made before it is on disk: a durable commit flushes the WAL up to
 * its own record, which lies after theirs. `durableSql` as for claimBatch. The transaction must
 * write WAL of its own for its commit to wait for the flush: an xid alone does not (measured:
 * 50 `select pg_current_xact_id()` caused 2 WAL fsyncs, 50 of these caused 50), hence a
 * transactional WAL message, which touches no table.
 */
export async function awaitDurable(durableSql: Sql): Promise<void> {
  await durableSql`select pg_logical_emit_message(true, 'payments_durable', '')`;
}

export async function findAmounts(sql: Sql, ids: string[]): Promise<Map<string, bigint>> {
  const rows = await sql<{ correlation_id: string; amount_cents: string }[]>`
    select correlation_id, amount_cents from payments where correlation_id = any(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.correlation_id, BigInt(r.amount_cents)]));
}

/** A wake-up hint for the other instances' workers; they also poll. */
export async function notifyPending(sql: Sql): Promise<void> {
  await sql`select pg_notify(${pendingChannel}, '')`;
}

/**
 * Leases up to `limit` due rows, in one statement (one round trip, one commit). The CTE locks
 * exactly the chosen rows (a plain IN-subquery can update more than the limit), and each row
 * keeps any attempt already in progress. A take-over of a row with an attempt marks it
 * uncertain (sql/009): the holder whose lease ran out may still have a call on its way.
 *
 * `durableSql` must be a pool whose sessions commit with synchronous_commit = on, whatever
 * SYNCHRONOUS_COMMIT says for the acknowledgement (src/service.ts gives the claims a pool of
 * their own for that): the processor is called right after, so a claim lost in a Postgres
 * crash would let the same payment be sent again with another requestedAt. One fsync per
 * batch, off the acknowledgement path. (Before, a transaction with `set local` did this in
 * four round trips: begin, set, claim, commit.)
 */
export async function claimBatch(durableSql: Sql, req: ClaimRequest): Promise<ClaimedPayment[]> {
  const rows = await durableSql<
    {
      correlation_id: string;
      amount_cents: string;
      processor: ProcessorId;
      requested_at: Date;
      claim_seq: number;
      attempts: number;
      taken_over: boolean;
    }[]
  >`
    with due as (
      select correlation_id, lease_owner as previous_owner from payment_queue
      where visible_at <= now()
        and (
          (processor is null and ${req.fresh})
          or processor = any(${req.resumable}::int2[])
        )
      order by visible_at
      limit ${req.limit}
      for update skip locked
    )
    update payment_queue q set
      claim_seq = q.claim_seq + 1,
      lease_owner = ${req.owner},
      visible_at = now() + ${req.leaseMs} * interval '1 millisecond',
      processor = coalesce(q.processor, ${req.target}::int2),
      requested_at = coalesce(q.requested_at, ${req.requestedAt}),
      attempt_uncertain = q.processor is not null
        and (q.attempt_uncertain or due.previous_owner is not null)
    from due
    where q.correlation_id = due.correlation_id
    returning q.correlation_id, q.amount_cents, q.processor, q.requested_at, q.claim_seq,
      q.attempts, due.previous_owner is not null as taken_over`;
  return rows.map((r) => ({
    correlationId: r.correlation_id,
    amountCents: BigInt(r.amount_cents),
    processor: r.processor,
    requestedAt: r.requested_at,
    claimSeq: r.claim_seq,
    attempts: r.attempts,
    takenOver: r.taken_over,
  }));
}

/**
 * Moves settled payments from the queue to the ledger, under the attempt they were claimed
 * with, with the number of calls it took (the failed ones and this one). A claim that lost its
 * lease records nothing: the new holder resumes the same attempt and learns the same outcome
 * (200 or 422).
 */
export async function settlePayments(sql: Sql, refs: ClaimRef[]): Promise<Set<string>> {
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
    on conflict do nothing
    returning correlation_id`;
  return new Set(rows.map((r) => r.correlation_id));
}

/**
 * Puts claimed rows back for a later retry, still under the claim that holds them. A call that
 * proved it recorded nothing (`definitive`: 5xx, 429, no connection) releases the attempt —
 * processor and requested_at back to null — so the next claim starts a fresh one, stamped with
 * its own requestedAt and sent where the router says. This is safe because the client never
 * re-sends a request by itself (src/processors/client.ts): that answer covers the only
 * transmission of that call. It is not enough when another call of the same attempt may still
 * be recorded (a timeout, a reset, a holder that died: attempt_uncertain, sql/009): then the
 * attempt stays pinned, as it does after any failure without a definitive answer, and is
 * settled only where it went, by a 200 or a 422. A fresh attempt also keeps resumed payments'
 * requestedAt out of the audit's window (outcome_writer.ts, settleAtOnceAgeMs).
 */
export async function reschedulePayments(sql: Sql, items: Reschedule[]): Promise<number> {
  const ids = items.map((r) => r.correlationId);
  const seqs = items.map((r) => r.claimSeq);
  const delays = items.map((r) => r.delayMs);
  const outcomes = items.map((r) => r.outcome);
  // As text[]: the driver does not serialise a JS array of booleans as bool[].
  const definitive = items.map((r) => String(r.definitive));
  const result = await sql`
    update payment_queue q set
      visible_at = now() + r.delay_ms * interval '1 millisecond',
      lease_owner = null,
      attempts = q.attempts + 1,
      last_outcome = r.outcome,
      processor = case when r.definitive and not q.attempt_uncertain then null
        else q.processor end,
      requested_at = case when r.definitive and not q.attempt_uncertain then null
        else q.requested_at end,
      -- False when released; once true it stays true for the attempt.
      attempt_uncertain = q.attempt_uncertain or not r.definitive
    from unnest(
        ${ids}::uuid[], ${seqs}::int4[], ${delays}::int4[], ${outcomes}::text[],
        ${definitive}::text[]::bool[]
      ) as r(correlation_id, claim_seq, delay_ms, outcome, definitive)
    where q.correlation_id = r.correlation_id and q.claim_seq = r.claim_seq`;
  return result.count;
}

/**
 * On graceful shutdown: make this instance's leased rows claimable again at once. Their
 * attempts stay pinned and become uncertain: from here nobody can tell whether a call of theirs
 * went out (the worker's calls are cut off or still running).
 */
export async function releaseLeases(sql: Sql, owner: string): Promise<number> {
  const result = await sql`
    update payment_queue set visible_at = now(), lease_owner = null,
      attempt_uncertain = processor is not null
    where lease_owner = ${owner} and visible_at > now()`;
  return result.count;
}

/** Counts for tests and status views. */
export async function countQueue(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select count(*) as n from payment_queue`;
  return Number(row.n);
}
