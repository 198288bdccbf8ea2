// k6 has no Debian or npm package, and the official test used v1.1.0 exactly: build that
// version from source with Go into the project's git-ignored .tools/bin, once.
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { projectRoot } from "./paths.ts";

export const k6Version = "v1.1.0";
export const toolsBin: string = join(projectRoot, ".tools", "bin");
const k6Path = join(toolsBin, "k6");

async function output(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, text };
}

/** The version line of an existing binary, or undefined when it does not run. */
async function installedVersion(path: string): Promise<string | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    const { ok, text } = await output(path, ["version"]);
    return ok ? text.trim() : undefined;
  } catch {
    return undefined;
  }
}

function findGo(): string | undefined {
  const candidates = [
    "/usr/local/go/bin/go",
    ...(Deno.env.get("PATH") ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "go")),
  ];
  return candidates.find((p) => existsSync(p));
}

/** Returns the path of a k6 v1.1.0 binary, building it first if needed. */
export async function ensureK6(): Promise<string> {
  const current = await installedVersion(k6Path);
  if (current?.startsWith(`k6 ${k6Version} `)) return k6Path;

  const go = findGo();
  if (!go) {
    throw new Error(
      `k6 ${k6Version} is not in ${toolsBin} and Go is not installed (looked in ` +
        "/usr/local/go/bin and PATH). Install Go (https://go.dev/dl/) and rerun, or put a " +
        `k6 ${k6Version} binary at ${k6Path}.`,
    );
  }
  console.error(
    `[k6] ${current ? `found "${current}", need ${k6Version}` : "not installed"}; ` +
      `building with ${go} install go.k6.io/k6@${k6Version} (a few minutes, once)`,
  );
  const build = new Deno.Command(go, {
    args: ["install", `go.k6.io/k6@${k6Version}`],
    env: { GOBIN: toolsBin },
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await build.status;
  if (!status.success) {
    throw new Error(`go install go.k6.io/k6@${k6Version} failed (${status.code})`);
  }
  const built = await installedVersion(k6Path);
  if (!built?.startsWith(`k6 ${k6Version} `)) {
    throw new Error(`built ${k6Path} but it reports "${built ?? "nothing"}"`);
  }
  return k6Path;
}

if (import.meta.main) console.log(await ensureK6());
