// `deno task dev`: the whole stack in the foreground until Ctrl-C or SIGTERM, supervised
// (supervisor.ts). Other ports, e.g. for a test running beside a dev stack:
//   deno task dev --port 10999 --api-ports 10001,10002 --processor-ports 10011,10012 \
//     --stats-port 10998 [--pg-cluster NAME] [--pg-port PORT]
// (pid files then go to .data/run/stack-<port>/; NAME is a cluster folder under .data/, used
// when DATABASE_URL is not set).
import { parseArgs } from "node:util";
import { devDefaults, type Stack, type StackOptions, startStack } from "./stack.ts";

const log = (msg: string) => console.error(`[stack] ${msg}`);

// Signal handlers come first, before any process (Postgres included) is started: a signal at
// any moment then stops exactly what has been started so far.
const startup = new AbortController();
let stack: Stack | undefined;
let signalled = false;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log("stopping…");
    await stack?.stop();
    log(
      "stopped" +
        (stack?.reusedLocalPostgres
          ? " (Postgres was already running and still is: `deno task pg:stop` stops it)"
          : ""),
    );
    Deno.exit(code);
  }
  return await new Promise<never>(() => {}); // the first shutdown exits
}

function onSignal(): void {
  signalled = true;
  if (stack) shutdown(0);
  else if (!startup.signal.aborted) {
    log("stopping what has started so far…");
    startup.abort();
  }
}
// The children run in sessions of their own: a Ctrl-C reaches only us, and we stop them in
// order; a closed terminal (SIGHUP) must stop them too.
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
Deno.addSignalListener("SIGHUP", onSignal);

function portList(raw: string | undefined, count: number, flag: string): number[] | undefined {
  if (raw === undefined) return undefined;
  const ports = raw.split(",").map(Number);
  if (ports.length !== count || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new Error(`--${flag} takes ${count} comma-separated ports, got "${raw}"`);
  }
  return ports;
}

function readOptions(): StackOptions {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "port": { type: "string" },
      "api-ports": { type: "string" },
      "processor-ports": { type: "string" },
      "stats-port": { type: "string" },
      "pg-cluster": { type: "string" },
      "pg-port": { type: "string" },
    },
  });
  const [port] = portList(values.port, 1, "port") ?? [devDefaults.port];
  const [statsPort] = portList(values["stats-port"], 1, "stats-port") ?? [devDefaults.statsPort];
  return {
    port,
    apiPorts: (portList(values["api-ports"], 2, "api-ports") ?? devDefaults.apiPorts) as [
      number,
      number,
    ],
    simulatorPorts: (portList(values["processor-ports"], 2, "processor-ports") ??
      devDefaults.simulatorPorts) as [number, number],
    statsPort,
    localPostgres: {
      name: values["pg-cluster"],
      port: portList(values["pg-port"], 1, "pg-port")?.[0],
    },
    apiEnv: { LOG_FORMAT: "pretty" },
    signal: startup.signal,
    ownSessions: true,
  };
}

try {
  const options = readOptions();
  const started = await startStack(options);
  stack = started;
  log(`ready: ${started.url} (HAProxy stats on http://127.0.0.1:${options.statsPort}/)`);
} catch (err) {
  // Whatever was started is stopped by now. After a signal that is a normal stop.
  if (signalled) {
    log("stopped");
    Deno.exit(0);
  }
  // A message, not a stack trace: the error names the child and quotes its last lines.
  log(`could not start: ${(err as Error).message}`);
  Deno.exit(1);
}
if (signalled) await shutdown(0); // the signal came as the start completed

// An API instance is restarted by the supervisor; anything else gone ends the stack.
stack.failed.then((reason) => {
  if (stopping) return;
  log(`${reason}; the stack cannot run without it, stopping everything`);
  shutdown(1);
});
