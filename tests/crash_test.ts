// Crash safety: an instance killed with SIGKILL while holding claimed payments (calls in
// flight) loses nothing and doubles nothing — another instance takes its leases over.
import assert from "node:assert/strict";
import { join } from "node:path";
import { withTestDatabase } from "./support/db.ts";
import {
  assertBooksAgree,
  configure,
  freePort,
  instanceEnv,
  postPayment,
  startInstance,
  startProcessors,
  waitForDrain,
} from "./support/stack.ts";
import { spawnChild, waitForHttp } from "../tools/local/processes.ts";
import { projectRoot } from "../tools/local/project_paths.ts";

function spawnInstance(env: Record<string, string>) {
  return spawnChild({
    name: env.INSTANCE_ID,
    cmd: Deno.execPath(),
    args: ["run", "-A", join(projectRoot, "main.ts")],
    env,
    echo: false,
  });
}

Deno.test("kill -9 during processor calls: every payment processed exactly once", async () => {
  await withTestDatabase("crash_kill", async (db) => {
    const processors = await startProcessors();
    // Calls take 800 ms, so the victim is surely mid-call when it dies.
    await configure(processors.default, 800, false);
    const port = freePort();
    const victim = spawnInstance(instanceEnv(db.url, processors, {
      INSTANCE_ID: "victim",
      PORT: String(port),
      PROCESSOR_TIMEOUT_MS: "2000",
      LEASE_MARGIN_MS: "200",
    }));
    const victimUrl = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${victimUrl}/health`);
      const ids = Array.from({ length: 100 }, () => crypto.randomUUID());
      const statuses = await Promise.all(ids.map((id) => postPayment(victimUrl, id)));
      assert.ok(statuses.every((s) => s === 202));
      for (;;) {
        const [r] = await db.sql`
          select count(*) as n from payment_queue where lease_owner = 'victim' and processor = 1`;
        if (Number(r.n) > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      victim.kill("SIGKILL");
      await victim.status;

      const rescuer = await startInstance(
        instanceEnv(db.url, processors, { INSTANCE_ID: "rescuer" }),
      );
      try {
        await waitForDrain(db.sql);
        const totals = await assertBooksAgree(rescuer.address, processors);
        assert.equal(totals.default.totalRequests, ids.length);
        assert.equal(totals.fallback.totalRequests, 0);
        const [taken] = await db.sql`select count(*) as n from processed_payments`;
        assert.equal(Number(taken.n), ids.length);
        // The rescuer reports that it took leases over from a dead holder.
        const metrics = await (await fetch(`${rescuer.address}/metrics`)).text();
        const takeovers = metrics.match(/^lease_takeovers_total (\d+)$/m);
        assert.ok(takeovers && Number(takeovers[1]) > 0, "lease_takeovers_total should count them");
      } finally {
        await rescuer.stop();
      }
    } finally {
      victim.kill("SIGKILL");
      await victim.status;
      await processors.close();
    }
  });
});

Deno.test("SIGTERM: stops accepting, finishes its calls, releases its leases", async () => {
  await withTestDatabase("crash_term", async (db) => {
    const processors = await startProcessors();
    await configure(processors.default, 300, false);
    const port = freePort();
    const child = spawnInstance(instanceEnv(db.url, processors, {
      INSTANCE_ID: "graceful",
      PORT: String(port),
    }));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${url}/health`);
      const ids = Array.from({ length: 50 }, () => crypto.randomUUID());
      await Promise.all(ids.map((id) => postPayment(url, id)));
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0);
      // Nothing it claimed is left leased to it: settled, or free for the next instance now.
      const [leased] = await db.sql`
        select count(*) as n from payment_queue where lease_owner = 'graceful' and visible_at > now()`;
      assert.equal(leased.n, "0");
      const rescuer = await startInstance(instanceEnv(db.url, processors, { INSTANCE_ID: "next" }));
      try {
        await configure(processors.default, 0, false);
        await waitForDrain(db.sql);
        const totals = await assertBooksAgree(rescuer.address, processors);
        assert.equal(totals.default.totalRequests, ids.length);
      } finally {
        await rescuer.stop();
      }
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await processors.close();
    }
  });
});
