// Regression tests for the postgres.js defects patched in vendor/postgres (PATCHED.md there):
// connections that die with a write deferred, or while they start up, must cost the queries
// on them, never the process.
//
// To see them fail against the unpatched package, run this file without the link, e.g.:
//   git clone . /tmp/unpatched && cd /tmp/unpatched && rm -rf vendor/postgres node_modules &&
//   sed -i '/"links"/d' deno.json && deno task test tests/driver_crash_test.ts
// The probe then dies with "Cannot read properties of null (reading 'write')" at nextWrite, or
// an unhandled rejection from the array-types query, and the instances' pids change.
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect } from "../src/db/connect.ts";
import { projectRoot } from "../tools/local/project_paths.ts";
import { auditBooks, describeReport } from "./support/audit.ts";
import { createDatabaseOn, restartCluster, startCluster } from "./support/clusters.ts";
import { type InstanceProcess, killHard, spawnInstance } from "./support/instances.ts";
import { steadyLoad } from "./support/traffic.ts";
import { probe, sleep, waitUntil } from "./support/wait.ts";
import { createTestDatabase } from "./support/db.ts";
import { instanceEnv, startProcessors } from "./support/stack.ts";

Deno.test("the driver survives backends terminated mid-transaction and mid-connect", async () => {
  const db = await createTestDatabase("driver_probe");
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(projectRoot, "tests/support/driver_close_probe.ts")],
      env: { DATABASE_URL: db.url, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the probe process died:\n${stderr.slice(-2_000)}`);
    const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.ok(result.terminated > 0, "no backend was terminated: the test injected no fault");
    const lost = Object.entries(result.outcomes as Record<string, number>)
      .filter(([k]) => k !== "committed").reduce((n, [, v]) => n + v, 0);
    assert.ok(lost > 0, `no transaction met a dead connection: ${JSON.stringify(result)}`);
    assert.equal(result.poolWorks, true);
  } finally {
    await db.drop();
  }
});

Deno.test({
  name: "both instances under load survive terminated backends and Postgres restarts",
  fn: async () => {
    // A cluster of its own: this test restarts it.
    const pg = await startCluster("pg-driver-crash");
    const database = await createDatabaseOn(pg.url, "driver_crash");
    const processors = await startProcessors();
    const instances: InstanceProcess[] = [];
    let load: ReturnType<typeof steadyLoad> | undefined;
    try {
      for (const name of ["api1", "api2"]) {
        instances.push(
          await spawnInstance(instanceEnv(database.url, processors, { INSTANCE_ID: name }), true),
        );
      }
      const pids = instances.map((i) => i.child.pid);
      let exited = 0;
      for (const i of instances) i.child.status.then(() => exited++);
      const urls = instances.map((i) => i.url);
      load = steadyLoad(() => urls, 200, { timeoutMs: 1_500 });
      const admin = connect(pg.url, { max: 1, applicationName: "driver-crash-admin" });
      let terminated = 0;
      try {
        for (let round = 0; round < 3; round++) {
          // Terminations land on claims (transactions), settles, inserts, LISTEN and
          // connections still fetching their types.
          for (let i = 0; i < 40; i++) {
            try {
              const [{ n }] = await admin<{ n: number }[]>`
                select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
                where application_name in ('api1', 'api2')`;
              terminated += n;
            } catch {
              // the server is coming back from the previous round's restart
            }
            await sleep(10 + (i % 4) * 10);
          }
          await pg.stop();
          await sleep(200);
          await restartCluster(pg);
        }
      } finally {
        await admin.end({ timeout: 1 });
      }
      assert.ok(terminated > 0, "no backend was terminated: the test injected no fault");
      // Both answer again, from the same processes.
      await waitUntil(
        "both instances healthy",
        async () =>
          (await Promise.all(urls.map((u) => probe(`${u}/health`)))).every((c) => c === 200),
      );
      await sleep(500);
      await load.stop();
      assert.equal(exited, 0, "an instance process died");
      // Every id is new: a 409 would be an INSERT answered without having run.
      assert.equal(load.log.count(409), 0, load.log.describe());
      assert.deepEqual(instances.map((i) => i.child.pid), pids);
      const report = await auditBooks({
        sql: database.sql,
        serviceUrls: urls,
        processors,
        acknowledged: load.log.acknowledged,
        sent: load.log.all.keys(),
      });
      console.log(
        describeReport(
          "terminated backends ×" + terminated + ", restarts ×3",
          report,
          `answers ${load.log.describe()}`,
        ),
      );
    } finally {
      await load?.stop();
      for (const i of instances) await killHard(i);
      await processors.close();
      await database.drop().catch(() => {});
      await pg.stop();
    }
  },
});
