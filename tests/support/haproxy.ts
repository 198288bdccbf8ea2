// HAProxy with the project's own haproxy.cfg in front of given API instances, on free ports,
// for tests that must see what production clients see (queueing, limits, refusals).
import { join } from "node:path";
import { type Child, spawnChild, waitForHttp } from "../../tools/local/processes.ts";
import { projectRoot } from "../../tools/local/project_paths.ts";
import { ensureHaproxy } from "../../tools/local/system_packages.ts";
import { freePort } from "./stack.ts";

export interface Haproxy {
  url: string;
  port: number;
  child: Child;
  stop(): Promise<void>;
}

/** `apis`: two "host:port" addresses (the same twice for one instance). */
export async function startHaproxy(apis: [string, string]): Promise<Haproxy> {
  const bin = await ensureHaproxy();
  if (!bin) throw new Error("haproxy is not installed (apt-get install haproxy)");
  const port = freePort();
  const child = spawnChild({
    name: `haproxy-${port}`,
    cmd: bin,
    args: ["-f", join(projectRoot, "haproxy.cfg"), "-db"],
    env: {
      HAPROXY_BIND: `127.0.0.1:${port}`,
      HAPROXY_STATS_BIND: `127.0.0.1:${freePort()}`,
      API1_ADDR: apis[0],
      API2_ADDR: apis[1],
    },
    echo: false,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`);
  return { url, port, child, stop: () => child.stop() };
}
