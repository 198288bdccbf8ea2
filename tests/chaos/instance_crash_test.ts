// Chaos: API instances killed with SIGKILL under steady load, again and again, and restarted.
// Phase 1 (CHAOS_SECONDS): 300 payments/s over two instance processes; every ~3 s one of them
// (in turn) is killed and restarted half a second later. Phase 2: the default processor takes
// 3 s per call and an instance is killed while its calls are in flight, twice. Then the audit.
// Run with `deno task chaos` (CHAOS_SECONDS=10 for a short run).
import { auditBooks, describeReport } from "../support/audit.ts";
import { type InstanceProcess, killHard, spawnInstance } from "../support/instances.ts";
import { chaosSeconds, percentiles, steadyLoad } from "../support/traffic.ts";
import { sleep, waitUntil } from "../support/wait.ts";
import { withTestDatabase } from "../support/db.ts";
import { configure, instanceEnv, startProcessors } from "../support/stack.ts";

Deno.test({
  name: "kill -9 instances again and again under load: nothing lost, nothing doubled",
  fn: () =>
    withTestDatabase("chaos_crash", async (db) => {
      const seconds = chaosSeconds();
      const processors = await startProcessors();
      await configure(processors.default, 20, false);
      const env = (name: string) =>
        instanceEnv(db.url, processors, {
          INSTANCE_ID: name,
          LEASE_MARGIN_MS: "500",
          POLL_INTERVAL_MS: "100",
          DB_POOL_MAX: "6",
        });
      const instances: InstanceProcess[] = [
        await spawnInstance(env("api1")),
        await spawnInstance(env("api2")),
      ];
      const live = new Set(instances.map((i) => i.url));
      const load = steadyLoad(() => [...live], 300, { timeoutMs: 10_000 });
      const restarts: number[] = [];
      let kills = 0;
      const restart = async (k: number) => {
        const victim = instances[k];
        live.delete(victim.url);
        await killHard(victim);
        kills++;
        await sleep(500);
        const t0 = Date.now();
        instances[k] = await spawnInstance(victim.env);
        restarts.push(Date.now() - t0);
        live.add(instances[k].url);
      };
      try {
        const end = Date.now() + seconds * 1000;
        for (let k = 0; Date.now() < end; k = 1 - k) {
          await sleep(2_500);
          await restart(k);
        }

        // Long calls: the victim dies holding leased payments whose calls are mid-flight.
        await configure(processors.default, 3_000, false);
        for (const k of [0, 1]) {
          await waitUntil("calls in flight at the victim", async () => {
            const [r] = await db.sql`select count(*)::int as n from payment_queue
          where lease_owner = ${instances[k].env.INSTANCE_ID} and processor = 1`;
            return r.n > 0;
          });
          await restart(k);
          await sleep(1_000);
        }
        await load.stop();
        await configure(processors.default, 0, false);

        const report = await auditBooks({
          sql: db.sql,
          serviceUrls: instances.map((i) => i.url),
          processors,
          acknowledged: load.log.acknowledged,
          sent: load.log.all.keys(),
          drainGuardMs: 180_000,
        });
        console.log(describeReport(
          `instance crash ×${kills} (${seconds} s)`,
          report,
          `answers ${load.log.describe()}; restart→healthy ${percentiles(restarts)}; ` +
            `POST latency ${percentiles(load.log.durations)}; skipped ${load.skipped()}`,
        ));
      } finally {
        await load.stop();
        for (const i of instances) await killHard(i);
        await processors.close();
      }
    }),
});
