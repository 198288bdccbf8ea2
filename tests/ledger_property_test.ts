// Property test of the accounts ledger: fast-check drives random waves of concurrent credits,
// debits and statement reads on a client, spread over two real instances sharing one database.
// The database's id order of the records is the order the balance changed in; against it:
//   - every 200 reports the balance right after its own transaction (prefix sums), never below
//     -limite, and the final balance equals the sum of the 200s;
//   - the records are exactly the 200s: a 422 changed nothing, and credits are never refused;
//   - a debit was refused only if, at some moment while it was in flight, it would not fit;
//   - every statement (mid-wave ones too) is a consistent snapshot: a balance the client really
//     had while it was in flight, with the newest 10 records up to that moment, newest first.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Service } from "../src/service.ts";
import type { TestDatabase } from "./support/db.ts";
import { openStack } from "./support/stack.ts";
import { suite } from "./support/suite.ts";

const adminToken = "ledger-property-admin";
let db: TestDatabase;
let instances: Service[];
const test = suite("ledger property", async (defer) => {
  ({ db, instances } = await openStack(defer, "ledger_property", ["ledger-pa", "ledger-pb"], {
    ADMIN_TOKEN: adminToken,
  }));
});
const limits: Record<number, number> = { 1: 100000, 2: 80000, 3: 1000000, 4: 10000000, 5: 500000 };

type Op =
  | { kind: "tx"; tipo: "c" | "d"; valor: number; on: number }
  | { kind: "read"; on: number };

interface Item {
  valor: number;
  tipo: string;
  descricao: string;
}

interface Statement {
  saldo: { total: number; limite: number };
  ultimas_transacoes: Item[];
}

/** A client, and waves of operations sized to its limit so that refusals happen often. */
const scenario = fc.integer({ min: 1, max: 5 }).chain((client) => {
  const limite = limits[client];
  const valor = fc.oneof(
    fc.integer({ min: 1, max: 1000 }),
    fc.integer({ min: 1, max: 60 }).map((pct) => Math.max(1, Math.round(limite * pct / 100))),
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant("tx" as const),
        tipo: fc.constantFrom("c" as const, "d" as const, "d" as const),
        valor,
        on: fc.integer({ min: 0, max: 1 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("read" as const), on: fc.nat(1) }) },
  );
  const waves = fc.array(fc.array(op, { minLength: 1, maxLength: 14 }), {
    minLength: 1,
    maxLength: 5,
  });
  return fc.record({ client: fc.constant(client), waves });
});

let run = 0;
/** Totals over all runs, so the property cannot pass vacuously (no refusal, no mid-wave read). */
const seen = { accepted: 0, refused: 0, reads: 0 };

async function reset(): Promise<void> {
  const res = await fetch(`${instances[run % 2].address}/clientes/reset`, {
    method: "POST",
    headers: { "x-admin-token": adminToken },
  });
  assert.equal(res.status, 200, await res.text());
}

interface TxResult {
  wave: number;
  descricao: string;
  tipo: "c" | "d";
  valor: number;
  status: number;
  body: { limite: number; saldo: number } | undefined;
}

async function sendTx(client: number, wave: number, descricao: string, op: Op & { kind: "tx" }) {
  const res = await fetch(`${instances[op.on].address}/clientes/${client}/transacoes`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ valor: op.valor, tipo: op.tipo, descricao }),
  });
  const text = await res.text();
  const body = res.status === 200 ? JSON.parse(text) : undefined;
  return { wave, descricao, tipo: op.tipo, valor: op.valor, status: res.status, body } as TxResult;
}

async function readStatement(client: number, on: number): Promise<Statement> {
  const res = await fetch(`${instances[on].address}/clientes/${client}/extrato`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

async function checkScenario({ client, waves }: { client: number; waves: Op[][] }) {
  run++;
  await reset();
  const limite = limits[client];
  const results: TxResult[] = [];
  const reads: { wave: number; statement: Statement }[] = [];
  let serial = 0;
  for (const [wave, ops] of waves.entries()) {
    await Promise.all(ops.map(async (op) => {
      if (op.kind === "read") {
        reads.push({ wave, statement: await readStatement(client, op.on) });
      } else {
        const descricao = `p${run.toString(36)}.${(serial++).toString(36)}`;
        results.push(await sendTx(client, wave, descricao, op));
      }
    }));
  }

  // The records in the order the balance changed, and the balance after each (prefix sums).
  const records = await db.sql<{ descricao: string; tipo: string; valor: number }[]>`
    select descricao, tipo, valor from ledger_transactions where client_id = ${client} order by id`;
  const balances = [0];
  for (const r of records) balances.push(balances.at(-1)! + (r.tipo === "c" ? r.valor : -r.valor));
  const position = new Map(records.map((r, i) => [r.descricao, i + 1]));

  const accepted = results.filter((r) => r.status === 200);
  seen.accepted += accepted.length;
  seen.refused += results.length - accepted.length;
  seen.reads += reads.length;
  for (const r of results) {
    assert.ok(r.status === 200 || r.status === 422, `status ${r.status}`);
    if (r.tipo === "c") assert.equal(r.status, 200, "a credit was refused");
  }
  assert.deepEqual(
    [...position.keys()].sort(),
    accepted.map((r) => r.descricao).sort(),
    "the records are not exactly the accepted transactions",
  );
  // Waves run one after another: each wave's records come after the previous wave's.
  const waveEnd: number[] = [];
  for (let w = 0, end = 0; w < waves.length; w++) {
    const mine = accepted.filter((r) => r.wave === w).map((r) => position.get(r.descricao)!);
    assert.ok(mine.every((p) => p > end), "a record is ordered before an earlier wave's");
    end = Math.max(end, ...mine);
    waveEnd.push(end);
  }
  const waveRange = (w: number) => [w === 0 ? 0 : waveEnd[w - 1], waveEnd[w]];

  for (const r of accepted) {
    assert.equal(r.body!.limite, limite);
    assert.ok(r.body!.saldo >= -limite, `saldo ${r.body!.saldo} below -${limite}`);
    assert.equal(r.body!.saldo, balances[position.get(r.descricao)!], "not the prefix sum");
  }
  assert.ok(balances.every((b) => b >= -limite), "the balance went below -limite");
  for (const r of results.filter((r) => r.status === 422)) {
    const [from, to] = waveRange(r.wave);
    const lowest = Math.min(...balances.slice(from, to + 1));
    assert.ok(lowest - r.valor < -limite, `debit of ${r.valor} refused although it always fit`);
  }

  const expectedList = (upTo: number) =>
    records.slice(Math.max(0, upTo - 10), upTo).reverse().map(({ valor, tipo, descricao }) => ({
      valor,
      tipo,
      descricao,
    }));
  const shape = (s: Statement) =>
    s.ultimas_transacoes.map(({ valor, tipo, descricao }) => ({ valor, tipo, descricao }));
  for (const { wave, statement } of reads) {
    assert.equal(statement.saldo.limite, limite);
    assert.ok(statement.saldo.total >= -limite);
    const [from, to] = waveRange(wave);
    const moments = Array.from({ length: to - from + 1 }, (_, k) => from + k);
    assert.ok(
      moments.some((k) =>
        balances[k] === statement.saldo.total &&
        JSON.stringify(expectedList(k)) === JSON.stringify(shape(statement))
      ),
      "a statement that matches no moment of the client's history",
    );
  }
  const final = accepted.reduce((sum, r) => sum + (r.tipo === "c" ? r.valor : -r.valor), 0);
  for (const on of [0, 1]) {
    const s = await readStatement(client, on);
    assert.equal(s.saldo.total, final, "final balance is not the sum of the 200s");
    assert.deepEqual(shape(s), expectedList(records.length));
  }
  const others = await db.sql`
    select count(*)::int as n from ledger_clients where id <> ${client} and saldo <> 0`;
  assert.equal(others[0].n, 0, "another client's balance moved");
}

test("random concurrent credits, debits and reads on two instances keep the ledger exact", async () => {
  await fc.assert(fc.asyncProperty(scenario, checkScenario), { numRuns: 40 });
  assert.ok(seen.accepted > 0 && seen.refused > 0 && seen.reads > 0, JSON.stringify(seen));
});
