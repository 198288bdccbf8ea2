// Finds the system programs the local stack needs (PostgreSQL server binaries, HAProxy) and,
// when running as root on Debian/Ubuntu, installs the missing ones with apt. Anyone else gets
// the exact command to run instead of a stack trace.
import { existsSync, readdirSync } from "node:fs";

let aptUpdated = false;

export class MissingProgramError extends Error {}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "inherit",
    stderr: "inherit",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).spawn();
  const status = await child.status;
  if (!status.success) throw new Error(`${cmd} ${args.join(" ")} exited with ${status.code}`);
}

async function aptInstall(pkg: string): Promise<void> {
  console.error(`[setup] installing ${pkg} with apt-get (running as root)`);
  if (!aptUpdated) {
    await run("apt-get", ["update", "-qq"]);
    aptUpdated = true;
  }
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", pkg]);
}

/** The newest PostgreSQL server bin directory from Debian's layout, if any. */
function findPostgresBinDir(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(`${base}/${v}/bin/initdb`))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? `${base}/${versions[0]}/bin` : undefined;
}

export async function ensurePostgresBinDir(): Promise<string> {
  const found = findPostgresBinDir();
  if (found) return found;
  if (!isRoot()) {
    throw new MissingProgramError(
      "PostgreSQL server binaries not found under /usr/lib/postgresql. Install them with:\n" +
        "  sudo apt-get install -y postgresql\nor set DATABASE_URL to a server you run.",
    );
  }
  await aptInstall("postgresql");
  const installed = findPostgresBinDir();
  if (!installed) throw new MissingProgramError("apt installed postgresql but initdb is missing");
  return installed;
}

function findOnPath(name: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"]);
  return dirs.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/** Path to haproxy, installing it as root when missing; undefined if it cannot be had. */
export async function ensureHaproxy(): Promise<string | undefined> {
  const found = findOnPath("haproxy");
  if (found || !isRoot()) return found;
  try {
    await aptInstall("haproxy");
  } catch (err) {
    console.error(`[setup] could not install haproxy: ${(err as Error).message}`);
  }
  return findOnPath("haproxy");
}

const chromiumPath = "/usr/bin/chromium";

/**
 * Debian's chromium for the console's browser test, installed with apt as root when missing.
 * Never a browser build downloaded by a tool: playwright-core drives this one.
 */
export async function ensureChromium(): Promise<string> {
  if (existsSync(chromiumPath)) return chromiumPath;
  if (!isRoot()) {
    throw new MissingProgramError(
      `${chromiumPath} not found. Install it with:\n  sudo apt-get install -y chromium`,
    );
  }
  await aptInstall("chromium");
  if (!existsSync(chromiumPath)) {
    throw new MissingProgramError(`apt installed chromium but ${chromiumPath} is missing`);
  }
  return chromiumPath;
}
