// The local stack as `deno task dev` runs it (HAProxy, two API instances, two simulators,
// Postgres): a payment goes through port-for-port like production, and stopping leaves no
// process, pid file or held port behind.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { startStack } from "../tools/local/stack.ts";
import { withTestDatabase } from "./support/db.ts";
import { exchange } from "./support/raw_http.ts";
import { freePort, listeningPorts, token } from "./support/stack.ts";

function isAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) &&
    !Deno.readTextFileSync(`/proc/${pid}/status`).includes("State:\tZ");
}

Deno.test("the stack serves through HAProxy and stops cleanly", async () => {
  await withTestDatabase("stack", async (db) => {
    const ports = Array.from({ length: 6 }, freePort);
    const stack = await startStack({
      port: ports[0],
      apiPorts: [ports[1], ports[2]],
      simulatorPorts: [ports[3], ports[4]],
      statsPort: ports[5],
      databaseUrl: db.url,
      echo: false,
    });
    const pids = stack.children.map((c) => c.pid);
    try {
      assert.deepEqual(
        stack.children.map((c) => c.name).sort(),
        ["api1", "api2", "haproxy", "processor-default", "processor-fallback"],
      );
      assert.equal(readdirSync(stack.pidDir).length, 5);
      const id = crypto.randomUUID();
      const res = await fetch(`${stack.url}/payments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ correlationId: id, amount: 19.9 }),
      });
      assert.equal(res.status, 202);
      await res.body?.cancel();
      // Wait until our books show the payment settled (the processor records it first, our
      // settle commits just after), then compare with the default simulator's.
      let ours;
      for (;;) {
        ours = await (await fetch(`${stack.url}/payments-summary`)).json();
        if (ours.default.totalRequests === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(ours.default, { totalRequests: 1, totalAmount: 19.9 });
      const r = await fetch(`http://127.0.0.1:${ports[3]}/admin/payments-summary`, {
        headers: { "x-rinha-token": token },
      });
      const theirs = await r.json();
      assert.deepEqual(
        { totalRequests: theirs.totalRequests, totalAmount: theirs.totalAmount },
        { totalRequests: 1, totalAmount: 19.9 },
      );
      const stats = await fetch(`http://127.0.0.1:${ports[5]}/`);
      assert.equal(stats.status, 200);
      await stats.body?.cancel();

      // HAProxy's own answers are JSON errors too: a body that never arrives gets a 408 after
      // haproxy.cfg's 5 s, held by HAProxy rather than an instance (it was HAProxy's HTML 504).
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: ports[0] });
      let guard: ReturnType<typeof setTimeout> | undefined;
      try {
        const stalled = await Promise.race([
          exchange(conn, async (c) => {
            await c.write(new TextEncoder().encode(
              "POST /payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
                'content-length: 80\r\n\r\n{"correlationId":"',
            ));
          }),
          // Hang guard only: the point is that an answer comes at all.
          new Promise<never>((_, reject) => {
            guard = setTimeout(() => reject(new Error("no answer to a stalled body")), 30_000);
          }),
        ]);
        assert.equal(stalled.status, 408);
        assert.equal(stalled.contentType, "application/json");
        assert.equal(typeof JSON.parse(stalled.body).error, "string");
      } finally {
        clearTimeout(guard);
        conn.close();
      }
    } finally {
      await stack.stop();
    }
    assert.deepEqual(pids.filter(isAlive), [], "no child may outlive the stack");
    assert.ok(!existsSync(stack.pidDir), "pid files (and their folder) are removed");
    assert.deepEqual(listeningPorts(ports), [], "a server left listening");
  });
});
