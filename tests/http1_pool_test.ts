// The processor client's connections (src/processors/http1_pool.ts, http1_connection.ts)
// against real sockets: a Deno.serve server for well-formed answers, and raw TCP servers for
// everything a hostile or broken processor can do. The property that matters most: a request
// is sent once, and the result says whether it was answered, never sent, or sent without a
// usable answer.
import assert from "node:assert/strict";
import { Http1Pool } from "../src/processors/http1_pool.ts";
import { parseHead } from "../src/processors/http1_connection.ts";
import { waitUntil } from "./support/wait.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A TCP server that reads whole requests and lets `answer` write (or not) each reply. */
function rawServer(
  answer: (conn: Deno.Conn, request: string, n: number) => Promise<"keep" | "close">,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const connections = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      connections.add(conn);
      (async () => {
        let pending = "";
        const buf = new Uint8Array(4096);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            pending += decoder.decode(buf.subarray(0, n));
            const end = pending.indexOf("\r\n\r\n");
            if (end < 0) continue;
            // One request at a time (the client never pipelines): its body is the rest.
            const length = Number(/content-length: (\d+)/i.exec(pending)?.[1] ?? 0);
            if (encoder.encode(pending.slice(end + 4)).length < length) continue;
            const request = pending;
            pending = "";
            requests.push(request);
            if (await answer(conn, request, requests.length) === "close") break;
          }
        } catch {
          // the client went away
        }
        connections.delete(conn);
        try {
          conn.close();
        } catch {
          // closed by stop()
        }
      })();
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Closes the server side of every open connection (an idle timeout, a restart). */
    dropConnections() {
      for (const c of connections) c.close();
      connections.clear();
    },
    async stop() {
      listener.close();
      this.dropConnections();
      await serving.catch(() => {});
    },
  };
}

function write(conn: Deno.Conn, text: string) {
  return conn.write(encoder.encode(text));
}

const ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";

Deno.test("answers framed by length and by chunks come back, on one reused connection", async () => {
  const ports: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req, info) => {
    ports.push((info.remoteAddr as Deno.NetAddr).port);
    if (new URL(req.url).searchParams.has("chunked")) {
      const body = new ReadableStream({
        start(c) {
          c.enqueue(encoder.encode('{"a":'));
          c.enqueue(encoder.encode("1}"));
          c.close();
        },
      });
      return new Response(body, { status: 500 });
    }
    return Response.json({ message: "payment processed successfully" });
  });
  const pool = new Http1Pool(`http://127.0.0.1:${server.addr.port}`, 4);
  try {
    assert.deepEqual(await post(pool, 1_000, '{"x":1}'), answered(200));
    assert.deepEqual(await pool.postJson("/payments?chunked", "{}", 1_000), answered(500));
    assert.deepEqual(await post(pool), answered(200));
    assert.equal(ports.length, 3);
    assert.equal(new Set(ports).size, 1, "all three calls used the same connection");
    assert.equal(pool.idleConnections, 1);
  } finally {
    pool.close();
    await server.shutdown();
  }
});

type RawServer = ReturnType<typeof rawServer>;
type Answer = Parameters<typeof rawServer>[0];

/** A raw server answering with `answer`, and a pool of `maxIdle` to it; both closed after. */
async function withRaw(
  answer: Answer,
  fn: (pool: Http1Pool, server: RawServer) => Promise<void>,
  maxIdle = 4,
) {
  const server = rawServer(answer);
  const pool = new Http1Pool(server.url, maxIdle);
  try {
    await fn(pool, server);
  } finally {
    pool.close();
    assert.equal(pool.idleConnections, 0);
    await server.stop();
  }
}

const answerOk: Answer = async (conn) => {
  await write(conn, ok);
  return "keep";
};

function post(pool: Http1Pool, timeoutMs = 1_000, body = "{}") {
  return pool.postJson("/payments", body, timeoutMs);
}

const answered = (status: number) => ({ kind: "answered", status });
const unknown = (reason: string) => ({ kind: "unknown", reason });

Deno.test("the request goes out once, with its headers and exact body", async () => {
  await withRaw(answerOk, async (pool, server) => {
    const body = '{"correlationId":"ü","amount":19.90}';
    assert.deepEqual(await post(pool, 1_000, body), answered(200));
    assert.equal(server.requests.length, 1);
    const [request] = server.requests;
    assert(request.startsWith("POST /payments HTTP/1.1\r\n"), request);
    assert(request.includes(`host: ${new URL(server.url).host}\r\n`), request);
    assert(request.includes("content-type: application/json\r\n"), request);
    assert(request.includes(`content-length: ${encoder.encode(body).length}\r\n`), request);
    assert(request.endsWith(`\r\n\r\n${body}`), request);
  });
});

Deno.test("a connection cut after the request: unknown, and never sent again", async () => {
  // Records it (say), answers nothing.
  const cut: Answer = (_conn, _request, n) => Promise.resolve(n === 1 ? "close" : "keep");
  await withRaw(cut, async (pool, server) => {
    assert.deepEqual(await post(pool), unknown("closed"));
    assert.equal(server.requests.length, 1, "fetch would have re-sent it here");
    assert.equal(pool.idleConnections, 0);
  });
});

Deno.test("a reused connection cut mid-exchange is not retried either", async () => {
  const cutSecond: Answer = async (conn, request, n) =>
    n === 2 ? "close" : await answerOk(conn, request, n);
  await withRaw(cutSecond, async (pool, server) => {
    assert.deepEqual(await post(pool), answered(200));
    assert.equal(pool.idleConnections, 1);
    assert.deepEqual(await post(pool), unknown("closed"));
    assert.equal(server.requests.length, 2);
  });
});

Deno.test("no answer in time: unknown timeout; a status without its whole body stands", async () => {
  const silentThenHalf: Answer = async (conn, _request, n) => {
    if (n === 2) await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{");
    return "keep"; // the first request is never answered
  };
  await withRaw(silentThenHalf, async (pool, server) => {
    assert.deepEqual(await post(pool, 100), unknown("timeout"));
    // The status arrives at once; the timeout then ends the wait for the rest of the body.
    assert.deepEqual(await post(pool, 2_000), answered(200));
    assert.equal(pool.idleConnections, 0, "a connection mid-body is not reused");
    assert.equal(server.requests.length, 2);
  });
});

Deno.test("garbage instead of a status line: unknown malformed", async () => {
  const garbage: Answer = async (conn) => {
    await write(conn, "<html>\u0000not http\r\n\r\n");
    return "keep";
  };
  await withRaw(garbage, async (pool) => {
    assert.deepEqual(await post(pool), unknown("malformed"));
    assert.equal(pool.idleConnections, 0);
  });
});

Deno.test("interim 100, a close-delimited body, connection: close", async () => {
  const odd: Answer = async (conn, _request, n) => {
    await write(
      conn,
      n === 1
        ? "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\n\r\nbusy"
        : "HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\n{}",
    );
    return "close";
  };
  await withRaw(odd, async (pool) => {
    assert.deepEqual(await post(pool), answered(429));
    assert.equal(pool.idleConnections, 0);
    assert.deepEqual(await post(pool), answered(200));
    assert.equal(pool.idleConnections, 0);
  });
});

Deno.test("an idle connection the processor closes leaves the pool at once", async () => {
  await withRaw(answerOk, async (pool, server) => {
    assert.deepEqual(await post(pool), answered(200));
    assert.equal(pool.idleConnections, 1);
    server.dropConnections();
    const gone = () => pool.idleConnections === 0;
    await waitUntil("the closed connection left the pool", gone, 5_000, 5);
    // The next call opens a new connection instead of writing into a dead one.
    assert.deepEqual(await post(pool), answered(200));
    assert.equal(server.requests.length, 2);
  });
});

Deno.test("nobody listening: not sent", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const pool = new Http1Pool(`http://127.0.0.1:${port}`, 4);
  assert.deepEqual(await post(pool), { kind: "not_sent", reason: "refused" });
  pool.close();
});

Deno.test("idle connections are capped, and closed with the pool", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const gated: Answer = async (conn, request, n) => {
    await gate;
    return await answerOk(conn, request, n);
  };
  await withRaw(gated, async (pool, server) => {
    const calls = [1, 2, 3].map(() => post(pool, 2_000));
    await waitUntil("three requests arrived", () => server.requests.length === 3, 5_000, 5);
    release();
    for (const result of await Promise.all(calls)) assert.deepEqual(result, answered(200));
    assert.equal(pool.idleConnections, 2);
  }, 2);
});

Deno.test("parseHead: framing and keep-alive from the status line and headers", () => {
  assert.deepEqual(parseHead("HTTP/1.1 200 OK\r\nContent-Length: 5"), {
    status: 200,
    keepAlive: true,
    chunked: false,
    contentLength: 5,
  });
  assert.deepEqual(parseHead("HTTP/1.0 500 x"), { status: 500, keepAlive: false, chunked: false });
  assert.deepEqual(parseHead("HTTP/1.0 200 x\r\nconnection: Keep-Alive").keepAlive, true);
  assert.deepEqual(parseHead("HTTP/1.1 200\r\ntransfer-encoding: gzip, chunked").chunked, true);
  assert.deepEqual(parseHead("HTTP/1.1 200\r\ntransfer-encoding: gzip").keepAlive, false);
  for (
    const bad of [
      "HTTP/2 200",
      "HTTP/1.1 20 OK",
      "HTTP/1.1 200 OK\r\nno colon",
      "HTTP/1.1 200 OK\r\ncontent-length: -1",
      "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2",
    ]
  ) {
    let threw = false;
    try {
      parseHead(bad);
    } catch {
      threw = true;
    }
    assert(threw, `accepted ${JSON.stringify(bad)}`);
  }
});
