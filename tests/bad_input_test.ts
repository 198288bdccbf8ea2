// A corpus of bad requests over real HTTP (and raw TCP for what fetch cannot send) against a
// running instance: each gets a clear 4xx with a JSON {"error": …}, nothing is written, and the
// instance stays healthy and keeps accepting valid payments.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Service } from "../src/service.ts";
import { probe, sleep } from "./support/wait.ts";
import type { TestDatabase } from "./support/db.ts";
import { openStack } from "./support/stack.ts";
import { exchange, type Reply } from "./support/raw_http.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;
let base: string;
let port: number;
const test = suite("bad input", async (defer) => {
  let instance: Service;
  ({ db, instances: [instance] } = await openStack(defer, "bad_input", ["bad-input"]));
  base = instance.address;
  port = instance.port!;
});
const uuid = () => crypto.randomUUID();

async function send(
  method: string,
  path: string,
  body?: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, { method, headers, body });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    body: await res.text(),
  };
}

const post = (body: string, headers?: Record<string, string>) =>
  send("POST", "/payments", body, headers);

/** One exchange over a raw TCP connection: `write` sends the request however slowly it likes. */
async function raw(write: (conn: Deno.Conn) => Promise<void>): Promise<Reply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    return await exchange(conn, write);
  } finally {
    conn.close();
  }
}

const encode = (s: string) => new TextEncoder().encode(s);
const headerBlock = (extra: string) =>
  `POST /payments HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n${extra}\r\n`;

async function trickle(conn: Deno.Conn, text: string, chunk = 4, pauseMs = 5) {
  for (let i = 0; i < text.length; i += chunk) {
    await conn.write(encode(text.slice(i, i + chunk)));
    await sleep(pauseMs);
  }
}

type Case = [name: string, expected: number, run: () => Promise<Reply>];

const body = (fields: Record<string, unknown>) => JSON.stringify(fields);
const withAmount = (amount: string) => `{"correlationId":"${uuid()}","amount":${amount}}`;
const withId = (id: unknown) => body({ correlationId: id, amount: 19.9 });

const corpus: Case[] = [
  // Malformed JSON
  ["empty body", 400, () => post("")],
  ["truncated object", 400, () => post(`{"correlationId":"${uuid()}","amount":`)],
  ["single quotes", 400, () => post(`{'correlationId':'${uuid()}','amount':1}`)],
  ["trailing comma", 400, () => post(`{"correlationId":"${uuid()}","amount":1,}`)],
  ["two objects", 400, () => post(`${withAmount("1")}${withAmount("1")}`)],
  ["a comment", 400, () => post(`{/* hi */"correlationId":"${uuid()}","amount":1}`)],
  ["bare NaN", 400, () => post(withAmount("NaN"))],
  ["bare Infinity", 400, () => post(withAmount("Infinity"))],
  ["hex number", 400, () => post(withAmount("0x10"))],
  ["leading plus", 400, () => post(withAmount("+1"))],
  ["NUL bytes", 400, () => post("\u0000\u0000\u0000")],
  ["invalid UTF-8", 400, () => send("POST", "/payments", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))],
  // Not an object
  ["JSON null", 400, () => post("null")],
  ["JSON array", 400, () => post(`[${withAmount("1")}]`)],
  ["JSON string", 400, () => post(`"${uuid()}"`)],
  ["JSON number", 400, () => post("19.9")],
  ["JSON true", 400, () => post("true")],
  ["deep nesting", 400, () => post("[".repeat(1000) + "]".repeat(1000))],
  // Wrong types
  ["amount as string", 400, () => post(withAmount('"19.90"'))],
  ["amount null", 400, () => post(withAmount("null"))],
  ["amount array", 400, () => post(withAmount("[19.9]"))],
  ["amount object", 400, () => post(withAmount('{"value":19.9}'))],
  ["amount boolean", 400, () => post(withAmount("true"))],
  ['amount "NaN"', 400, () => post(withAmount('"NaN"'))],
  ['amount "Infinity"', 400, () => post(withAmount('"Infinity"'))],
  ['amount "-Infinity"', 400, () => post(withAmount('"-Infinity"'))],
  ["correlationId number", 400, () => post(withId(12345))],
  ["correlationId null", 400, () => post(withId(null))],
  ["correlationId array", 400, () => post(withId([uuid()]))],
  ["correlationId object", 400, () => post(withId({ id: uuid() }))],
  // Amounts out of range or too precise
  ["zero", 400, () => post(withAmount("0"))],
  ["negative zero", 400, () => post(withAmount("-0"))],
  ["negative", 400, () => post(withAmount("-19.9"))],
  ["minus one cent", 400, () => post(withAmount("-0.01"))],
  ["three decimals", 400, () => post(withAmount("19.999"))],
  ["half a cent", 400, () => post(withAmount("0.005"))],
  ["1.005", 400, () => post(withAmount("1.005"))],
  ["0.1 + 0.2", 400, () => post(withAmount("0.30000000000000004"))],
  ["tiny", 400, () => post(withAmount("1e-7"))],
  ["smallest double", 400, () => post(withAmount("5e-324"))],
  ["above MAX_AMOUNT", 400, () => post(withAmount("1000000.01"))],
  ["huge", 400, () => post(withAmount("1e300"))],
  ["overflows to Infinity", 400, () => post(withAmount("1e309"))],
  ["beyond 2^53 cents", 400, () => post(withAmount("90071992547409.93"))],
  // Missing or extra fields
  ["empty object", 400, () => post("{}")],
  ["only correlationId", 400, () => post(body({ correlationId: uuid() }))],
  ["only amount", 400, () => post(body({ amount: 19.9 }))],
  ["extra fields, amount missing", 400, () => post(body({ correlationId: uuid(), value: 1 }))],
  ["misspelled keys", 400, () => post(body({ correlationID: uuid(), Amount: 19.9 }))],
  [
    "amount hidden in __proto__",
    400,
    () => post(`{"correlationId":"${uuid()}","__proto__":{"amount":1}}`),
  ],
  [
    "duplicate key, last negative",
    400,
    () => post(`{"correlationId":"${uuid()}","amount":1,"amount":-1}`),
  ],
  // Not UUIDs
  ["empty id", 400, () => post(withId(""))],
  ["short id", 400, () => post(withId("abc"))],
  ["UUID without dashes", 400, () => post(withId(uuid().replaceAll("-", "")))],
  ["UUID in braces", 400, () => post(withId(`{${uuid()}}`))],
  ["urn:uuid prefix", 400, () => post(withId(`urn:uuid:${uuid()}`))],
  ["UUID with a trailing newline", 400, () => post(withId(`${uuid()}\n`))],
  ["UUID with spaces", 400, () => post(withId(` ${uuid()} `))],
  ["non-hex digit", 400, () => post(withId(`g${uuid().slice(1)}`))],
  ["UUID too long", 400, () => post(withId(`${uuid()}0`))],
  // Sizes
  [
    "declared 4 KiB + 1",
    413,
    () => post(body({ correlationId: uuid(), amount: 1, pad: "x".repeat(4100) })),
  ],
  ["1 MiB body", 413, () => post(`{"pad":"${"x".repeat(1 << 20)}"}`)],
  [
    "huge declared length, no body",
    413,
    () => raw((c) => c.write(encode(headerBlock("content-length: 100000000\r\n"))).then(() => {})),
  ],
  ["chunked, trickled past 4 KiB", 413, () =>
    raw(async (c) => {
      await c.write(encode(headerBlock("transfer-encoding: chunked\r\n")));
      for (let i = 0; i < 40; i++) {
        await c.write(encode(`80\r\n${"x".repeat(128)}\r\n`));
        await sleep(2);
      }
      await c.write(encode("0\r\n\r\n"));
    })],
  ["bad JSON trickled a few bytes at a time", 400, () =>
    raw(async (c) => {
      const text = `{"correlationId":"${uuid()}","amount":19.9`;
      await c.write(encode(headerBlock(`content-length: ${text.length}\r\n`)));
      await trickle(c, text);
    })],
  // Content types
  ["text/plain", 415, () => post(withAmount("1"), { "content-type": "text/plain" })],
  ["form encoded", 415, () =>
    post(`correlationId=${uuid()}&amount=1`, {
      "content-type": "application/x-www-form-urlencoded",
    })],
  [
    "multipart",
    415,
    () => post(withAmount("1"), { "content-type": "multipart/form-data; boundary=x" }),
  ],
  ["application/jsonx", 415, () => post(withAmount("1"), { "content-type": "application/jsonx" })],
  ["application/xml", 415, () => post("<payment/>", { "content-type": "application/xml" })],
  // Methods and paths
  ["GET /payments", 405, () => send("GET", "/payments")],
  ["PUT /payments", 405, () => send("PUT", "/payments", withAmount("1"))],
  ["DELETE /payments", 405, () => send("DELETE", "/payments")],
  ["PATCH /payments", 405, () => send("PATCH", "/payments", withAmount("1"))],
  ["OPTIONS /payments", 405, () => send("OPTIONS", "/payments")],
  ["POST /payments-summary", 405, () => send("POST", "/payments-summary", "{}")],
  ["DELETE /payments-summary", 405, () => send("DELETE", "/payments-summary")],
  ["GET /purge-payments", 405, () => send("GET", "/purge-payments")],
  ["PUT /purge-payments", 405, () => send("PUT", "/purge-payments", "{}")],
  ["POST /health", 405, () => send("POST", "/health", "{}")],
  ["POST /payment", 404, () => send("POST", "/payment", withAmount("1"))],
  ["POST /payments/", 404, () => send("POST", "/payments/", withAmount("1"))],
  ["POST /payments/<id>", 404, () => send("POST", `/payments/${uuid()}`, withAmount("1"))],
  ["POST /PAYMENTS", 404, () => send("POST", "/PAYMENTS", withAmount("1"))],
  // Bad summary bounds
  ...[
    "from=yesterday",
    "to=abc",
    "from=2025-07-15",
    "from=2025-07-15T12:00:00",
    "from=2025-07-15%2012:00:00Z",
    "from=1752580800000",
    "from=2025-13-01T00:00:00Z",
    "to=2025-07-15T23:60:00Z",
    "from=2025-07-15T12:00:00%2B25:00",
    "from=%00",
    "from=%202025-07-15T12:00:00Z",
    "from=2025-07-15T12:00:00.000Z&to=garbage",
  ].map((q): Case => [`summary ${q}`, 400, () => send("GET", `/payments-summary?${q}`)]),
];

async function rowCount(): Promise<number> {
  const [r] = await db.sql`select (select count(*) from payments)
    + (select count(*) from payment_queue) + (select count(*) from processed_payments) as n`;
  return Number(r.n);
}

test(`a corpus of ${corpus.length} bad requests: each a clear 4xx JSON error`, async (t) => {
  assert.ok(corpus.length >= 50);
  for (const [name, expected, run] of corpus) {
    await t.step(`${name} → ${expected}`, async () => {
      const reply = await run();
      assert.equal(reply.status, expected, `${name}: ${reply.status} ${reply.body.slice(0, 200)}`);
      assert.match(reply.contentType ?? "", /^application\/json/);
      const parsed = JSON.parse(reply.body);
      assert.equal(typeof parsed.error, "string");
      assert.ok(parsed.error.length > 0);
    });
  }
  assert.equal(await rowCount(), 0, "a bad request wrote something");
});

test("arbitrary JSON bodies: a 4xx JSON error each, nothing written", async () => {
  await fc.assert(
    fc.asyncProperty(fc.jsonValue(), async (value) => {
      const reply = await post(JSON.stringify(value));
      assert.ok(reply.status >= 400 && reply.status < 500, `${reply.status} for ${reply.body}`);
      assert.equal(typeof JSON.parse(reply.body).error, "string");
    }),
    { numRuns: 200 },
  );
  assert.equal(await rowCount(), 0);
});

test("a client stalling mid-body does not stop the instance serving others", async () => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encode(headerBlock("content-length: 80\r\n") + `{"correlationId":"`));
    assert.equal(await probe(`${base}/health`), 200);
    const ok = await post(withAmount("19.9"));
    assert.equal(ok.status, 202);
    await db.sql`truncate payment_queue, processed_payments, payments, payment_rollups`;
  } finally {
    conn.close();
  }
});

// A body that stalls is abandoned after src/http/body.ts's deadline (5 s) with a 408.
test({
  name: "a stalled body gets 408 with a JSON error",
  fn: async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const answer = exchange(conn, async (c) => {
        await c.write(encode(headerBlock("content-length: 80\r\n") + `{"correlationId":"`));
      });
      // Hang guard only: the point is that an answer comes at all.
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer to a stalled body")), 30_000);
      });
      const reply = await Promise.race([answer, guard]);
      assert.equal(reply.status, 408);
      assert.equal(typeof JSON.parse(reply.body).error, "string");
    } finally {
      clearTimeout(timer);
      conn.close();
    }
  },
});

// Date.parse would roll 2025-02-30 over to March 2nd; src/http/validate.ts refuses it.
test({
  name: "summary rejects impossible dates such as 2025-02-30",
  fn: async () => {
    for (const q of ["from=2025-02-30T00:00:00Z", "to=2025-04-31T12:00:00Z"]) {
      const reply = await send("GET", `/payments-summary?${q}`);
      assert.equal(reply.status, 400, q);
    }
  },
});

test("afterwards: healthy, nothing written, and a valid payment is accepted", async () => {
  assert.equal(await rowCount(), 0);
  assert.equal(await probe(`${base}/health`), 200);
  const ok = await post(withAmount("19.9"));
  assert.equal(ok.status, 202);
  assert.equal(await rowCount(), 2); // the payment and its queue row
});
