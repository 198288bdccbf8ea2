// The whole service on one machine without Docker: Postgres (project-local unless
// DATABASE_URL is given), the two processor simulators, two API instances and HAProxy in
// front, wired exactly like docker-compose.yml but on loopback.
import { join } from "node:path";
import { startLocalPostgres } from "./embedded_postgres.ts";
import { type Child, spawnChild, waitForHttp } from "./processes.ts";
import { projectRoot, runDir } from "./project_paths.ts";
import { ensureHaproxy } from "./system_packages.ts";

export interface StackOptions {
  /** Public port (HAProxy, or api1 alone when HAProxy is unavailable). */
  port: number;
  apiPorts: [number, number];
  /** Simulator ports; undefined = processors run elsewhere (PROCESSOR_*_URL). */
  simulatorPorts?: [number, number];
  statsPort?: number;
  /** Extra environment for both API instances (e.g. SYNCHRONOUS_COMMIT). */
  apiEnv?: Record<string, string>;
  /** Postgres to use; default DATABASE_URL, else the project-local cluster. */
  databaseUrl?: string;
  /** V8 old-space cap of each API instance in MB (default 64, as in the containers). */
  apiHeapMb?: number;
  /** Print children's output (default true). */
  echo?: boolean;
}

export interface Stack {
  url: string;
  pidDir: string;
  databaseUrl: string;
  children: Child[];
  stop(): Promise<void>;
}

export const devDefaults: StackOptions = {
  port: 9999,
  apiPorts: [9001, 9002],
  simulatorPorts: [8001, 8002],
  statsPort: 9998,
};

const log = (msg: string) => console.error(`[stack] ${msg}`);

/** Fails fast, naming the port, rather than letting a child die or answering for another stack. */
function assertPortsFree(ports: number[]): void {
  for (const port of ports) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch {
      throw new Error(`port ${port} is already in use (is another stack running?)`);
    }
  }
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const children: Child[] = [];
  let stopPostgres: (() => Promise<void>) | undefined;
  const deno = Deno.execPath();
  const echo = options.echo ?? true;
  // One folder per stack (named by its public port) so a test stack never touches dev's files.
  const pidDir = join(runDir, `stack-${options.port}`);
  const stop = async () => {
    for (const child of [...children].reverse()) await child.stop();
    await stopPostgres?.();
  };
  try {
    assertPortsFree([
      options.port,
      ...options.apiPorts,
      ...(options.simulatorPorts ?? []),
      ...(options.statsPort ? [options.statsPort] : []),
    ]);
    let databaseUrl = options.databaseUrl ?? Deno.env.get("DATABASE_URL");
    if (!databaseUrl) {
      const pg = await startLocalPostgres();
      databaseUrl = pg.url;
      if (pg.startedHere) stopPostgres = pg.stop;
      log(`postgres at ${databaseUrl}${pg.startedHere ? "" : " (already running)"}`);
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
        children.push(spawnChild({
          name: i === 0 ? "processor-default" : "processor-fallback",
          cmd: deno,
          args: ["run", "-A", join(projectRoot, "src/simulator/main.ts")],
          env: { PORT: String(port), HOSTNAME: "127.0.0.1", TRANSACTION_FEE: fees[i] },
          echo,
          pidDir,
        }));
      });
      await Promise.all(
        processorUrls.map((u) => waitForHttp(`${u}/admin/payments-summary`, 20_000, true)),
      );
    }

    const haproxy = await ensureHaproxy();
    const apiPorts = haproxy ? options.apiPorts : [options.port, options.apiPorts[1]];
    if (!haproxy) {
      log(
        "!!! HAProxy is not installed and could not be installed: api1 alone serves " +
          `:${options.port}. Install it with: sudo apt-get install -y haproxy`,
      );
    }
    apiPorts.forEach((port, i) => {
      children.push(spawnChild({
        name: `api${i + 1}`,
        cmd: deno,
        args: [
          "run",
          "-A",
          `--v8-flags=--max-old-space-size=${options.apiHeapMb ?? 64}`,
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
      }));
    });
    await Promise.all(apiPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/health`)));

    if (haproxy) {
      children.push(spawnChild({
        name: "haproxy",
        cmd: haproxy,
        args: ["-f", join(projectRoot, "haproxy.cfg"), "-db"],
        env: {
          HAPROXY_BIND: `127.0.0.1:${options.port}`,
          HAPROXY_STATS_BIND: `127.0.0.1:${options.statsPort ?? 0}`,
          API1_ADDR: `127.0.0.1:${apiPorts[0]}`,
          API2_ADDR: `127.0.0.1:${apiPorts[1]}`,
        },
        echo,
        pidDir,
      }));
      await waitForHttp(`http://127.0.0.1:${options.port}/health`);
    }
    return { url: `http://127.0.0.1:${options.port}`, pidDir, databaseUrl, children, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
