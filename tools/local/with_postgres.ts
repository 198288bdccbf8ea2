// Runs a deno subcommand (the test suite, a benchmark) with DATABASE_URL pointing at a real
// server: the one given, or the project-local cluster, started for the run and stopped after
// if this run started it. Also makes sure HAProxy is present for the stack tests.
import { startLocalPostgres } from "./embedded_postgres.ts";
import { ensureHaproxy } from "./system_packages.ts";

async function main(): Promise<number> {
  await ensureHaproxy();
  let stop: (() => Promise<void>) | undefined;
  if (!Deno.env.get("DATABASE_URL")) {
    const pg = await startLocalPostgres();
    Deno.env.set("DATABASE_URL", pg.url);
    if (pg.startedHere) stop = pg.stop;
  }
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: Deno.args,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const forward = () => child.kill("SIGTERM");
    Deno.addSignalListener("SIGINT", forward);
    Deno.addSignalListener("SIGTERM", forward);
    const status = await child.status;
    Deno.removeSignalListener("SIGINT", forward);
    Deno.removeSignalListener("SIGTERM", forward);
    return status.code;
  } finally {
    await stop?.();
  }
}

Deno.exit(await main());
