// Chaos: 10× the official peak — 5,500 clients posting back to back, each as soon as its last
// answer arrived — for CHAOS_SECONDS / 4 (default 15 s) against two instance processes behind
// HAProxy (haproxy.cfg, as deployed: its per-server maxconn queues the excess there, not in the
// instances). Every request must be acknowledged durably or refused with 503/429; none
// acknowledged and lost. Prints each process's peak RSS against its compose limit.
// Run with `deno task chaos`.
import assert from "node:assert/strict";
import { auditBooks, describeReport } from "../support/audit.ts";
import { type InstanceProcess, killHard, rssMb, spawnInstance } from "../support/instances.ts";
import { chaosSeconds, PaymentLog, percentiles, sendPayment } from "../support/traffic.ts";
import { withTestDatabase } from "../support/db.ts";
import { startHaproxy } from "../support/haproxy.ts";
import { instanceEnv, startProcessors } from "../support/stack.ts";

Deno.test({
  name: "5,500 concurrent clients for seconds: acknowledged durably or refused",
  fn: () =>
    withTestDatabase("chaos_spike", async (db) => {
      const seconds = Math.max(3, chaosSeconds() / 4);
      const processors = await startProcessors();
      const instances: InstanceProcess[] = [];
      try {
        for (const name of ["spike1", "spike2"]) {
          instances.push(
            await spawnInstance(instanceEnv(db.url, processors, { INSTANCE_ID: name }), true),
          );
        }
        const haproxy = await startHaproxy(
          instances.map((i) => new URL(i.url).host) as [string, string],
        );
        const log = new PaymentLog();
        const peakRss = [0, 0, 0];
        const end = Date.now() + seconds * 1000;
        const watch = setInterval(() => {
          [...instances.map((i) => i.child.pid), haproxy.child.pid].forEach((pid, k) =>
            peakRss[k] = Math.max(peakRss[k], rssMb(pid))
          );
        }, 500);
        const t0 = Date.now();
        try {
          await Promise.all(Array.from({ length: 5_500 }, async () => {
            while (Date.now() < end) {
              await sendPayment(haproxy.url, log, undefined, undefined, 30_000);
            }
          }));
        } finally {
          clearInterval(watch);
          await haproxy.stop();
        }
        const elapsed = (Date.now() - t0) / 1000;
        const refused = log.count(503) + log.count(429);
        assert.equal(log.acknowledged.size + refused, log.sent, `answers: ${log.describe()}`);
        const report = await auditBooks({
          sql: db.sql,
          serviceUrls: instances.map((i) => i.url),
          processors,
          acknowledged: log.acknowledged,
          sent: log.all.keys(),
          drainGuardMs: 300_000,
        });
        console.log(describeReport(
          `spike 5,500 clients × ${seconds} s`,
          report,
          `answers ${log.describe()} in ${elapsed.toFixed(1)} s (${
            Math.round(log.sent / elapsed)
          }/s); latency ${percentiles(log.durations)}; peak VmRSS api ${peakRss[0]}/${
            peakRss[1]
          } MB (limit 117), haproxy ${peakRss[2]} MB (limit 30)`,
        ));
      } finally {
        for (const i of instances) await killHard(i);
        await processors.close();
      }
    }),
});
