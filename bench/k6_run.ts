// Runs one k6 script as a child process. Script settings go through `-e` (k6's __ENV) so the
// command line shows them; k6's own settings (dashboard, usage report) go through its
// environment.
import { join } from "node:path";
import { k6ScriptsDir } from "./paths.ts";

export interface K6RunOptions {
  k6: string;
  /** A file name under bench/k6/. */
  script: string;
  /** Values the script reads from __ENV. */
  scriptEnv: Record<string, string>;
  /** Environment of the k6 process itself (K6_* settings). */
  processEnv?: Record<string, string>;
  /** Hide the progress bar (k6 --quiet). */
  quiet?: boolean;
  /** More k6 run flags, e.g. ["--out", "json=raw.json.gz"]. */
  extraArgs?: string[];
}

export interface K6Process {
  pid: number;
  /** Resolves with k6's exit code (99 = a threshold failed). */
  done: Promise<number>;
  commandLine: string;
}

export function startK6(options: K6RunOptions): K6Process {
  const args = ["run", ...(options.quiet ? ["--quiet"] : []), ...(options.extraArgs ?? [])];
  for (const [key, value] of Object.entries(options.scriptEnv)) args.push("-e", `${key}=${value}`);
  args.push(join(k6ScriptsDir, options.script));
  const child = new Deno.Command(options.k6, {
    args,
    env: {
      // This machine has no route to Grafana's usage-report endpoint; don't wait on it.
      K6_NO_USAGE_REPORT: "true",
      ...options.processEnv,
    },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return {
    pid: child.pid,
    done: child.status.then((s) => s.code),
    commandLine: `k6 ${args.join(" ")}`,
  };
}
