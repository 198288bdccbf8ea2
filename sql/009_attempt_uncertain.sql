-- Why: a failed attempt was kept pinned to its processor and requestedAt whatever the failure,
-- because Deno's fetch silently re-sent a request on a new connection, so even a 500 did not
-- prove that nothing was recorded. The processor client never re-sends now
-- (src/processors/client.ts): a call that ends "not_processed" (5xx, 429, a connection that
-- could not be opened) proves that this call recorded nothing. An attempt may then be released
-- (processor and requested_at back to null, so the next claim starts a fresh one: a new
-- requestedAt, the processor the router picks) — unless another call of the same attempt might
-- still be recorded. Keeping such pins hurt: payments pinned through an outage were resumed with
-- requestedAt seconds old, inside the audit's window, and settled between its two reads.
--
-- payment_queue.attempt_uncertain says "another call of this attempt might still be recorded",
-- and is set (by src/payments/store.ts) when:
--   * a call of the attempt ended without a definitive answer (timeout, reset, a malformed
--     answer, an odd status: outcome "unknown") — reschedulePayments;
--   * a claim took the row over from a holder whose lease ran out — claimBatch: the dead or hung
--     holder's call may land later;
--   * the row's lease was released on shutdown with its attempt fixed — releaseLeases: from
--     there nobody can tell whether its call went out.
-- Once set it stays until the attempt settles (the row is deleted): a later 500 proves nothing
-- about the earlier call. A fresh attempt starts with it false. It belongs to an attempt, hence
-- the check.
--
-- Rows pinned before this migration were failed by the old client, which may have re-sent them:
-- they are uncertain.
alter table payment_queue add column attempt_uncertain boolean not null default false;
update payment_queue set attempt_uncertain = true where processor is not null;
alter table payment_queue add constraint payment_queue_attempt_uncertain_check
  check (not attempt_uncertain or processor is not null);
