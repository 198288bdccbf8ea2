// The processor client's connections (src/processors/http1_pool.ts) against real sockets: a
// Deno.serve server for well-formed answers, and raw TCP servers for everything a hostile or
// broken processor can do. The property that matters most: a request is sent once, and the
// result says whether it was answered, never sent, or sent without a usable answer.
import assert from "node:assert/strict";
import { Http1Pool, parseHead } from "../src/processors/http1_pool.ts";
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
    assert.deepEqual(await pool.postJson("/payments", '{"x":1}', 1_000), {
      kind: "answered",
      status: 200,
    });
    assert.deepEqual(await pool.postJson("/payments?chunked", "{}", 1_000), {
      kind: "answered",
      status: 500,
    });
    assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
      kind: "answered",
      status: 200,
    });
    assert.deepEqual(ports.length, 3);
    assert.deepEqual(new Set(ports).size, 1, "all three calls used the same connection");
    assert.deepEqual(pool.idleConnections, 1);
  } finally {
    pool.close();
    await server.shutdown();
  }
});

Deno.test("the request goes out once, with its headers and exact body", async () => {
  const server = rawServer(async (conn) => {
    await write(conn, ok);
    return "keep";
  });
  const pool = new Http1Pool(server.url, 4);
  try {
    const body = '{"correlationId":"ü","amount":19.90}';
    assert.deepEqual(await pool.postJson("/payments", body, 1_000), {
      kind: "answered",
      status: 200,
    });
    assert.deepEqual(server.requests.length, 1);
    const [request] = server.requests;
    assert(request.startsWith("POST /payments HTTP/1.1\r\n"), request);
    assert(request.includes(`host: ${new URL(server.url).host}\r\n`), request);
    assert(request.includes("content-type: application/json\r\n"), request);
    assert(request.includes(`content-length: ${encoder.encode(body).length}\r\n`), request);
    assert(request.endsWith(`\r\n\r\n${body}`), request);
  } finally {
    pool.close();
    await server.stop();
  }
});

Deno.test("a connection cut after the request: unknown, and never sent again", async () => {
  // Records it (say), answers nothing.
  const server = rawServer((_conn, _request, n) => Promise.resolve(n === 1 ? "close" : "keep"));
  const pool = new Http1Pool(server.url, 4);
  try {
    assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
      kind: "unknown",
      reason: "closed",
    });
    assert.deepEqual(server.requests.length, 1, "fetch would have re-sent it here");
    assert.deepEqual(pool.idleConnections, 0);
  } finally {
    pool.close();
    await server.stop();
  }
});

Deno.test("a reused connection cut mid-exchange is not retried either", async () => {
  const server = rawServer(async (conn, _request, n) => {
    if (n === 2) return "close";
    await write(conn, ok);
    return "keep";
  });
  const pool = new Http1Pool(server.url, 4);
  try {
    assert.deepEqual((await pool.postJson("/payments", "{}", 1_000)).kind, "answered");
    assert.deepEqual(pool.idleConnections, 1);
    assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
      kind: "unknown",
      reason: "closed",
    });
    assert.deepEqual(server.requests.length, 2);
  } finally {
    pool.close();
    await server.stop();
  }
});

Deno.test("no answer in time: unknown timeout; a status without its whole body stands", async () => {
  const server = rawServer(async (conn, _request, n) => {
    if (n === 2) await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{");
    return "keep"; // the first request is never answered
  });
  const pool = new Http1Pool(server.url, 4);
  try {
    assert.deepEqual(await pool.postJson("/payments", "{}", 100), {
      kind: "unknown",
      reason: "timeout",
    });
    // The status arrives at once; the timeout then ends the wait for the rest of the body.
    assert.deepEqual(await pool.postJson("/payments", "{}", 2_000), {
      kind: "answered",
      status: 200,
    });
    assert.deepEqual(pool.idleConnections, 0, "a connection mid-body is not reused");
    assert.deepEqual(server.requests.length, 2);
  } finally {
    pool.close();
    await server.stop();
  }
});

Deno.test("garbage instead of a status line: unknown malformed", async () => {
  const server = rawServer(async (conn) => {
    await write(conn, "<html>\u0000not http\r\n\r\n");
    return "keep";
  });
  const pool = new Http1Pool(server.url, 4);
  try {
    assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
      kind: "unknown",
      reason: "malformed",
    });
    assert.deepEqual(pool.idleConnections, 0);
  } finally {
    pool.close();
    await server.stop();
  }
});

Deno.test("interim 100, a close-delimited body, connection: close", async () => {
  const server = rawServer(async (conn, _request, n) => {
    if (n === 1) {
      await write(conn, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\n\r\nbusy");
      return "close";
    }
    await write(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\n{}");
    return "close";
  });
  const pool = new Http1Pool(server.url, 4);
  try {
    assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
      kind: "answered",
      status: 429,
    });
    assert.deepEqual(pool.idleConnections, 0);
    assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
      kind: "answered",
      status: 200,
    });
    assert.deepEqual(pool.idleConnections, 0);
  } finally {
    pool.close();
    await server.stop();
  }
});

Deno.test("an idle connection the processor closes leaves the pool at once", async () => {
  const server = rawServer(async (conn) => {
    await write(conn, ok);
    return "keep";
  });
  const pool = new Http1Pool(server.url, 4);
  try {
    assert.deepEqual((await pool.postJson("/payments", "{}", 1_000)).kind, "answered");
    assert.deepEqual(pool.idleConnections, 1);
    server.dropConnections();
    await waitUntil(
      "the closed connection left the pool",
      () => pool.idleConnections === 0,
      5_000,
      5,
    );
    // The next call opens a new connection instead of writing into a dead one.
    assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
      kind: "answered",
      status: 200,
    });
    assert.deepEqual(server.requests.length, 2);
  } finally {
    pool.close();
    await server.stop();
  }
});

Deno.test("nobody listening: not sent", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const pool = new Http1Pool(`http://127.0.0.1:${port}`, 4);
  assert.deepEqual(await pool.postJson("/payments", "{}", 1_000), {
    kind: "not_sent",
    reason: "refused",
  });
  pool.close();
});

Deno.test("idle connections are capped, and closed with the pool", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const server = rawServer(async (conn) => {
    await gate;
    await write(conn, ok);
    return "keep";
  });
  const pool = new Http1Pool(server.url, 2);
  try {
    const calls = [1, 2, 3].map(() => pool.postJson("/payments", "{}", 2_000));
    await waitUntil("three requests arrived", () => server.requests.length === 3, 5_000, 5);
    release();
    for (const result of await Promise.all(calls)) assert.deepEqual(result.kind, "answered");
    assert.deepEqual(pool.idleConnections, 2);
  } finally {
    pool.close();
    assert.deepEqual(pool.idleConnections, 0);
    await server.stop();
  }
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
