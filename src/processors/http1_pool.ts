// Keep-alive HTTP/1.1 connections to one processor, for its POST /payments, over Deno.connect.
//
// Why not fetch:
// - fetch silently sends a request a second time, on a new connection, when a reused keep-alive
//   connection closes before the answer (tests/reliability_test.ts). So no answer of fetch ever
//   proved that a call recorded nothing, and every failed attempt had to stay pinned to its
//   processor and requestedAt. Here a request goes out once, on one connection, and the result
//   says which of three things happened: answered, not sent at all, or sent without a usable
//   answer.
// - CPU: 31-52 µs per call against 75-127 µs for fetch with a cleared timer, as the service
//   used it (`deno run -A bench/processor_call.ts 10000 8`, bench/README.md, 16:00 UTC).
//
// Only what the processors need: plain http, one request per connection at a time (no
// pipelining), answers framed by Content-Length, chunked encoding or the connection's end.

import { type ExchangeResult, Http1Connection } from "./http1_connection.ts";

const encoder = new TextEncoder();

export class Http1Pool {
  readonly #hostname: string;
  readonly #port: number;
  readonly #host: string;
  readonly #maxIdle: number;
  /** Most recently used last: a call takes the warmest connection. */
  #idle: Http1Connection[] = [];
  #closed = false;

  /** `baseUrl`: http://host[:port], no path; `maxIdle`: connections kept open between calls. */
  constructor(baseUrl: string, maxIdle: number) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:") throw new Error(`only http:// is supported: ${baseUrl}`);
    this.#hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = url.port === "" ? 80 : Number(url.port);
    this.#host = url.host;
    this.#maxIdle = maxIdle;
  }

  get idleConnections(): number {
    return this.#idle.length;
  }

  /** POSTs a JSON body to `path`; never rejects. */
  async postJson(path: string, body: string, timeoutMs: number): Promise<ExchangeResult> {
    const deadline = Date.now() + timeoutMs;
    let conn = this.#idle.pop();
    if (conn === undefined) {
      const opened = await this.#open(timeoutMs);
      if (!(opened instanceof Http1Connection)) return opened;
      conn = opened;
    }
    const payload = encoder.encode(body);
    const head = encoder.encode(
      `POST ${path} HTTP/1.1\r\nhost: ${this.#host}\r\ncontent-type: application/json\r\n` +
        `content-length: ${payload.length}\r\n\r\n`,
    );
    const request = new Uint8Array(head.length + payload.length);
    request.set(head);
    request.set(payload, head.length);
    const result = await conn.exchange(request, Math.max(1, deadline - Date.now()));
    this.#release(conn);
    return result;
  }

  /** Closes every idle connection now, and each busy one when its call ends. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.destroy();
  }

  async #open(timeoutMs: number): Promise<Http1Connection | ExchangeResult> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Deno.connect({ hostname: this.#hostname, port: this.#port });
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), timeoutMs);
    });
    try {
      const tcp = await Promise.race([connecting, expired]);
      if (tcp === "expired") {
        // Deno.connect cannot be cancelled: a late connection is closed unused.
        connecting.then((late) => late.close(), () => {});
        return { kind: "not_sent", reason: "connect_timeout" };
      }
      tcp.setNoDelay(true);
      return new Http1Connection(tcp);
    } catch (err) {
      return {
        kind: "not_sent",
        reason: err instanceof Deno.errors.ConnectionRefused ? "refused" : "connect_failed",
      };
    } finally {
      clearTimeout(timer);
    }
  }

  #release(conn: Http1Connection): void {
    if (!conn.reusable || this.#closed || this.#idle.length >= this.#maxIdle) {
      conn.destroy();
      return;
    }
    this.#idle.push(conn);
    conn.park(() => {
      const i = this.#idle.indexOf(conn);
      if (i >= 0) this.#idle.splice(i, 1);
    });
  }
}
