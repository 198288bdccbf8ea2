-- Why: the accounts ledger (Rinha de Backend 2024/Q1, ../shared/spec/rinha-2024-q1.md). Five
-- clients with a credit limit receive concurrent credits and debits; a debit must never leave
-- a balance below -limite. The database is the only place that decision is made: one
-- conditional UPDATE decides and applies it, so no instance, lock or clock in the application
-- can race another. Money is integer cents.
--
-- Two tables, each with one access pattern:
--   ledger_clients       one row per client: its fixed limit and its running balance. The hot
--                        row of every transaction; updated in place (HOT, no indexed column
--                        changes), so it stays one small page.
--   ledger_transactions  insert-only record of every accepted transaction, never updated.
--
-- The statements (src/ledger/store.ts, one function each):
--   applyTransaction  WITH applied AS (UPDATE ledger_clients SET saldo = saldo + delta
--                     WHERE id = $id AND saldo + delta >= -limite RETURNING …),
--                     recorded AS (INSERT INTO ledger_transactions SELECT … FROM applied)
--                     SELECT … FROM ledger_clients LEFT JOIN applied.
--                     The limit check and the balance change are one row update: concurrent
--                     writers of a client queue on its row lock and each re-checks the limit
--                     against the balance the previous one committed (READ COMMITTED
--                     re-evaluates the WHERE on the newest row version). The record is inserted
--                     only for a row that was updated, in the same commit. A refused debit
--                     (422) reads the same primary-key page, updates nothing, takes no lock
--                     and writes nothing: as cheap as an accepted one, and cheaper to commit.
--                     No row at all means an unknown client (404).
--   readStatement     one primary-key read of the client plus the newest 10 records by
--                     ledger_transactions_recent (a backward range on client_id, stopping at
--                     10), rendered as the response's JSON text by Postgres itself.
--   resetLedger       DELETE every record and zero the balances in one statement (bench resets).
--
-- Indexes and why:
--   ledger_clients_pkey        the only way a client row is found.
--   ledger_transactions_pkey   identity id: the order in which transactions were applied. For a
--                              given client, ids are drawn after its row lock is taken, so id
--                              order is the order of its balance changes.
--   ledger_transactions_recent (client_id, id desc): the statement's newest 10, read in order
--                              without a sort. Not covering: the newest pages are rarely
--                              all-visible, so an index-only scan would visit the heap anyway.
-- No foreign key from records to clients: the insert only ever takes ids the UPDATE just
-- locked, and a key check would add a second read of the hot row to every transaction.

create table ledger_clients (
  id int primary key,
  limite bigint not null check (limite >= 0),
  saldo bigint not null default 0,
  -- A safety net, never the mechanism: the UPDATE's WHERE refuses the debit first.
  constraint ledger_clients_within_limit check (saldo >= -limite)
) with (fillfactor = 50);

create table ledger_transactions (
  id bigint generated always as identity primary key,
  client_id int not null,
  valor int not null check (valor > 0),
  tipo text not null check (tipo in ('c', 'd')),
  descricao text not null check (char_length(descricao) between 1 and 10),
  -- clock_timestamp(), not now(): taken after the row lock, so it follows the id order.
  realizada_em timestamptz not null default clock_timestamp()
);
create index ledger_transactions_recent on ledger_transactions (client_id, id desc);

-- The five clients of the spec (§2). Id 6 must never exist: the test probes it for a 404.
insert into ledger_clients (id, limite) values
  (1, 100000),
  (2, 80000),
  (3, 1000000),
  (4, 10000000),
  (5, 500000);
