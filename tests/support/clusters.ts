// Postgres clusters of a scenario's own, which it may stop, crash and restart without
// disturbing the shared one: start and restart retry while the port is taken, crash is the
// server's own immediate stop.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type LocalPostgres, startLocalPostgres } from "../../tools/local/embedded_postgres.ts";
import { dataDir } from "../../tools/local/project_paths.ts";
import { ensurePostgresBinDir } from "../../tools/local/system_packages.ts";
import { createTestDatabase } from "./db.ts";
import { sleep } from "./wait.ts";

/** A fresh, migrated database on the server `serverUrl` names; `drop()` removes it. */
export function createDatabaseOn(serverUrl: string, label: string) {
  return createTestDatabase(label, serverUrl);
}

/**
 * Starts (or restarts) a named local cluster, trying again (for up to a minute) while its
 * port is taken ("could not bind … Address already in use"): the derived port lies outside
 * Linux's ephemeral range, but another program may still hold it.
 */
export async function startCluster(name: string): Promise<LocalPostgres> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startLocalPostgres({ name });
    } catch (err) {
      if (attempt >= 120) throw err;
      await sleep(500);
    }
  }
}

/**
 * Crashes a named local cluster: `pg_ctl stop -m immediate`, the server's own crash (no
 * checkpoint, WAL buffers not yet written are gone; recovery replays the WAL at the next start).
 * Returns false when the cluster folder is not where this helper expects it.
 */
export async function crashCluster(name: string): Promise<boolean> {
  const pgData = join(dataDir, name, "data");
  if (!existsSync(join(pgData, "PG_VERSION"))) return false;
  const bin = await ensurePostgresBinDir();
  const args = ["-D", pgData, "-m", "immediate", "-w", "stop"];
  const [file, argv] = Deno.uid() === 0
    ? ["runuser", ["-u", "postgres", "--", `${bin}/pg_ctl`, ...args]]
    : [`${bin}/pg_ctl`, args];
  const out = await new Deno.Command(file, { args: argv, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`pg_ctl immediate stop: ${new TextDecoder().decode(out.stderr)}`);
  }
  return true;
}

export async function restartCluster(pg: LocalPostgres): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await pg.start();
    } catch (err) {
      if (attempt >= 120) throw err;
      await sleep(500);
    }
  }
}
