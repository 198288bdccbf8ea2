// Child processes of the local stack: started with a name, their output prefixed line by line,
// their pid written under .data/run/, their last lines kept (to explain an early exit), and
// stopped politely (SIGTERM, then SIGKILL).
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runDir } from "./project_paths.ts";

export interface ChildSpec {
  name: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Print the child's output with a prefix (default true). */
  echo?: boolean;
  /** Folder for the pid file (default .data/run). */
  pidDir?: string;
  /**
   * Run it in a session of its own (setsid), out of reach of a terminal's Ctrl-C, which goes
   * to the whole foreground process group: the owner, which must then handle SIGINT, SIGTERM
   * and SIGHUP, stops it in order and can tell that stop from a crash.
   */
  ownSession?: boolean;
  /** Called with every line it writes (stdout and stderr), e.g. to count V8's --trace-gc. */
  onLine?: (line: string) => void;
}

export interface Child {
  name: string;
  pid: number;
  /** Resolves once the process has exited and its output is fully read. */
  status: Promise<Deno.CommandStatus>;
  /** The last lines it wrote (stdout and stderr interleaved), oldest first. */
  recentLines(): string[];
  stop(graceMs?: number): Promise<void>;
  kill(signal?: Deno.Signal): void;
}

const colors = [36, 35, 33, 32, 34, 31];
let nextColor = 0;
/** Lines kept per child: enough for a config error or a stack trace's head. */
const keptLines = 20;

async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  out: typeof Deno.stdout,
  echo: boolean,
  keep: (line: string) => void,
): Promise<void> {
  const encoder = new TextEncoder();
  let buffered = "";
  const emit = async (line: string) => {
    keep(line);
    if (echo) await out.write(encoder.encode(`${prefix}${line}\n`));
  };
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) await emit(line);
  }
  if (buffered) await emit(buffered);
}

export function spawnChild(spec: ChildSpec): Child {
  const pidDir = spec.pidDir ?? runDir;
  mkdirSync(pidDir, { recursive: true });
  // Not a process group leader, setsid execs in place: the pid stays the program's.
  const setsid = "/usr/bin/setsid";
  const [cmd, args] = spec.ownSession && existsSync(setsid)
    ? [setsid, [spec.cmd, ...spec.args]]
    : [spec.cmd, spec.args];
  const proc = new Deno.Command(cmd, {
    args,
    env: spec.env,
    cwd: spec.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pidFile = join(pidDir, `${spec.name}.pid`);
  writeFileSync(pidFile, `${proc.pid}\n`);
  const color = colors[nextColor++ % colors.length];
  const prefix = Deno.noColor ? `[${spec.name}] ` : `\x1b[${color}m[${spec.name}]\x1b[0m `;
  const echo = spec.echo ?? true;
  const recent: string[] = [];
  const keep = (line: string) => {
    spec.onLine?.(line);
    recent.push(line);
    if (recent.length > keptLines) recent.shift();
  };
  const output = Promise.all([
    pipeLines(proc.stdout, prefix, Deno.stdout, echo, keep),
    pipeLines(proc.stderr, prefix, Deno.stderr, echo, keep),
  ]);
  const status = proc.status.then(async (s) => {
    await output.catch(() => {});
    rmSync(pidFile, { force: true });
    return s;
  });
  let exited = false;
  status.then(() => exited = true);
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    if (exited) return;
    try {
      proc.kill(signal);
    } catch {
      // already gone
    }
  };
  return {
    name: spec.name,
    pid: proc.pid,
    status,
    recentLines: () => [...recent],
    kill,
    async stop(graceMs = 5_000) {
      kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          kill("SIGKILL");
          resolve();
        }, graceMs);
      });
      await Promise.race([status, forced]);
      clearTimeout(timer);
      await status;
    },
  };
}

/** How a child ended, for log lines: "exit code 2" or "signal SIGKILL". */
export function describeExit(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
}

/**
 * Polls url until it answers 200 (or anything, with anyStatus), or throws after timeoutMs.
 * An aborted `signal` ends the wait at once (it throws the signal's reason).
 */
export async function waitForHttp(
  url: string,
  timeoutMs = 20_000,
  anyStatus = false,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const timeout = AbortSignal.timeout(1_000);
      const res = await fetch(url, {
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      await res.body?.cancel();
      if (res.status === 200 || anyStatus) return;
    } catch {
      // not up yet
    }
    signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}
