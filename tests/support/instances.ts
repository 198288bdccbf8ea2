// API instances as separate processes (main.ts), for scenarios that kill them with SIGKILL or
// measure their memory; in-process instances are tests/support/stack.ts's startInstance.
import { join } from "node:path";
import { type Child, spawnChild, waitForHttp } from "../../tools/local/processes.ts";
import { projectRoot } from "../../tools/local/project_paths.ts";
import { apiV8Flags } from "../../src/v8_flags.ts";
import { freePort } from "./stack.ts";

export interface InstanceProcess {
  child: Child;
  url: string;
  env: Record<string, string>;
}

/**
 * A real API instance process (main.ts), on a port of its own, ready when this resolves.
 * `deployedFlags`: run with the V8 flags of `deno task start` (src/v8_flags.ts) so memory
 * behaves as deployed.
 */
export async function spawnInstance(
  env: Record<string, string>,
  deployedFlags = false,
): Promise<InstanceProcess> {
  const port = env.PORT && env.PORT !== "0" ? env.PORT : String(freePort());
  const full = { ...env, PORT: port };
  const flags = deployedFlags ? [`--v8-flags=${apiV8Flags}`] : [];
  const child = spawnChild({
    name: `${env.INSTANCE_ID ?? "api"}-${port}`,
    cmd: Deno.execPath(),
    args: ["run", "-A", ...flags, join(projectRoot, "main.ts")],
    env: full,
    echo: Deno.env.get("RELIABILITY_ECHO") === "1",
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health`, 30_000);
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    throw err;
  }
  return { child, url, env: full };
}

/** kill -9, and wait until the process is gone. */
export async function killHard(instance: InstanceProcess): Promise<void> {
  instance.child.kill("SIGKILL");
  await instance.child.status;
}

/** Resident memory of a process in MB (VmRSS from /proc). */
export function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 102.4) / 10;
}
