// Chaos: both processors down for minutes under steady load (the default answers 500, the
// fallback refuses connections). Payments wait in Postgres; the instances' memory must stay
// bounded (VmRSS of the instance processes, V8 heap capped at 64 MB as `deno task start` does);
// nothing is lost; when the default comes back the backlog drains.
// Outage = 2 × CHAOS_SECONDS (default 120 s). Run with `deno task chaos`.
import assert from "node:assert/strict";
import { auditBooks, describeReport, waitForEmptyQueue } from "../support/audit.ts";
import { faultState, setFault, startHostileProcessors } from "../support/faults.ts";
import { type InstanceProcess, killHard, rssMb, spawnInstance } from "../support/instances.ts";
import { chaosSeconds, steadyLoad } from "../support/traffic.ts";
import { sleep, waitUntil } from "../support/wait.ts";
import { withTestDatabase } from "../support/db.ts";
import { configure, instanceEnv } from "../support/stack.ts";

Deno.test({
  name: "both processors down for minutes: memory bounded, nothing lost, backlog drains",
  fn: () =>
    withTestDatabase("chaos_down", async (db) => {
      const outageMs = 2 * chaosSeconds() * 1000;
      const processors = await startHostileProcessors();
      const instances: InstanceProcess[] = [];
      let load: ReturnType<typeof steadyLoad> | undefined;
      try {
        for (const name of ["api1", "api2"]) {
          instances.push(
            await spawnInstance(instanceEnv(db.url, processors, { INSTANCE_ID: name }), true),
          );
        }
        const urls = instances.map((i) => i.url);
        const samples: { at: number; rss: number[]; queued: number }[] = [];
        const sample = async (at: number) => {
          const [q] = await db.sql`select count(*)::int as n from payment_queue`;
          samples.push({ at, rss: instances.map((i) => rssMb(i.child.pid)), queued: q.n });
        };
        load = steadyLoad(() => urls, 200);
        await sleep(2_000);
        await sample(0);

        await configure(processors.default, 0, true);
        await setFault(processors.fallback, { fault: "refuse", durationMs: outageMs });
        const t0 = Date.now();
        while (Date.now() - t0 < outageMs) {
          await sleep(5_000);
          await sample(Math.round((Date.now() - t0) / 1000));
        }
        await load.stop();
        const backlog = samples[samples.length - 1].queued;

        // Both come back (the fallback by itself, its refusal was as long as the outage); the
        // default, preferred, takes the backlog. The bounds are hang guards.
        await waitUntil("the fallback listens again", async () => {
          return (await faultState(processors.fallback)).fault === "none";
        });
        await configure(processors.default, 0, false);
        const t1 = Date.now();
        await waitForEmptyQueue(db.sql, 300_000);
        const drainMs = Date.now() - t1;
        await sample(Math.round((Date.now() - t0) / 1000));

        for (const i of instances) {
          assert.equal(
            await Promise.race([i.child.status.then(() => "exited"), sleep(0)]),
            undefined,
          );
        }
        const report = await auditBooks({
          sql: db.sql,
          serviceUrls: urls,
          processors,
          acknowledged: load.log.acknowledged,
          sent: load.log.all.keys(),
        });
        const peak = Math.max(...samples.flatMap((s) => s.rss));
        console.log(describeReport(
          `both processors down ${outageMs / 1000} s`,
          report,
          `answers ${load.log.describe()}; backlog ${backlog} drained in ${drainMs} ms; ` +
            `peak VmRSS ${peak} MB; samples (s: MB api1/api2, queued) ${
              samples.map((s) => `${s.at}: ${s.rss.join("/")}, ${s.queued}`).join(" | ")
            }`,
        ));
      } finally {
        await load?.stop();
        for (const i of instances) await killHard(i);
        await processors.close();
      }
    }),
});
