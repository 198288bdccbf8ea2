// The local stack as `deno task dev` runs it (HAProxy, two API instances, two simulators,
// Postgres): a payment goes through port-for-port like production, and stopping leaves no
// process, pid file or held port behind.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { startStack } from "../tools/local/stack.ts";
import { withTestDatabase } from "./support/db.ts";
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
    } finally {
      await stack.stop();
    }
    assert.deepEqual(pids.filter(isAlive), [], "no child may outlive the stack");
    assert.ok(!existsSync(stack.pidDir), "pid files (and their folder) are removed");
    assert.deepEqual(listeningPorts(ports), [], "a server left listening");
  });
});
