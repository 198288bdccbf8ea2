// One keep-alive HTTP/1.1 connection to a processor, for Http1Pool (http1_pool.ts): writes a
// request once, reads its answer (framed by Content-Length, chunked encoding or the
// connection's end; interim 1xx skipped), and while idle watches for the processor's close.
// Nothing here ever sends a request a second time.
import { Deadlines } from "../deadlines.ts";

export type ExchangeResult =
  /** The processor answered with this status (its body, if any, was read and discarded). */
  | { kind: "answered"; status: number }
  /** No connection could be opened: not a byte of the request left this process. */
  | { kind: "not_sent"; reason: "refused" | "connect_timeout" | "connect_failed" }
  /** The request was (or may have been) sent, and no valid status came back. */
  | { kind: "unknown"; reason: "timeout" | "closed" | "malformed" };

/** A response head larger than this is not a processor's answer. */
const maxHeadBytes = 16 * 1024;
/** Every call's timeout, on one timer (src/deadlines.ts says why). */
const callDeadlines = new Deadlines();
const latin1 = new TextDecoder("latin1");

/** Thrown inside an exchange when the bytes received are not an HTTP/1.x answer. */
class MalformedAnswer extends Error {}

/** One TCP connection: one exchange at a time, watched for the peer's close while idle. */
export class Http1Connection {
  readonly #tcp: Deno.TcpConn;
  /** Received, not yet consumed bytes are #buf[#start, #end). */
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  /** A read started while the connection was idle, consumed by the next exchange. */
  #pendingRead: Promise<number | null> | undefined;
  #idle = false;
  #destroyed = false;
  #reusable = true;
  /** The final status of the exchange in progress, once its head has been read. */
  #status: number | undefined;

  constructor(tcp: Deno.TcpConn) {
    this.#tcp = tcp;
  }

  get reusable(): boolean {
    return this.#reusable && !this.#destroyed;
  }

  destroy(): void {
    this.#reusable = false;
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      this.#tcp.close();
    } catch {
      // already closed by the runtime
    }
  }

  /**
   * Between calls a read stays pending, so a close by the processor (an idle timeout, a
   * restart) is seen when it happens and the connection leaves the pool, instead of being
   * found dead by the next request after it was written (an unknown outcome).
   */
  park(onGone: () => void): void {
    this.#idle = true;
    const read = this.#read();
    this.#pendingRead = read;
    const gone = () => {
      if (!this.#idle) return; // an exchange took the read over
      this.destroy();
      onGone();
    };
    read.then(gone, gone);
  }

  async exchange(request: Uint8Array, timeoutMs: number): Promise<ExchangeResult> {
    this.#idle = false;
    let timedOut = false;
    this.#status = undefined;
    const deadline = callDeadlines.add(timeoutMs, () => {
      timedOut = true;
      this.destroy();
    });
    try {
      await this.#writeAll(request);
      await this.#readAnswer();
      return { kind: "answered", status: this.#status! };
    } catch (err) {
      this.destroy();
      // A status already read stands even if its body never arrives in full.
      if (this.#status !== undefined) return { kind: "answered", status: this.#status };
      if (timedOut) return { kind: "unknown", reason: "timeout" };
      return { kind: "unknown", reason: err instanceof MalformedAnswer ? "malformed" : "closed" };
    } finally {
      callDeadlines.cancel(deadline);
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#tcp.write(bytes.subarray(off));
  }

  /** Reads one final answer (skipping 1xx), its body included; its status goes to #status. */
  async #readAnswer(): Promise<void> {
    for (;;) {
      const headEnd = await this.#readHead();
      const head = latin1.decode(this.#buf.subarray(this.#start, headEnd));
      this.#start = headEnd + 4;
      const answer = parseHead(head);
      if (answer.status >= 100 && answer.status < 200) {
        if (answer.status === 101) throw new MalformedAnswer("101 Switching Protocols");
        continue;
      }
      this.#status = answer.status;
      if (!answer.keepAlive) this.#reusable = false;
      if (answer.status === 204 || answer.status === 304) {
        // no body by definition
      } else if (answer.chunked) await this.#skipChunked();
      else if (answer.contentLength !== undefined) await this.#skip(answer.contentLength);
      else {
        // Framed by the connection's end: read to it, then the connection is done.
        this.#reusable = false;
        while (await this.#fill());
      }
      // Bytes after the answer were never asked for: do not reuse such a connection.
      if (this.#start < this.#end) this.#reusable = false;
      this.#start = this.#end = 0;
      return;
    }
  }

  /** Index of the "\r\n\r\n" that ends the head, reading as much as needed. */
  async #readHead(): Promise<number> {
    for (;;) {
      // Rescanned from the start after each read: heads are a few hundred bytes.
      for (let i = this.#start; i + 3 < this.#end; i++) {
        if (
          this.#buf[i] === 13 && this.#buf[i + 1] === 10 && this.#buf[i + 2] === 13 &&
          this.#buf[i + 3] === 10
        ) return i;
      }
      if (this.#end - this.#start > maxHeadBytes) throw new MalformedAnswer("head too large");
      if (!await this.#fill()) throw new Error("closed before the answer's head");
    }
  }

  /** Consumes `n` body bytes. */
  async #skip(n: number): Promise<void> {
    for (;;) {
      const take = Math.min(n, this.#end - this.#start);
      this.#start += take;
      n -= take;
      if (n === 0) return;
      if (!await this.#fill()) throw new Error("closed inside the answer's body");
    }
  }

  /** Consumes a chunked body: size lines, data, and the trailer section. */
  async #skipChunked(): Promise<void> {
    for (;;) {
      const line = await this.#readLine();
      const hex = line.split(";")[0].trim();
      if (!/^[0-9a-f]{1,8}$/i.test(hex)) throw new MalformedAnswer(`bad chunk size: ${hex}`);
      const size = parseInt(hex, 16);
      if (size === 0) {
        while ((await this.#readLine()) !== ""); // trailers, then the empty line
        return;
      }
      await this.#skip(size);
      if ((await this.#readLine()) !== "") throw new MalformedAnswer("chunk not followed by CRLF");
    }
  }

  async #readLine(): Promise<string> {
    for (;;) {
      for (let i = this.#start; i + 1 < this.#end; i++) {
        if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) {
          const line = latin1.decode(this.#buf.subarray(this.#start, i));
          this.#start = i + 2;
          return line;
        }
      }
      if (this.#end - this.#start > maxHeadBytes) throw new MalformedAnswer("line too long");
      if (!await this.#fill()) throw new Error("closed inside a chunked body");
    }
  }

  /** Reads more bytes after #end (making room first); false at the connection's end. */
  async #fill(): Promise<boolean> {
    const read = this.#pendingRead ?? this.#read();
    this.#pendingRead = undefined;
    const n = await read;
    if (n === null) {
      this.#reusable = false;
      return false;
    }
    this.#end += n;
    return true;
  }

  #read(): Promise<number | null> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
    }
    return this.#tcp.read(this.#buf.subarray(this.#end));
  }
}

interface AnswerHead {
  status: number;
  keepAlive: boolean;
  chunked: boolean;
  contentLength?: number;
}

/** Parses a status line and headers (without the final blank line). */
export function parseHead(head: string): AnswerHead {
  const lines = head.split("\r\n");
  const match = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!match) throw new MalformedAnswer(`not an HTTP/1.x status line: ${lines[0].slice(0, 40)}`);
  const answer: AnswerHead = {
    status: Number(match[2]),
    keepAlive: match[1] === "1",
    chunked: false,
  };
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    if (colon <= 0) throw new MalformedAnswer(`bad header line: ${lines[i].slice(0, 40)}`);
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    const value = lines[i].slice(colon + 1).trim().toLowerCase();
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value)) throw new MalformedAnswer(`bad content-length: ${value}`);
      const n = Number(value);
      if (answer.contentLength !== undefined && answer.contentLength !== n) {
        throw new MalformedAnswer("conflicting content-length headers");
      }
      answer.contentLength = n;
    } else if (name === "transfer-encoding") {
      answer.chunked = value.split(",").map((s) => s.trim()).at(-1) === "chunked";
      if (!answer.chunked) answer.keepAlive = false; // framed by the connection's end
    } else if (name === "connection") {
      const tokens = value.split(",").map((s) => s.trim());
      if (tokens.includes("close")) answer.keepAlive = false;
      else if (tokens.includes("keep-alive")) answer.keepAlive = true;
    }
  }
  return answer;
}
