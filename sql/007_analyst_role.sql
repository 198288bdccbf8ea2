-- Why: a session that holds a snapshot (a REPEATABLE READ transaction left idle, a long
-- report) pins the xmin horizon, and vacuum can then remove no dead payment_queue row until it
-- ends; every payment leaves one or two (bench/README.md, `deno task bench:xmin`). People and
-- reporting tools get a role of their own whose sessions cannot hold a snapshot for long:
-- idle in a transaction or running one statement for more than 30 s, the server ends it. The
-- service's own role keeps the server defaults (its transactions are single round trips).
--
-- Roles belong to the cluster, not to this database: the role is created once (a migration of
-- another database of the same cluster may have created it, even concurrently), and the
-- settings (ALTER ROLE … SET, no IN DATABASE) apply to its sessions in every database. It can
-- log in without a password only where pg_hba trusts the connection (the project's local
-- cluster, `docker compose exec postgres psql -U analyst rinha`); elsewhere an operator gives
-- it one with ALTER ROLE analyst PASSWORD '…'. Creating a role needs CREATEROLE: without it
-- the migration says so and leaves the role out rather than stop the service from starting.
do $$
begin
  begin
    create role analyst login;
  exception
    when duplicate_object or unique_violation then null; -- already there
  end;
  alter role analyst set idle_in_transaction_session_timeout = '30s';
  alter role analyst set statement_timeout = '30s';
  grant usage on schema public to analyst;
  grant select on all tables in schema public to analyst;
  -- Tables of later migrations (created by the role that runs migrations) too.
  alter default privileges in schema public grant select on tables to analyst;
exception
  when insufficient_privilege then
    raise warning 'analyst role not created (needs CREATEROLE): %', sqlerrm;
end $$;
