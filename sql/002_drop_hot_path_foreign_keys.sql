-- Why: the two foreign keys to payments cost a referential-integrity trigger on every payment
-- twice (one index lookup into payments per queue row inserted, and again per ledger row
-- settled), on the busiest statements, to guard an invariant that the statements themselves
-- already give: a queue row is only ever inserted by the statement that inserts its payment
-- (insertPayments), a ledger row only from the queue row it replaces (settlePayments), and the
-- purge truncates the three tables together. The audit of every end-to-end test checks the
-- invariant instead (tests/support/audit.ts: no queue or ledger row without its payment).
alter table payment_queue drop constraint payment_queue_correlation_id_fkey;
alter table processed_payments drop constraint processed_payments_correlation_id_fkey;
