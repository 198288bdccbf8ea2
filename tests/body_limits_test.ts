// What a request body may cost: a missing content type, a malformed or lying Content-Length,
// an oversized or endless body. Sent over raw TCP (fetch always declares a length and a type),
// directly to an instance and through HAProxy: each gets a 4xx in bounded time, nothing is
// written, and the instance keeps serving.
import assert from "node:assert/strict";
import type { Service } from "../src/service.ts";
import { sleep } from "./support/wait.ts";
import type { TestDatabase } from "./support/db.ts";
import { type Haproxy, startHaproxy } from "./support/haproxy.ts";
import { readUntil } from "./support/raw_http.ts";
import { openStack } from "./support/stack.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;
let instance: Service;
let direct: number;
let haproxy: Haproxy;
const test = suite("body limits", async (defer) => {
  ({ db, instances: [instance] } = await openStack(defer, "body_limits", ["limits"]));
  direct = instance.port!;
  haproxy = await startHaproxy([`127.0.0.1:${direct}`, `127.0.0.1:${direct}`]);
  defer(() => haproxy.stop());
});

const encode = (s: string) => new TextEncoder().encode(s);
const payment = () => `{"correlationId":"${crypto.randomUUID()}","amount":19.9}`;

/**
 * Sends `head` (request line and headers, without the blank line) and `body`, then reads until
 * the server answers and closes or the answer is complete. Returns the status, 0 if none came.
 * The write of a large body may fail once the server has answered and closed: that is fine.
 */
async function exchange(port: number, head: string, body: Uint8Array | string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const writing = (async () => {
      await conn.write(encode(`${head}\r\nconnection: close\r\n\r\n`));
      const bytes = typeof body === "string" ? encode(body) : body;
      for (let i = 0; i < bytes.length; i += 65_536) {
        await conn.write(bytes.subarray(i, i + 65_536));
      }
    })().catch(() => {});
    const text = await readUntil(conn, (text) => /\r\n\r\n/.test(text));
    await Promise.race([writing, sleep(100)]);
    return Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  } finally {
    conn.close();
  }
}

const request = (extra: string) => `POST /payments HTTP/1.1\r\nhost: test${extra}`;
const json = "\r\ncontent-type: application/json";
const megabyte = new Uint8Array(1_048_576).fill(0x20);

const cases: [
  name: string,
  head: string,
  body: Uint8Array | string,
  expect: (s: number) => boolean,
][] = [
  ["no content-type", request(`\r\ncontent-length: 60`), payment().padEnd(60), (s) => s === 415],
  [
    "non-numeric content-length",
    request(`${json}\r\ncontent-length: abc`),
    payment(),
    (s) => s === 400,
  ],
  ["content-length in exponent form", request(`${json}\r\ncontent-length: 6e1`), payment(), (
    s,
  ) => s === 400],
  [
    "negative content-length",
    request(`${json}\r\ncontent-length: -1`),
    payment(),
    (s) => s === 400,
  ],
  [
    "two different content-lengths",
    request(`${json}\r\ncontent-length: 5\r\ncontent-length: 60`),
    payment(),
    (
      s,
    ) => s === 400,
  ],
  ["declared 10 MB", request(`${json}\r\ncontent-length: 10485760`), payment(), (s) => s === 413],
  // The body is cut at the declared length: the service reads 20 bytes of a 1 MB body.
  [
    "declared 20 bytes, sends 1 MB",
    request(`${json}\r\ncontent-length: 20`),
    megabyte,
    (s) => s === 400,
  ],
  [
    "chunked 1 MB",
    request(`${json}\r\ntransfer-encoding: chunked`),
    chunked(megabyte),
    (s) => s === 413,
  ],
];

function chunked(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 16_384) {
    const part = bytes.subarray(i, i + 16_384);
    parts.push(encode(`${part.length.toString(16)}\r\n`), part, encode("\r\n"));
  }
  parts.push(encode("0\r\n\r\n"));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return all;
}

for (const via of ["directly", "through HAProxy"] as const) {
  for (const [name, head, body, expect] of cases) {
    test(`${name} (${via}): refused, nothing written`, async () => {
      const status = await exchange(via === "directly" ? direct : haproxy.port, head, body);
      assert.ok(expect(status), `got ${status}`);
      const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from payments`;
      assert.equal(n, 0);
    });
  }
}

test("after all that, a valid payment is accepted both ways", async () => {
  for (const base of [instance.address, haproxy.url]) {
    const res = await fetch(`${base}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: payment(),
    });
    await res.body?.cancel();
    assert.equal(res.status, 202);
  }
});
