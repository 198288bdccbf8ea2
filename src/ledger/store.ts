// Every statement on the ledger tables (sql/003_ledger.sql), one function each. The decision
// to accept a transaction is made inside applyTransaction's single statement, never here.
import type { Sql } from "../db/connect.ts";

/**
 * Connections of an instance's own for the ledger's statements (src/service.ts). One is enough:
 * postgres.js pipelines queries on a busy connection, so concurrent requests do not wait for
 * each other's round trips, and every statement runs on the same warm backend instead of the
 * shared pool's longest-idle one. `RAMP_S=60 STEADY_S=60 deno task bench:ledger`, 2026-12-02,
 * alternating two runs each: Postgres backends 0.444 / 0.470 → 0.401 / 0.380 ms of CPU per
 * request, the stack 1.93 / 2.01 → 1.89 / 1.89, p99 14.8 / 16.4 → 13.3 / 14.4 ms, 0 KO.
 */
export const ledgerConnections = 1;

export type Tipo = "c" | "d";

export interface NewTransaction {
  clientId: number;
  /** Positive cents, at most 2^31 - 1. */
  valor: number;
  tipo: Tipo;
  /** 1 to 10 characters. */
  descricao: string;
}

/** Integers as Postgres prints them (int8 arrives as text): safe to write into JSON as is. */
export type Applied =
  | { outcome: "applied"; limite: string; saldo: string }
  | { outcome: "refused" }
  | { outcome: "unknown_client" };

/**
 * Applies a credit, or a debit that keeps saldo >= -limite, and records it, in one statement
 * (one commit). A debit that would break the limit changes nothing: "refused".
 */
export async function applyTransaction(sql: Sql, t: NewTransaction): Promise<Applied> {
  const delta = t.tipo === "c" ? t.valor : -t.valor;
  const rows = await sql<{ limite: string; saldo: string | null }[]>`
    with applied as (
      update ledger_clients set saldo = saldo + ${delta}::int8
      where id = ${t.clientId}::int4 and saldo + ${delta}::int8 >= -limite
      returning id, saldo
    ), recorded as (
      insert into ledger_transactions (client_id, valor, tipo, descricao)
      select id, ${t.valor}::int4, ${t.tipo}::text, ${t.descricao}::text from applied
    )
    select c.limite, a.saldo
    from ledger_clients c left join applied a on a.id = c.id
    where c.id = ${t.clientId}::int4`;
  if (rows.length === 0) return { outcome: "unknown_client" };
  const [row] = rows;
  if (row.saldo === null) return { outcome: "refused" };
  return { outcome: "applied", limite: row.limite, saldo: row.saldo };
}

/**
 * The statement's whole JSON body, rendered by Postgres (integers stay integers, timestamps
 * keep their microseconds), or undefined for an unknown client.
 */
export async function readStatement(sql: Sql, clientId: number): Promise<string | undefined> {
  const rows = await sql<{ body: string }[]>`
    select json_build_object(
      'saldo', json_build_object(
        'total', c.saldo,
        'data_extrato', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'limite', c.limite
      ),
      'ultimas_transacoes', coalesce((
        select json_agg(json_build_object(
          'valor', t.valor,
          'tipo', t.tipo,
          'descricao', t.descricao,
          'realizada_em', to_char(t.realizada_em at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        ) order by t.id desc)
        from (
          select id, valor, tipo, descricao, realizada_em from ledger_transactions
          where client_id = c.id
          order by id desc
          limit 10
        ) t
      ), '[]'::json)
    )::text as body
    from ledger_clients c
    where c.id = ${clientId}::int4`;
  return rows[0]?.body;
}

/**
 * Deletes every record and zeroes every balance in one statement (one commit), so no reader
 * sees balances without their records. For resets between bench runs; vacuum reclaims the rows.
 */
export async function resetLedger(sql: Sql): Promise<void> {
  await sql`
    with cleared as (delete from ledger_transactions)
    update ledger_clients set saldo = 0`;
}
