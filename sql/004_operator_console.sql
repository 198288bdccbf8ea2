-- Why: the operator console (GET /console) and a payment's own status (GET /payments/{id}) need
-- three facts the schema did not keep, each added at the smallest cost on the hot paths:
--   processed_payments.settled_at  when the ledger row was written ("when settled", and settled
--                                  per second on the console). Added without a default first so
--                                  rows settled before this migration stay null (unknown) rather
--                                  than all claiming the migration's instant; then new rows get
--                                  now(). A constant-size column, no extra statement on settle.
--   processed_payments.attempts    how many calls the payment took, when the settle statement
--                                  records it (null: not recorded).
--   payment_queue.last_outcome     what the last failed or unknown attempt got ("500", "429",
--                                  "timeout", "refused", "network"), when the reschedule
--                                  statement records it (null: not recorded).
-- BRIN indexes, not btrees, for the per-second windows: both tables are append-only and their
-- times follow insertion order, so a BRIN index stays a few pages, costs an insert almost
-- nothing (a page range is only summarised later, by vacuum), and still narrows "the last few
-- seconds" to the table's tail. Nothing here adds a statement to POST /payments.
alter table processed_payments add column settled_at timestamptz;
alter table processed_payments alter column settled_at set default now();
alter table processed_payments add column attempts int;
alter table payment_queue add column last_outcome text;
create index processed_payments_settled_at on processed_payments using brin (settled_at);
create index payments_received_at on payments using brin (received_at);
