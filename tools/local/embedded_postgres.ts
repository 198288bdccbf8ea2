// A project-local PostgreSQL cluster for `deno task dev` and `deno task test` when no
// DATABASE_URL is given. It uses the system's server binaries, lives under .data/, listens on
// loopback only on a port derived from the project path (so two clones, or a system Postgres
// on 5432, never clash), and is reused across runs.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { dataDir, projectRoot } from "./project_paths.ts";
import { ensurePostgresBinDir } from "./system_packages.ts";

export interface LocalPostgres {
  url: string;
  /** True when this call started the server (and so should stop it). */
  startedHere: boolean;
  /** The postmaster's pid while it runs (from postmaster.pid), else undefined. */
  pid(): number | undefined;
  /** Fast shutdown (clients are disconnected). */
  stop(): Promise<void>;
  /** Starts it again after stop(). */
  start(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Cluster folder name under .data/ (default "pg"); another name is another cluster. */
  name?: string;
  /** Port to start it on (default: derived from the project path and the name). */
  port?: number;
}

/** Server settings for a queue workload on a small machine; each one's reason beside it. */
const serverSettings: Record<string, string> = {
  listen_addresses: "127.0.0.1",
  // Two instances with small pools plus tests and tools: 100 leaves ample headroom.
  max_connections: "100",
  // The hot set (queue + recent ledger pages) is small; 128MB keeps it all in memory.
  shared_buffers: "128MB",
  // Group commit: many small acknowledging commits share one WAL flush.
  wal_writer_delay: "10ms",
  // The queue table churns (insert, update, delete); vacuum it promptly.
  autovacuum_naptime: "5s",
  // Fewer checkpoints during load tests (less I/O stall on the ack path).
  max_wal_size: "1GB",
  checkpoint_timeout: "15min",
  // Statement counts per payment for `deno task bench` (round trips are what the hot path
  // pays for); the module costs a hash lookup per statement.
  shared_preload_libraries: "pg_stat_statements",
};

function derivePort(name: string): number {
  const fromEnv = Deno.env.get("LOCAL_PG_PORT");
  if (fromEnv && name === "pg") return Number(fromEnv);
  const digest = createHash("sha256").update(`${projectRoot}:${name}`).digest();
  // 30000–31999: below Linux's ephemeral range (32768–60999), where any outgoing connection
  // or server on port 0 may hold the port just when the cluster starts.
  return 30000 + (digest.readUInt16BE(0) % 2000);
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Runs a helper program in a session of its own: Ctrl-C in a terminal signals the whole
 * foreground process group, and a pg_ctl killed halfway through a start leaves a server that
 * nobody then stops (or a failed probe puts a new cluster elsewhere). The caller (the dev
 * stack) handles the signal and stops the server itself.
 */
function outOfReach(argv: string[]): Deno.Command {
  if (existsSync("/usr/bin/setsid")) argv = ["/usr/bin/setsid", "-w", ...argv];
  return new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" });
}

async function exec(cmd: string, args: string[], allowFail = false): Promise<number> {
  // initdb and postgres refuse to run as root: run them as the `postgres` system user.
  const argv = isRoot() ? ["runuser", "-u", "postgres", "--", cmd, ...args] : [cmd, ...args];
  const out = await outOfReach(argv).output();
  if (!out.success && !allowFail) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${text}`);
  }
  return out.code;
}

function fallbackClusterDir(name: string): string {
  const hash = createHash("sha256").update(projectRoot).digest("hex").slice(0, 12);
  return `/var/tmp/rinha-${name}-${hash}`;
}

/** Where an existing cluster lives (either place chooseClusterDir uses); creates nothing. */
function findClusterDir(name: string): string | undefined {
  return [join(dataDir, name), fallbackClusterDir(name)]
    .find((dir) => existsSync(join(dir, "data", "PG_VERSION")));
}

/** The cluster folder; as root it must be reachable by the postgres user. */
async function chooseClusterDir(name: string): Promise<string> {
  const existing = findClusterDir(name);
  if (existing) return existing;
  const preferred = join(dataDir, name);
  if (!isRoot()) return preferred;
  mkdirSync(preferred, { recursive: true });
  await outOfReach(["chown", "-R", "postgres:postgres", preferred]).output();
  const probe = await outOfReach(["runuser", "-u", "postgres", "--", "test", "-w", preferred])
    .output();
  if (probe.success) return preferred;
  // A parent folder is closed to other users (e.g. under /root): keep the cluster in /var/tmp.
  const fallback = fallbackClusterDir(name);
  mkdirSync(fallback, { recursive: true });
  await outOfReach(["chown", "-R", "postgres:postgres", fallback]).output();
  return fallback;
}

/** The running postmaster's pid and port, read from its postmaster.pid. */
function readPostmasterPid(pgData: string): { pid: number; port: number } | undefined {
  try {
    const lines = readFileSync(join(pgData, "postmaster.pid"), "utf8").split("\n");
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

function removeStalePidFile(clusterDir: string): void {
  const pidFile = join(clusterDir, "data", "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    Deno.kill(pid, "SIGCONT"); // signal 0 is not exposed; SIGCONT is harmless to a live server
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmdline.includes("postgres")) return; // a live postmaster: pg_ctl status handles it
  } catch {
    // no such process
  }
  rmSync(pidFile);
}

export async function startLocalPostgres(
  options: LocalPostgresOptions = {},
): Promise<LocalPostgres> {
  const name = options.name ?? "pg";
  const bin = await ensurePostgresBinDir();
  const clusterDir = await chooseClusterDir(name);
  const pgData = join(clusterDir, "data");
  const socketDir = join(clusterDir, "socket");
  const port = options.port ?? derivePort(name);
  // Through the unix socket: measured p50 of a one-row INSERT 0.096 ms vs 0.132 ms over TCP
  // loopback (3,000 inserts, postgres.js, this 2-core machine).
  const url = `postgres://postgres@localhost:${port}/postgres?host=${socketDir}`;
  const stop = async () => {
    await exec(`${bin}/pg_ctl`, ["-D", pgData, "-m", "fast", "-w", "stop"], true);
  };

  if (!existsSync(join(pgData, "PG_VERSION"))) {
    await exec(`${bin}/initdb`, [
      "-D",
      pgData,
      "-U",
      "postgres",
      "--auth=trust",
      "--encoding=UTF8",
      "--no-sync",
    ]);
  }
  const start = async () => {
    removeStalePidFile(clusterDir);
    await exec("mkdir", ["-p", socketDir]);
    const settings = [`-p ${port}`, `-k ${socketDir}`]
      .concat(Object.entries(serverSettings).map(([k, v]) => `-c ${k}=${v}`))
      .join(" ");
    const log = join(clusterDir, "server.log");
    await exec(`${bin}/pg_ctl`, [
      "-D",
      pgData,
      "-l",
      log,
      "-o",
      settings,
      "-w",
      "-t",
      "60",
      "start",
    ]);
  };
  const pid = () => readPostmasterPid(pgData)?.pid;
  if (await exec(`${bin}/pg_ctl`, ["-D", pgData, "status"], true) === 0) {
    // Already running, maybe started with another port: postmaster.pid's 4th line is the truth.
    const running = readPostmasterPid(pgData)?.port ?? port;
    const runningUrl = url.replace(`:${port}/`, `:${running}/`);
    return { url: runningUrl, startedHere: false, pid, stop, start };
  }
  await start();
  return { url, startedHere: true, pid, stop, start };
}

export type StopOutcome =
  | { state: "stopped"; pid: number; port: number; dataDir: string }
  | { state: "not running" | "no cluster"; dataDir: string };

/** Whether a project-local cluster is up, without starting or creating anything. */
export async function localPostgresState(
  name = "pg",
): Promise<{ state: "running" | "not running" | "no cluster"; dataDir: string }> {
  const clusterDir = findClusterDir(name);
  if (!clusterDir) return { state: "no cluster", dataDir: join(dataDir, name, "data") };
  const pgData = join(clusterDir, "data");
  const bin = await ensurePostgresBinDir();
  const status = await exec(`${bin}/pg_ctl`, ["-D", pgData, "status"], true);
  return { state: status === 0 ? "running" : "not running", dataDir: pgData };
}

/** Stops a project-local cluster left running (`deno task pg:stop`); never creates one. */
export async function stopLocalPostgres(
  options: LocalPostgresOptions = {},
): Promise<StopOutcome> {
  const { state, dataDir: pgData } = await localPostgresState(options.name);
  if (state !== "running") return { state, dataDir: pgData };
  const bin = await ensurePostgresBinDir();
  const running = readPostmasterPid(pgData);
  await exec(`${bin}/pg_ctl`, ["-D", pgData, "-m", "fast", "-w", "stop"]);
  return { state: "stopped", pid: running?.pid ?? 0, port: running?.port ?? 0, dataDir: pgData };
}
