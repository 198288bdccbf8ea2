// The accounts ledger (2024/Q1 spec, ../shared/spec/rinha-2024-q1.md) over real HTTP against two
// real instances sharing one database: every status and validation rule of the spec, the
// official test's per-client sequence, an extended bad-input corpus that writes nothing, the
// 25-concurrent-debits check and the cross-instance read-your-write check, 50 times each.
import assert from "node:assert/strict";
import type { Service } from "../src/service.ts";
import type { TestDatabase } from "./support/db.ts";
import { openStack } from "./support/stack.ts";
import { suite } from "./support/suite.ts";

const adminToken = "ledger-test-admin";
let db: TestDatabase;
let a: Service;
let b: Service;
const test = suite("ledger", async (defer) => {
  ({ db, instances: [a, b] } = await openStack(defer, "ledger", ["ledger-a", "ledger-b"], {
    ADMIN_TOKEN: adminToken,
  }));
});

/** The spec's clients (§2): id → limite. */
const limits: Record<number, number> = { 1: 100000, 2: 80000, 3: 1000000, 4: 10000000, 5: 500000 };

interface Reply {
  status: number;
  contentType: string | null;
  text: string;
}

async function send(
  base: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, { method, headers, body });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    text: await res.text(),
  };
}

const postRaw = (base: string, id: string | number, body: string) =>
  send(base, "POST", `/clientes/${id}/transacoes`, body);
const post = (base: string, id: number, valor: unknown, tipo: unknown, descricao: unknown) =>
  postRaw(base, id, JSON.stringify({ valor, tipo, descricao }));

interface Statement {
  saldo: { total: number; data_extrato: string; limite: number };
  ultimas_transacoes: { valor: number; tipo: string; descricao: string; realizada_em: string }[];
}

async function statement(base: string, id: number): Promise<Statement> {
  const reply = await send(base, "GET", `/clientes/${id}/extrato`);
  assert.equal(reply.status, 200, reply.text);
  return JSON.parse(reply.text);
}

async function reset(): Promise<void> {
  const reply = await send(a.address, "POST", "/clientes/reset", undefined, {
    "x-admin-token": adminToken,
  });
  assert.equal(reply.status, 200, reply.text);
}

async function ledgerRows(): Promise<{ records: number; balances: number[] }> {
  const [r] = await db.sql`select count(*)::int as n from ledger_transactions`;
  const rows = await db.sql`select saldo::int8::text as saldo from ledger_clients order by id`;
  return { records: r.n, balances: rows.map((row) => Number(row.saldo)) };
}

test("seeded: the five clients of the spec with balance 0, and no client 6", async () => {
  const rows = await db.sql`select id, limite::text as limite from ledger_clients order by id`;
  assert.deepEqual(
    rows.map((r) => [r.id, Number(r.limite)]),
    Object.entries(limits).map(
      ([id, limite]) => [Number(id), limite],
    ),
  );
  for (const [id, limite] of Object.entries(limits)) {
    const reply = await send(a.address, "GET", `/clientes/${id}/extrato`);
    assert.equal(reply.status, 200);
    assert.match(reply.contentType ?? "", /^application\/json/);
    // Plain JSON integers (spec §1.3): compared as text, as the official test also does.
    assert.match(reply.text, /"total"\s*:\s*0\s*,/);
    assert.match(reply.text, new RegExp(`"limite"\\s*:\\s*${limite}\\s*\\}`));
    const s = JSON.parse(reply.text) as Statement;
    assert.deepEqual(s.ultimas_transacoes, []);
    assert.match(s.saldo.data_extrato, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  }
  for (const path of ["/clientes/6/extrato", "/clientes/6/transacoes"]) {
    const method = path.endsWith("extrato") ? "GET" : "POST";
    const body = method === "POST" ? '{"valor":1,"tipo":"c","descricao":"x"}' : undefined;
    const reply = await send(b.address, method, path, body);
    assert.equal(reply.status, 404, `${method} ${path}`);
    assert.equal(typeof JSON.parse(reply.text).error, "string");
  }
  assert.deepEqual(await ledgerRows(), { records: 0, balances: [0, 0, 0, 0, 0] });
});

test("the official per-client sequence (spec §4.2 'validações') on both instances", async () => {
  await reset();
  await Promise.all(
    Object.entries(limits).map(async ([key, limite]) => {
      const id = Number(key);
      const [x, y] = id % 2 ? [a.address, b.address] : [b.address, a.address];
      const first = await statement(x, id);
      assert.equal(String(first.saldo.limite), String(limite));
      assert.equal(String(first.saldo.total), "0");
      const toma = await post(x, id, 1, "c", "toma");
      assert.equal(toma.status, 200);
      assert.deepEqual(JSON.parse(toma.text), { limite, saldo: 1 });
      const devolve = await post(y, id, 1, "d", "devolve");
      assert.equal(devolve.status, 200);
      assert.deepEqual(JSON.parse(devolve.text), { limite, saldo: 0 });
      const after = await statement(x, id);
      assert.deepEqual(
        after.ultimas_transacoes.map(({ valor, tipo, descricao }) => ({
          valor,
          tipo,
          descricao,
        })),
        [{ valor: 1, tipo: "d", descricao: "devolve" }, { valor: 1, tipo: "c", descricao: "toma" }],
      );
      const danada = await post(y, id, 1, "c", "danada");
      assert.equal(danada.status, 200);
      const saved = JSON.parse(danada.text);
      // Four parallel reads right after the 200, on both instances (read-your-write).
      const reads = await Promise.all([x, y, x, y].map((base) => statement(base, id)));
      for (const s of reads) {
        assert.deepEqual(
          { ...s.ultimas_transacoes[0], realizada_em: undefined },
          { valor: 1, tipo: "c", descricao: "danada", realizada_em: undefined },
        );
        assert.equal(s.saldo.limite, saved.limite);
        assert.equal(s.saldo.total, saved.saldo);
      }
      // The five invalid payloads of the official test: 422 each, nothing applied.
      for (
        const body of [
          '{"valor": 1.2, "tipo": "d", "descricao": "devolve"}',
          '{"valor": 1, "tipo": "x", "descricao": "devolve"}',
          '{"valor": 1, "tipo": "c", "descricao": "123456789 e mais um pouco"}',
          '{"valor": 1, "tipo": "c", "descricao": ""}',
          '{"valor": 1, "tipo": "c", "descricao": null}',
        ]
      ) {
        const reply = await postRaw(x, id, body);
        assert.equal(reply.status, 422, body);
        assert.equal(typeof JSON.parse(reply.text).error, "string");
      }
      assert.equal((await statement(y, id)).saldo.total, 1);
    }),
  );
  assert.deepEqual(await ledgerRows(), { records: 15, balances: [1, 1, 1, 1, 1] });
});

test("the limit: a debit to exactly -limite is accepted, one cent more is refused", async () => {
  await reset();
  const ok = await post(a.address, 2, 80000, "d", "tudo");
  assert.equal(ok.status, 200);
  assert.equal(ok.text, '{"limite":80000,"saldo":-80000}');
  const refused = await post(b.address, 2, 1, "d", "um centavo");
  assert.equal(refused.status, 422);
  assert.equal(typeof JSON.parse(refused.text).error, "string");
  const s = await statement(a.address, 2);
  assert.equal(s.saldo.total, -80000);
  assert.equal(s.ultimas_transacoes.length, 1);
  // Credits are never refused for balance reasons; then debits fit again.
  assert.equal((await post(b.address, 2, 5, "c", "volta")).text, '{"limite":80000,"saldo":-79995}');
  assert.equal((await post(a.address, 2, 5, "d", "vai")).status, 200);
  assert.equal((await post(a.address, 2, 1, "d", "nao")).status, 422);
  assert.deepEqual(await ledgerRows(), { records: 3, balances: [0, -80000, 0, 0, 0] });
});

test("the statement lists the newest 10 accepted transactions, newest first", async () => {
  await reset();
  for (let i = 1; i <= 14; i++) {
    const base = i % 2 ? a.address : b.address;
    assert.equal((await post(base, 3, i, i % 3 ? "c" : "d", `t${i}`)).status, 200);
    if (i === 7) assert.equal((await post(base, 3, 9_999_999, "d", "recusada")).status, 422);
  }
  const s = await statement(b.address, 3);
  assert.deepEqual(
    s.ultimas_transacoes.map((t) => t.descricao),
    [14, 13, 12, 11, 10, 9, 8, 7, 6, 5].map((i) => `t${i}`),
  );
  const expected = Array.from({ length: 14 }, (_, k) => k + 1)
    .reduce((sum, i) => sum + (i % 3 ? i : -i), 0);
  assert.equal(s.saldo.total, expected);
  const times = s.ultimas_transacoes.map((t) => Date.parse(t.realizada_em));
  assert.deepEqual(times, [...times].sort((x, y) => y - x));
});

test("unicode descricao: counted in characters, stored and returned as sent", async () => {
  await reset();
  const accepted = [
    "ãçéíõúàâêô", // 10 characters, 20 bytes
    "😀😁😂🤣😃😄😅😆😉😊", // 10 characters, 20 UTF-16 units, 40 bytes
    "中文描述测试中文描述", // 10 characters, 30 bytes
    " ", // one character
    'a"b\\c\n\t', // JSON escapes survive the round trip
  ];
  for (const descricao of accepted) {
    const reply = await post(a.address, 4, 1, "c", descricao);
    assert.equal(reply.status, 200, `${descricao}: ${reply.text}`);
    assert.equal((await statement(b.address, 4)).ultimas_transacoes[0].descricao, descricao);
  }
  for (const descricao of ["ãçéíõúàâêôû", "😀😁😂🤣😃😄😅😆😉😊😋", "中文描述测试中文描述测"]) {
    assert.equal((await post(a.address, 4, 1, "c", descricao)).status, 422, descricao);
  }
  assert.deepEqual(await ledgerRows(), { records: 5, balances: [0, 0, 0, 5, 0] });
});

type Case = [name: string, expected: number, run: () => Promise<Reply>];

const body = (fields: Record<string, unknown>) => JSON.stringify(fields);
const tx = (over: Record<string, unknown>) =>
  body({ valor: 1, tipo: "c", descricao: "x", ...over });
const withValor = (literal: string) => `{"valor":${literal},"tipo":"c","descricao":"x"}`;
const onA = (id: string | number, text: string) => postRaw(a.address, id, text);

const corpus: Case[] = [
  // Not JSON, or not an object
  ["empty body", 422, () => onA(1, "")],
  ["not JSON", 422, () => onA(1, "valor=1&tipo=c")],
  ["truncated JSON", 422, () => onA(1, '{"valor":1,"tipo":"c"')],
  ["trailing comma", 422, () => onA(1, '{"valor":1,"tipo":"c","descricao":"x",}')],
  ["JSON null", 422, () => onA(1, "null")],
  ["JSON array", 422, () => onA(1, `[${tx({})}]`)],
  ["JSON number", 422, () => onA(1, "1")],
  ["JSON string", 422, () => onA(1, '"c"')],
  // Missing fields
  ["no valor", 422, () => onA(1, body({ tipo: "c", descricao: "x" }))],
  ["no tipo", 422, () => onA(1, body({ valor: 1, descricao: "x" }))],
  ["no descricao", 422, () => onA(1, body({ valor: 1, tipo: "c" }))],
  ["empty object", 422, () => onA(1, "{}")],
  // valor
  ["valor decimal", 422, () => onA(1, withValor("1.2"))],
  ["valor 0.5", 422, () => onA(1, withValor("0.5"))],
  ["valor 0", 422, () => onA(1, withValor("0"))],
  ["valor -1", 422, () => onA(1, withValor("-1"))],
  ["valor 2^31", 422, () => onA(1, withValor("2147483648"))],
  ["valor 2^32", 422, () => onA(1, withValor("4294967296"))],
  ["valor 2^53", 422, () => onA(1, withValor("9007199254740992"))],
  ["valor 2^53 + 1", 422, () => onA(1, withValor("9007199254740993"))],
  ["valor 2^64", 422, () => onA(1, withValor("18446744073709551616"))],
  ["valor 1e400 (Infinity)", 422, () => onA(1, withValor("1e400"))],
  ["valor -0", 422, () => onA(1, withValor("-0"))],
  ["valor as string", 422, () => onA(1, withValor('"10"'))],
  ["valor null", 422, () => onA(1, withValor("null"))],
  ["valor true", 422, () => onA(1, withValor("true"))],
  ["valor array", 422, () => onA(1, withValor("[1]"))],
  ["valor object", 422, () => onA(1, withValor('{"cents":1}'))],
  ["valor NaN literal", 422, () => onA(1, withValor("NaN"))],
  // tipo
  ["tipo x", 422, () => onA(1, tx({ tipo: "x" }))],
  ["tipo upper case C", 422, () => onA(1, tx({ tipo: "C" }))],
  ["tipo 'cd'", 422, () => onA(1, tx({ tipo: "cd" }))],
  ["tipo empty", 422, () => onA(1, tx({ tipo: "" }))],
  ["tipo null", 422, () => onA(1, tx({ tipo: null }))],
  ["tipo number", 422, () => onA(1, tx({ tipo: 1 }))],
  ["tipo ' c'", 422, () => onA(1, tx({ tipo: " c" }))],
  // descricao
  ["descricao empty", 422, () => onA(1, tx({ descricao: "" }))],
  ["descricao null", 422, () => onA(1, tx({ descricao: null }))],
  ["descricao 11 characters", 422, () => onA(1, tx({ descricao: "12345678901" }))],
  ["descricao 25 characters", 422, () => onA(1, tx({ descricao: "123456789 e mais um pouco" }))],
  ["descricao 11 accented", 422, () => onA(1, tx({ descricao: "ááááááááááá" }))],
  ["descricao number", 422, () => onA(1, tx({ descricao: 123 }))],
  ["descricao array", 422, () => onA(1, tx({ descricao: ["x"] }))],
  ["descricao object", 422, () => onA(1, tx({ descricao: { x: 1 } }))],
  ["descricao with NUL", 422, () => onA(1, tx({ descricao: "a\u0000b" }))],
  ["descricao lone surrogate", 422, () => onA(1, '{"valor":1,"tipo":"c","descricao":"a\\ud800"}')],
  // Client ids: anything that is not a registered client is 404, on both routes
  ["POST id 6", 404, () => onA(6, tx({}))],
  ["POST id 0", 404, () => onA(0, tx({}))],
  ["POST id -1", 404, () => onA(-1, tx({}))],
  ["POST id 1.5", 404, () => onA("1.5", tx({}))],
  ["POST id abc", 404, () => onA("abc", tx({}))],
  ["POST id 01", 404, () => onA("01", tx({}))],
  ["POST id 1e0", 404, () => onA("1e0", tx({}))],
  ["POST id 2147483647 (int4, unknown)", 404, () => onA(2147483647, tx({}))],
  ["POST id 2147483648", 404, () => onA(2147483648, tx({}))],
  ["POST id 2^64", 404, () => onA("18446744073709551616", tx({}))],
  ["POST id of 40 digits", 404, () => onA("9".repeat(40), tx({}))],
  ["POST id %20", 404, () => onA("%201", tx({}))],
  ["GET id 6", 404, () => send(b.address, "GET", "/clientes/6/extrato")],
  ["GET id 0", 404, () => send(b.address, "GET", "/clientes/0/extrato")],
  ["GET id -1", 404, () => send(b.address, "GET", "/clientes/-1/extrato")],
  ["GET id 1.0", 404, () => send(b.address, "GET", "/clientes/1.0/extrato")],
  ["GET id x", 404, () => send(b.address, "GET", "/clientes/x/extrato")],
  ["GET id 2^31", 404, () => send(b.address, "GET", "/clientes/2147483648/extrato")],
  ["GET id 9e99", 404, () => send(b.address, "GET", `/clientes/${"9".repeat(99)}/extrato`)],
  ["GET id é", 404, () => send(b.address, "GET", "/clientes/%C3%A9/extrato")],
  // Paths and methods
  ["GET /clientes/1", 404, () => send(b.address, "GET", "/clientes/1")],
  ["GET /clientes/", 404, () => send(b.address, "GET", "/clientes/")],
  ["trailing slash", 404, () => send(b.address, "GET", "/clientes/1/extrato/")],
  ["unknown action", 404, () => send(b.address, "GET", "/clientes/1/saldo")],
  ["GET transacoes", 405, () => send(b.address, "GET", "/clientes/1/transacoes")],
  ["POST extrato", 405, () => send(b.address, "POST", "/clientes/1/extrato", tx({}))],
  ["PUT transacoes", 405, () => send(b.address, "PUT", "/clientes/1/transacoes", tx({}))],
  ["DELETE extrato", 405, () => send(b.address, "DELETE", "/clientes/1/extrato")],
  ["GET reset", 405, () => send(b.address, "GET", "/clientes/reset")],
  // Transport: media type and size keep their own precise statuses
  [
    "content-type text/plain",
    415,
    () =>
      send(a.address, "POST", "/clientes/1/transacoes", tx({}), { "content-type": "text/plain" }),
  ],
  ["body over MAX_BODY_BYTES", 413, () => onA(1, tx({ descricao: "x".repeat(10_000) }))],
  // Reset without the admin token
  ["reset without token", 401, () => send(a.address, "POST", "/clientes/reset")],
  [
    "reset with a wrong token",
    401,
    () => send(a.address, "POST", "/clientes/reset", undefined, { "x-admin-token": "nope" }),
  ],
];

test(`a corpus of ${corpus.length} bad requests: each a JSON error, nothing written`, async (t) => {
  await reset();
  for (const [name, expected, run] of corpus) {
    await t.step(`${name} → ${expected}`, async () => {
      const reply = await run();
      assert.equal(reply.status, expected, `${name}: ${reply.status} ${reply.text.slice(0, 200)}`);
      assert.match(reply.contentType ?? "", /^application\/json/);
      assert.equal(typeof JSON.parse(reply.text).error, "string");
    });
  }
  assert.deepEqual(await ledgerRows(), { records: 0, balances: [0, 0, 0, 0, 0] });
});

test("edge values that are valid: 2^31 - 1 cents, 1.0 (the integer 1), extra fields", async () => {
  await reset();
  const max = await post(a.address, 4, 2147483647, "c", "max");
  assert.equal(max.text, '{"limite":10000000,"saldo":2147483647}');
  // JSON has one number type: 1.0 is the integer 1, not a fraction of a cent.
  assert.equal((await postRaw(b.address, 4, withValor("1.0"))).status, 200);
  assert.equal((await postRaw(b.address, 4, tx({ extra: "ignored" }))).status, 200);
  const again = await post(a.address, 4, 2147483647, "c", "max again");
  assert.equal(again.text, '{"limite":10000000,"saldo":4294967296}');
  assert.equal((await statement(b.address, 4)).saldo.total, 4294967296);
});

test("25 concurrent debits then the balance, and back with 25 credits: 50 times", async () => {
  await reset();
  for (let round = 1; round <= 50; round++) {
    const burst = (tipo: string) =>
      Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          post(i % 2 ? a.address : b.address, 1, 1, tipo, "validacao")),
      );
    const debits = await burst("d");
    assert.deepEqual(debits.map((r) => r.status), Array(25).fill(200), `round ${round}`);
    const saldos = debits.map((r) => JSON.parse(r.text).saldo).sort((x, y) => y - x);
    // Each debit saw the previous one's balance: no two answers share a balance.
    assert.deepEqual(saldos, Array.from({ length: 25 }, (_, i) => -(i + 1)), `round ${round}`);
    assert.equal((await statement(round % 2 ? a.address : b.address, 1)).saldo.total, -25);
    const credits = await burst("c");
    assert.deepEqual(credits.map((r) => r.status), Array(25).fill(200), `round ${round}`);
    assert.equal((await statement(round % 2 ? b.address : a.address, 1)).saldo.total, 0);
  }
  assert.deepEqual(await ledgerRows(), { records: 2500, balances: [0, 0, 0, 0, 0] });
});

test("concurrent debits at the limit: exactly as many as fit are accepted", async () => {
  await reset();
  // Client 2's limit is 80000: 16 debits of 5000 fit, the other 24 must be refused.
  const replies = await Promise.all(
    Array.from(
      { length: 40 },
      (_, i) => post(i % 2 ? a.address : b.address, 2, 5000, "d", `d${i}`),
    ),
  );
  assert.equal(replies.filter((r) => r.status === 200).length, 16);
  assert.equal(replies.filter((r) => r.status === 422).length, 24);
  for (const r of replies.filter((r) => r.status === 200)) {
    assert.ok(JSON.parse(r.text).saldo >= -80000);
  }
  assert.equal((await statement(a.address, 2)).saldo.total, -80000);
  assert.deepEqual(await ledgerRows(), { records: 16, balances: [0, -80000, 0, 0, 0] });
});

test("read-your-write across instances: a 200 on one is in the other's next statement, 50 times", async () => {
  await reset();
  for (let i = 0; i < 50; i++) {
    const [writer, reader] = i % 2 ? [a.address, b.address] : [b.address, a.address];
    const id = (i % 5) + 1;
    const descricao = `ryw${i}`;
    const reply = await post(writer, id, 7, i % 3 ? "c" : "d", descricao);
    assert.equal(reply.status, 200);
    const saved = JSON.parse(reply.text);
    const s = await statement(reader, id);
    assert.equal(s.ultimas_transacoes[0].descricao, descricao, `round ${i}`);
    assert.equal(s.saldo.total, saved.saldo, `round ${i}`);
    assert.equal(s.saldo.limite, saved.limite);
  }
});

test("reset is protected by ADMIN_TOKEN and zeroes every balance", async () => {
  assert.equal((await post(b.address, 5, 10, "d", "antes")).status, 200);
  const denied = await send(b.address, "POST", "/clientes/reset");
  assert.equal(denied.status, 401);
  assert.notDeepEqual((await ledgerRows()).records, 0);
  const ok = await send(b.address, "POST", "/clientes/reset", undefined, {
    "x-admin-token": adminToken,
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ledgerRows(), { records: 0, balances: [0, 0, 0, 0, 0] });
  assert.deepEqual((await statement(a.address, 5)).ultimas_transacoes, []);
});

test("metrics: one label per ledger route, whatever the id", async () => {
  await send(a.address, "GET", "/clientes/3/extrato");
  await send(a.address, "GET", "/clientes/987654/extrato");
  await post(a.address, 3, 1, "c", "m");
  const text = await (await fetch(`${a.address}/metrics`)).text();
  assert.match(text, /route="\/clientes\/:id\/extrato"/);
  assert.match(text, /route="\/clientes\/:id\/transacoes"/);
  assert.doesNotMatch(text, /\/clientes\/\d/);
});
