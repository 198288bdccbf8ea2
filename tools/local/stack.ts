// The whole service on one machine without Docker: Postgres (project-local unless
// DATABASE_URL is given), the two processor simulators, two API instances (or as many as
// `apiPorts` lists) and HAProxy in front, wired exactly like docker-compose.yml but on
// loopback. Supervised (supervisor.ts): API instances are restarted, anything else exiting
// ends the stack.
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { apiV8Flags } from "../../src/v8_flags.ts";
import { startLocalPostgres } from "./embedded_postgres.ts";
import { type Child, waitForHttp } from "./processes.ts";
import { isPortFree } from "./free_port.ts";
import { projectRoot, runDir } from "./project_paths.ts";
import { Supervisor } from "./supervisor.ts";
import { ensureHaproxy } from "./system_packages.ts";

export interface StackOptions {
  /** Public port (HAProxy, or api1 alone when HAProxy is unavailable). */
  port: number;
  /** One port per API instance (two in production; the scale bench runs 1 to 4). */
  apiPorts: number[];
  /** Simulator ports; undefined = processors run elsewhere (PROCESSOR_*_URL). */
  simulatorPorts?: [number, number];
  statsPort?: number;
  /** Extra environment for both API instances (e.g. SYNCHRONOUS_COMMIT). */
  apiEnv?: Record<string, string>;
  /** Postgres to use; default DATABASE_URL, else the project-local cluster. */
  databaseUrl?: string;
  /** Print children's output (default true). */
  echo?: boolean;
  /** Project-local cluster to use without a database URL (default: "pg", derived port). */
  localPostgres?: { name?: string; port?: number };
  /** Aborting it during start-up stops what was started and rejects (StartAbortedError). */
  signal?: AbortSignal;
  /** Children in sessions of their own (see ChildSpec.ownSession): the caller handles signals. */
  ownSessions?: boolean;
  /** V8 flags of the API instances (default src/v8_flags.ts's; the bench adds --trace-gc). */
  apiV8Flags?: string;
  /** More `deno run` flags for the API instances (a profile: `--cpu-prof`, `--cpu-prof-dir=…`). */
  apiDenoArgs?: string[];
  /** Every line an API instance writes, with its name ("api1"). */
  onApiLine?: (api: string, line: string) => void;
}

export interface Stack {
  url: string;
  pidDir: string;
  databaseUrl: string;
  /** The current processes (a restarted instance replaces its entry). */
  children: Child[];
  /** True when the project-local cluster was already running: stop() leaves it running. */
  reusedLocalPostgres: boolean;
  /** Resolves with a message when a process the stack cannot run without has exited. */
  failed: Promise<string>;
  stop(): Promise<void>;
}

export const devDefaults: StackOptions = {
  port: 9999,
  apiPorts: [9001, 9002],
  simulatorPorts: [8001, 8002],
  statsPort: 9998,
};

const log = (msg: string) => console.error(`[stack] ${msg}`);

const haproxyConfig = join(projectRoot, "haproxy.cfg");

/**
 * haproxy.cfg names exactly two servers (API1_ADDR, API2_ADDR), as production has. Another
 * count gets a copy with one `server` line per instance and every other setting unchanged, so
 * a scale measurement differs from production only in the number of instances.
 */
function haproxyConfigFor(count: number, pidDir: string): string {
  if (count === 2) return haproxyConfig;
  const text = readFileSync(haproxyConfig, "utf8");
  const servers = /^ *server api1 .*\n *server api2 .*\n/m;
  if (!servers.test(text)) throw new Error("haproxy.cfg: the two `server` lines were not found");
  const lines = Array.from(
    { length: count },
    (_, i) => `    server api${i + 1} "\${API${i + 1}_ADDR}"\n`,
  );
  mkdirSync(pidDir, { recursive: true });
  const path = join(pidDir, `haproxy-${count}.cfg`);
  writeFileSync(path, text.replace(servers, lines.join("")));
  return path;
}

/** Fails fast, naming the port, rather than letting a child die or answering for another stack. */
function assertPortsFree(ports: number[]): void {
  for (const port of ports) {
    if (!isPortFree(port)) {
      throw new Error(`port ${port} is already in use (is another stack running?)`);
    }
  }
}

/**
 * Starts everything and resolves once HAProxy answers. If a child exits first, or `signal` is
 * aborted, it stops whatever it started (Postgres included) and rejects at once.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const supervisor = new Supervisor(options.signal);
  let stopPostgres: (() => Promise<void>) | undefined;
  let reusedLocalPostgres = false;
  let postmasterPid: number | undefined;
  const deno = Deno.execPath();
  const echo = options.echo ?? true;
  // One folder per stack (named by its public port) so a test stack never touches dev's files.
  const pidDir = join(runDir, `stack-${options.port}`);
  let generatedConfig: string | undefined;
  const stop = async () => {
    await supervisor.stop();
    await stopPostgres?.();
    if (generatedConfig) rmSync(generatedConfig, { force: true });
    try {
      rmdirSync(pidDir); // only when empty: a pid file left behind is worth seeing
    } catch {
      // not empty, or never created
    }
  };
  const untilReady = (urls: string[], anyStatus = false) =>
    supervisor.during(
      Promise.all(urls.map((u) => waitForHttp(u, 20_000, anyStatus, supervisor.startSignal))),
    );
  try {
    if (options.apiPorts.length < 1) throw new Error("apiPorts: at least one instance");
    assertPortsFree([
      options.port,
      ...options.apiPorts,
      ...(options.simulatorPorts ?? []),
      ...(options.statsPort ? [options.statsPort] : []),
    ]);
    let databaseUrl = options.databaseUrl ?? Deno.env.get("DATABASE_URL");
    if (!databaseUrl) {
      // Not raced against an abort: whether this started a server must be known to stop it.
      const pg = await startLocalPostgres(options.localPostgres);
      databaseUrl = pg.url;
      if (pg.startedHere) stopPostgres = pg.stop;
      reusedLocalPostgres = !pg.startedHere;
      postmasterPid = pg.pid();
      log(
        `postgres at ${databaseUrl}` +
          (pg.startedHere
            ? ""
            : " (already running: it stays up after the stack stops; `deno task pg:stop` stops it)"),
      );
      supervisor.throwIfAborted();
    }

    const processorUrls = options.simulatorPorts
      ? options.simulatorPorts.map((p) => `http://127.0.0.1:${p}`)
      : [
        Deno.env.get("PROCESSOR_DEFAULT_URL") ?? "http://127.0.0.1:8001",
        Deno.env.get("PROCESSOR_FALLBACK_URL") ?? "http://127.0.0.1:8002",
      ];
    if (options.simulatorPorts) {
      const fees = ["0.05", "0.15"];
      options.simulatorPorts.forEach((port, i) => {
        supervisor.launch({
          name: i === 0 ? "processor-default" : "processor-fallback",
          stage: 0,
          cmd: deno,
          args: ["run", "-A", join(projectRoot, "tools/simulator/main.ts")],
          env: { PORT: String(port), HOSTNAME: "127.0.0.1", TRANSACTION_FEE: fees[i] },
          echo,
          pidDir,
          ownSession: options.ownSessions,
        });
      });
      await untilReady(processorUrls.map((u) => `${u}/admin/payments-summary`), true);
    }

    const haproxy = await ensureHaproxy();
    supervisor.throwIfAborted();
    const apiPorts = haproxy ? options.apiPorts : [options.port, ...options.apiPorts.slice(1)];
    if (!haproxy) {
      log(
        "!!! HAProxy is not installed and could not be installed: api1 alone serves " +
          `:${options.port}. Install it with: sudo apt-get install -y haproxy`,
      );
    }
    apiPorts.forEach((port, i) => {
      supervisor.launch({
        name: `api${i + 1}`,
        stage: 1,
        cmd: deno,
        args: [
          "run",
          "-A",
          `--v8-flags=${options.apiV8Flags ?? apiV8Flags}`,
          ...(options.apiDenoArgs ?? []),
          join(projectRoot, "main.ts"),
        ],
        env: {
          DATABASE_URL: databaseUrl!,
          PORT: String(port),
          BIND_HOST: "127.0.0.1",
          INSTANCE_ID: `api${i + 1}`,
          PROCESSOR_DEFAULT_URL: processorUrls[0],
          PROCESSOR_FALLBACK_URL: processorUrls[1],
          ...options.apiEnv,
        },
        echo,
        pidDir,
        ownSession: options.ownSessions,
        restart: { healthUrl: `http://127.0.0.1:${port}/health` },
        onLine: options.onApiLine && ((line) => options.onApiLine!(`api${i + 1}`, line)),
      });
    });
    await untilReady(apiPorts.map((p) => `http://127.0.0.1:${p}/health`));

    if (haproxy) {
      const config = haproxyConfigFor(apiPorts.length, pidDir);
      if (config !== haproxyConfig) generatedConfig = config;
      supervisor.launch({
        name: "haproxy",
        stage: 2,
        cmd: haproxy,
        args: ["-f", config, "-db"],
        env: {
          HAPROXY_BIND: `127.0.0.1:${options.port}`,
          HAPROXY_STATS_BIND: `127.0.0.1:${options.statsPort ?? 0}`,
          ...Object.fromEntries(apiPorts.map((p, i) => [`API${i + 1}_ADDR`, `127.0.0.1:${p}`])),
        },
        echo,
        pidDir,
        ownSession: options.ownSessions,
      });
      await untilReady([`http://127.0.0.1:${options.port}/health`]);
    }
    supervisor.running();
    if (postmasterPid) supervisor.watchProcess("postgres", postmasterPid);
    return {
      url: `http://127.0.0.1:${options.port}`,
      pidDir,
      databaseUrl,
      children: supervisor.children,
      reusedLocalPostgres,
      failed: supervisor.failed,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
