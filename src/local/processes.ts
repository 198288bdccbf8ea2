// Child processes of the local stack: started with a name, their output prefixed line by line,
// their pid written under .data/run/, and stopped politely (SIGTERM, then SIGKILL).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
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
}

export interface Child {
  name: string;
  pid: number;
  status: Promise<Deno.CommandStatus>;
  stop(graceMs?: number): Promise<void>;
  kill(signal?: Deno.Signal): void;
}

const colors = [36, 35, 33, 32, 34, 31];
let nextColor = 0;

async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  out: typeof Deno.stdout,
  echo: boolean,
): Promise<void> {
  const encoder = new TextEncoder();
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    if (!echo) continue;
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) await out.write(encoder.encode(`${prefix}${line}\n`));
  }
  if (echo && buffered) await out.write(encoder.encode(`${prefix}${buffered}\n`));
}

export function spawnChild(spec: ChildSpec): Child {
  const pidDir = spec.pidDir ?? runDir;
  mkdirSync(pidDir, { recursive: true });
  const proc = new Deno.Command(spec.cmd, {
    args: spec.args,
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
  const output = Promise.all([
    pipeLines(proc.stdout, prefix, Deno.stdout, echo),
    pipeLines(proc.stderr, prefix, Deno.stderr, echo),
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

/** Polls url until it answers 200 (or anything, with anyStatus), or throws after timeoutMs. */
export async function waitForHttp(
  url: string,
  timeoutMs = 20_000,
  anyStatus = false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.status === 200 || anyStatus) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}
