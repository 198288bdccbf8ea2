// `deno task dev` as a user runs it (the real tools/local/dev.ts as a child process, on ports of
// its own): an API instance killed under load comes back by itself and the books still agree;
// a signal at any moment of the start-up leaves nothing running, Postgres included; a child
// that exits during start-up ends dev at once with its message; a simulator or Postgres that
// dies ends the stack; `deno task pg:stop` stops a cluster left running.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  localPostgresState,
  startLocalPostgres,
  stopLocalPostgres,
} from "../tools/local/embedded_postgres.ts";
import { projectRoot, runDir } from "../tools/local/project_paths.ts";
import { auditBooks, describeReport } from "./support/audit.ts";
import { crashCluster } from "./support/clusters.ts";
import { steadyLoad } from "./support/traffic.ts";
import { probe, sleep, waitUntil } from "./support/wait.ts";
import { openTestDatabase, type TestDatabase } from "./support/db.ts";
import { freePort, listeningPorts, type Processors } from "./support/stack.ts";
import { suite } from "./support/suite.ts";
import type { Simulator } from "../tools/simulator/server.ts";

/**
 * A cluster of this file's own for the cases where dev starts Postgres itself, always on a port
 * free at that moment: its derived port lies in Linux's ephemeral range, where a client socket
 * can hold it for minutes.
 */
const cluster = "pg-dev-supervision";
const startOwnCluster = () => startLocalPostgres({ name: cluster, port: freePort() });

let db: TestDatabase;
const test = suite("dev supervision", async (defer) => {
  db = await openTestDatabase(defer, "dev_supervision");
  defer(() => stopLocalPostgres({ name: cluster }));
});

interface DevRun {
  url: string;
  ports: { port: number; api: [number, number]; processors: [number, number] };
  pidDir: string;
  status: Promise<Deno.CommandStatus>;
  output(): string;
  waitFor(text: string | RegExp, guardMs?: number): Promise<void>;
  pidOf(name: string): number | undefined;
  signal(sig: Deno.Signal): void;
  /** SIGINT to dev's whole process group, as a terminal's Ctrl-C (needs `ownGroup`). */
  ctrlC(): void;
  /** Live processes carrying this run's marker (dev itself and everything it started). */
  processes(): number[];
}

/**
 * Starts `deno run -A tools/local/dev.ts` on free ports. `env` is added to ours; a null value
 * removes a variable (e.g. DATABASE_URL, so that dev starts a cluster itself). `ownGroup`
 * gives it a process group of its own, like a shell's foreground job, for ctrlC().
 */
function startDev(
  env: Record<string, string | null>,
  args: string[] = [],
  ownGroup = false,
): DevRun {
  const [port, a1, a2, p1, p2, stats] = Array.from({ length: 6 }, freePort);
  const marker = `DEV_SUPERVISION_RUN=${crypto.randomUUID()}`;
  const fullEnv: Record<string, string> = { ...Deno.env.toObject() };
  for (const [k, v] of Object.entries(env)) {
    if (v === null) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  fullEnv.DEV_SUPERVISION_RUN = marker.split("=")[1];
  const proc = new Deno.Command(ownGroup ? "/usr/bin/setsid" : Deno.execPath(), {
    args: [
      ...(ownGroup ? [Deno.execPath()] : []),
      "run",
      "-A",
      join(projectRoot, "tools/local/dev.ts"),
      ...["--port", `${port}`, "--api-ports", `${a1},${a2}`, "--processor-ports", `${p1},${p2}`],
      ...["--stats-port", `${stats}`, ...args],
    ],
    clearEnv: true,
    env: { ...fullEnv, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const drained = Promise.all([read(proc.stdout), read(proc.stderr)]);
  const status = proc.status.then(async (s) => {
    await drained;
    return s;
  });
  let exited = false;
  status.then(() => exited = true);
  const pidDir = join(runDir, `stack-${port}`);
  const run: DevRun = {
    url: `http://127.0.0.1:${port}`,
    ports: { port, api: [a1, a2], processors: [p1, p2] },
    pidDir,
    status,
    output: () => text,
    async waitFor(pattern, guardMs = 90_000) {
      const found = () => typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
      const deadline = Date.now() + guardMs; // a hang guard, not a speed requirement
      while (!found()) {
        if (exited) throw new Error(`dev exited before printing ${pattern}:\n${text}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${guardMs} ms:\n${text}`);
        await sleep(20);
      }
    },
    pidOf(name) {
      try {
        return Number(readFileSync(join(pidDir, `${name}.pid`), "utf8"));
      } catch {
        return undefined;
      }
    },
    signal(sig) {
      if (!exited) proc.kill(sig);
    },
    ctrlC() {
      assert.ok(ownGroup, "ctrlC needs ownGroup");
      if (!exited) Deno.kill(-proc.pid, "SIGINT");
    },
    processes: () => processesWith(marker),
  };
  started.add(run);
  status.then(() => started.delete(run));
  return run;
}

/** Every dev still running; a failed test stops them (stopLeftovers) so nothing outlives it. */
const started = new Set<DevRun>();

async function stopLeftovers(): Promise<void> {
  for (const dev of started) {
    dev.signal("SIGTERM");
    await dev.status;
  }
}

/** Pids of live processes whose environment holds `marker` (children inherit dev's). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/status`, "utf8").includes("State:\tZ")) continue;
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(marker)) {
        pids.push(Number(entry));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** After dev exited: no process of it, no pid file, every port free. */
function assertNothingLeft(dev: DevRun): void {
  assert.deepEqual(dev.processes(), [], `processes left running:\n${dev.output()}`);
  const pidFiles = existsSync(dev.pidDir) ? readdirSync(dev.pidDir) : [];
  assert.deepEqual(pidFiles, [], "pid files left behind");
  const { port, api, processors } = dev.ports;
  assert.deepEqual(listeningPorts([port, ...api, ...processors]), [], "a server left listening");
}

function assertNoStackTrace(output: string): void {
  assert.doesNotMatch(output, /^\s+at .+[:(]\d+/m, `a stack trace was printed:\n${output}`);
}

/**
 * dev stops cleanly (exit 0) once its handlers are installed. At "0.5 s in" on a busy machine
 * the signal may come while Deno is still loading dev.ts: then it dies of it (nothing has been
 * started yet, handlers come before any process) and the checks after this one still apply.
 */
function assertStoppedBySignal(
  moment: string,
  status: Deno.CommandStatus,
  output: string,
  signal: Deno.Signal = "SIGTERM",
) {
  if (moment === "0.5 s in" && status.signal === signal) return;
  assert.equal(status.code, 0, output);
}

/** A test of the suite, and whatever dev a failure left running is stopped before the next. */
function devTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  test(name, async (t) => {
    try {
      await fn(t);
    } finally {
      await stopLeftovers();
    }
  });
}

const testEnv = {
  POLL_INTERVAL_MS: "50",
  LOG_LEVEL: "warn",
  DB_POOL_MAX: "4",
};

devTest(
  "a child exiting during start-up ends dev at once with its message, no stack trace",
  async () => {
    const dev = startDev({ ...testEnv, DATABASE_URL: db.url, DB_POOL_MAX: "-1" });
    const status = await dev.status;
    const out = dev.output();
    assert.equal(status.code, 1, out);
    assert.match(out, /could not start: api[12] exited during start-up \(exit code 2\)/);
    assert.match(out, /\| +- DB_POOL_MAX must be an integer between 2 and 200, got "-1"/);
    // Ended by the exit itself, not by the 20 s health timeout.
    assert.doesNotMatch(out, /did not answer/);
    assertNoStackTrace(out);
    assertNothingLeft(dev);
  },
);

devTest("SIGTERM at any moment of the start-up leaves nothing running", async (t) => {
  const moments: [string, (dev: DevRun) => Promise<void>][] = [
    ["0.5 s in", () => sleep(500)], // the scenario as a user would do it: no condition
    [
      "once the simulators run",
      (dev) => waitUntil("simulators", () => !!dev.pidOf("processor-fallback")),
    ],
    ["once the instances are spawned", (dev) => waitUntil("instances", () => !!dev.pidOf("api2"))],
    ["once ready", (dev) => dev.waitFor("[stack] ready")],
  ];
  for (const [moment, reached] of moments) {
    await t.step(moment, async () => {
      const dev = startDev({ ...testEnv, DATABASE_URL: db.url });
      await reached(dev);
      if (moment === "once ready") {
        // The marker finds them while they run: its absence afterwards means something.
        assert.ok(dev.processes().length >= 6, `expected dev + 5 children: ${dev.processes()}`);
      }
      dev.signal("SIGTERM");
      assertStoppedBySignal(moment, await dev.status, dev.output());
      assertNoStackTrace(dev.output());
      assertNothingLeft(dev);
    });
  }
});

devTest(
  "Ctrl-C (SIGINT to the process group) at any moment stops everything cleanly",
  async (t) => {
    const moments: [string, (dev: DevRun) => Promise<void>][] = [
      ["0.5 s in", () => sleep(500)],
      [
        "once the instances are spawned",
        (dev) => waitUntil("instances", () => !!dev.pidOf("api2")),
      ],
      ["once ready", (dev) => dev.waitFor("[stack] ready")],
    ];
    for (const [moment, reached] of moments) {
      await t.step(moment, async () => {
        const dev = startDev({ ...testEnv, DATABASE_URL: db.url }, [], true);
        await reached(dev);
        dev.ctrlC();
        assertStoppedBySignal(moment, await dev.status, dev.output(), "SIGINT");
        // The children do not get the Ctrl-C themselves: dev stops them, so no exit looks like
        // a crash (no restart, no "could not start").
        assert.doesNotMatch(dev.output(), /exited|could not start|restarting/, dev.output());
        assertNothingLeft(dev);
      });
    }
  },
);

devTest(
  "kill -9 of an API instance under load: it comes back, nothing lost or doubled",
  async () => {
    const dev = startDev({ ...testEnv, DATABASE_URL: db.url });
    try {
      await dev.waitFor("[stack] ready");
      const [api1, api2] = [dev.pidOf("api1")!, dev.pidOf("api2")!];
      const load = steadyLoad(() => [dev.url], 100);
      await waitUntil("100 acknowledged", () => load.log.acknowledged.size >= 100);
      Deno.kill(api1, "SIGKILL");
      await dev.waitFor(`api1 (pid ${api1}) exited (signal SIGKILL); restarting it`);
      await waitUntil("api1 back under a new pid", () => {
        const pid = dev.pidOf("api1");
        return pid !== undefined && pid !== api1;
      });
      const apiUrls = dev.ports.api.map((p) => `http://127.0.0.1:${p}`);
      await waitUntil("api1 healthy", async () => await probe(`${apiUrls[0]}/health`) === 200);
      await dev.waitFor(/api1 is back \(pid \d+, healthy\)/);
      // Traffic goes on through HAProxy, to both instances again.
      const before = load.log.acknowledged.size;
      await waitUntil("100 more acknowledged", () => load.log.acknowledged.size >= before + 100);
      await load.stop();
      assert.equal(dev.pidOf("api2"), api2, "api2 was not touched");

      const sim = (port: number) => ({ url: `http://127.0.0.1:${port}` }) as Simulator;
      const processors = {
        default: sim(dev.ports.processors[0]),
        fallback: sim(dev.ports.processors[1]),
      } as Processors;
      const report = await auditBooks({
        sql: db.sql,
        serviceUrls: [dev.url, ...apiUrls],
        processors,
        acknowledged: load.log.acknowledged,
        sent: load.log.all.keys(),
      });
      console.log(describeReport("kill -9 api1 under deno task dev", report, load.log.describe()));
      assert.equal(report.lost, 0);
      assert.equal(report.doubled, 0);
    } finally {
      dev.signal("SIGTERM");
    }
    assert.equal((await dev.status).code, 0, dev.output());
    assertNothingLeft(dev);
  },
);

devTest("an instance that keeps dying is restarted after a growing delay", async () => {
  const dev = startDev({ ...testEnv, DATABASE_URL: db.url });
  await dev.waitFor("[stack] ready");
  for (const delay of ["0.5", "1", "2"]) {
    const pid = dev.pidOf("api2")!;
    Deno.kill(pid, "SIGKILL");
    await dev.waitFor(`api2 (pid ${pid}) exited (signal SIGKILL); restarting it in ${delay} s`);
    await waitUntil("api2 respawned", () => (dev.pidOf("api2") ?? pid) !== pid);
  }
  await dev.waitFor(/api2 is back \(pid \d+, healthy\)/);
  dev.signal("SIGTERM");
  assert.equal((await dev.status).code, 0, dev.output());
  assertNothingLeft(dev);
});

devTest("a simulator that dies ends the stack with a clear message", async () => {
  const dev = startDev({ ...testEnv, DATABASE_URL: db.url });
  await dev.waitFor("[stack] ready");
  const pid = dev.pidOf("processor-fallback")!;
  Deno.kill(pid, "SIGKILL");
  const status = await dev.status;
  assert.equal(status.code, 1);
  assert.match(
    dev.output(),
    new RegExp(`processor-fallback \\(pid ${pid}\\) exited \\(signal SIGKILL\\); the stack`),
  );
  assertNoStackTrace(dev.output());
  assertNothingLeft(dev);
});

devTest("the Postgres dev starts is stopped with it, whenever the signal comes", async (t) => {
  // Created (initdb) beforehand so that each run below only starts and stops the server.
  const pg = await startOwnCluster();
  await pg.stop();
  const devWithCluster = (ownGroup = false) =>
    startDev(
      { ...testEnv, DATABASE_URL: null },
      ["--pg-cluster", cluster, "--pg-port", `${freePort()}`],
      ownGroup,
    );
  const moments: [string, (dev: DevRun) => Promise<void>][] = [
    ["0.5 s in", () => sleep(500)],
    ["once Postgres is up", (dev) => dev.waitFor("[stack] postgres at")],
    ["once ready", (dev) => dev.waitFor("[stack] ready")],
  ];
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    for (const [moment, reached] of moments) {
      const how = signal === "SIGTERM" ? "SIGTERM" : "Ctrl-C";
      await t.step(`${how} ${moment}`, async () => {
        const dev = devWithCluster(signal === "SIGINT");
        await reached(dev);
        if (signal === "SIGINT") dev.ctrlC();
        else dev.signal("SIGTERM");
        assertStoppedBySignal(moment, await dev.status, dev.output(), signal);
        assert.equal((await localPostgresState(cluster)).state, "not running", dev.output());
        assertNothingLeft(dev);
      });
    }
  }
  await t.step("Postgres dying ends the stack", async () => {
    const dev = devWithCluster();
    await dev.waitFor("[stack] ready");
    assert.ok(await crashCluster(cluster), "cluster folder not found");
    assert.equal((await dev.status).code, 1, dev.output());
    assert.match(dev.output(), /postgres \(pid \d+\) is gone; the stack cannot run without it/);
    assertNothingLeft(dev);
  });
});

devTest("a cluster that was already running is left running, and pg:stop stops it", async () => {
  await startOwnCluster();
  const dev = startDev({ ...testEnv, DATABASE_URL: null }, ["--pg-cluster", cluster]);
  await dev.waitFor("[stack] ready");
  assert.match(dev.output(), /already running: .*`deno task pg:stop` stops it/);
  dev.signal("SIGTERM");
  assert.equal((await dev.status).code, 0, dev.output());
  assert.match(dev.output(), /still is: `deno task pg:stop` stops it/);
  assertNothingLeft(dev);
  assert.equal((await localPostgresState(cluster)).state, "running");

  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "pg:stop", "--cluster", cluster],
    cwd: projectRoot,
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /stopped the project-local cluster/);
  assert.equal((await localPostgresState(cluster)).state, "not running");
});
