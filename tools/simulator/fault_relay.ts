// The TCP relay in front of a fault-injecting simulator (faults.ts): Deno.serve always writes a
// status line, so only a relay can close a connection before any byte of the answer goes out,
// or stop listening for a while and refuse connections.

interface Link {
  client: Deno.Conn;
  upstream: Deno.Conn;
  /** The relay's local port towards the inner server: the inner server sees it as remoteAddr. */
  key: number;
  closed: boolean;
}

/** A TCP relay that can swallow an answer, close connections, and stop listening for a while. */
export class Relay {
  #listener?: Deno.Listener;
  #links = new Set<Link>();
  #tasks = new Set<Promise<void>>();
  /** Links whose next answer is discarded, the connection closed instead. */
  #drop = new Set<number>();
  /** Links closed right after their next answer is passed on. */
  #closeAfter = new Set<number>();
  #refuseTimer?: ReturnType<typeof setTimeout>;
  #closed = false;
  readonly address: { hostname: string; port: number };

  constructor(hostname: string, port: number, private readonly innerPort: number) {
    const listener = Deno.listen({ hostname, port });
    const addr = listener.addr as Deno.NetAddr;
    this.address = { hostname: addr.hostname, port: addr.port };
    this.#accept(listener);
  }

  dropAnswer(key: number): void {
    this.#drop.add(key);
  }

  refuse(durationMs: number, keep: number, onEnd: () => void): void {
    if (this.#closed) return;
    this.#listener?.close();
    this.#listener = undefined;
    for (const link of this.#links) {
      if (link.key === keep) this.#closeAfter.add(keep);
      else this.#closeLink(link);
    }
    clearTimeout(this.#refuseTimer);
    this.#refuseTimer = setTimeout(() => this.#relisten(onEnd), durationMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#refuseTimer);
    this.#listener?.close();
    this.#listener = undefined;
    for (const link of this.#links) this.#closeLink(link);
    while (this.#tasks.size > 0) await Promise.all(this.#tasks);
  }

  #relisten(onEnd: () => void): void {
    this.#refuseTimer = undefined;
    if (this.#closed) return;
    try {
      this.#accept(Deno.listen(this.address));
      onEnd();
    } catch {
      // The port is briefly unavailable: try again shortly.
      this.#refuseTimer = setTimeout(() => this.#relisten(onEnd), 20);
    }
  }

  #accept(listener: Deno.Listener): void {
    this.#listener = listener;
    this.#track((async () => {
      try {
        for await (const client of listener) this.#track(this.#serve(client));
      } catch {
        // closed
      }
    })());
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #serve(client: Deno.Conn): Promise<void> {
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.innerPort });
    } catch {
      closeQuietly(client);
      return;
    }
    const link: Link = {
      client,
      upstream,
      key: (upstream.localAddr as Deno.NetAddr).port,
      closed: false,
    };
    if (this.#closed || this.#listener === undefined) {
      this.#closeLink(link);
      return;
    }
    this.#links.add(link);
    await Promise.all([this.#pump(link, false), this.#pump(link, true)]);
    this.#links.delete(link);
    this.#drop.delete(link.key);
    this.#closeAfter.delete(link.key);
  }

  async #pump(link: Link, answers: boolean): Promise<void> {
    const from = answers ? link.upstream : link.client;
    const to = answers ? link.client : link.upstream;
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (answers && this.#drop.delete(link.key)) break;
        await writeAll(to, buffer.subarray(0, n));
        if (answers && this.#closeAfter.delete(link.key)) break;
      }
    } catch {
      // the other side went away, or the link was closed
    }
    this.#closeLink(link);
  }

  #closeLink(link: Link): void {
    if (link.closed) return;
    link.closed = true;
    closeQuietly(link.client);
    closeQuietly(link.upstream);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
