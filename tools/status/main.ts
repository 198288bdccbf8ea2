// `deno task status`: a one-shot view of the queue, settlements, processor health and leases,
// read from the Postgres in DATABASE_URL, or else from the project-local cluster (started for
// this view if it was not running, and stopped again after).
// `deno task status --watch [--interval=SECONDS]` redraws it every second (or every SECONDS)
// until Ctrl-C, for operators on a server without a browser; one connection serves every
// redraw.
import { parseArgs } from "node:util";
import { connect, type Sql } from "../../src/db/connect.ts";
import { startLocalPostgres } from "../local/embedded_postgres.ts";
import { renderStatus } from "./render_status.ts";
import { hasPaymentTables, readStatus } from "./status_store.ts";

export interface ViewOptions {
  watch: boolean;
  intervalMs: number;
}

export function parseViewOptions(args: string[]): ViewOptions {
  const { values } = parseArgs({
    args,
    options: { watch: { type: "boolean", short: "w" }, interval: { type: "string" } },
  });
  const seconds = Number(values.interval ?? "1");
  if (!Number.isFinite(seconds) || seconds < 0.1) {
    throw new Error(`--interval must be a number of seconds ≥ 0.1, got "${values.interval}"`);
  }
  return { watch: values.watch ?? false, intervalMs: Math.round(seconds * 1000) };
}

// Home the cursor and clear the screen, so each redraw replaces the previous one in place.
const clearScreen = "\x1b[H\x1b[2J";
const encoder = new TextEncoder();

async function draw(sql: Sql, watchMs?: number): Promise<void> {
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const text = renderStatus(await readStatus(sql), { color });
  if (watchMs === undefined) {
    await Deno.stdout.write(encoder.encode(text));
    return;
  }
  const footer = `\n(redrawn every ${watchMs / 1000} s; Ctrl-C to stop)\n`;
  await Deno.stdout.write(encoder.encode(clearScreen + text + footer));
}

async function watchStatus(sql: Sql, intervalMs: number): Promise<void> {
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    for (let stopped = false; !stopped;) {
      try {
        await draw(sql, intervalMs);
      } catch (err) {
        // The database may be restarting: say so and keep watching.
        await Deno.stdout.write(
          encoder.encode(`${clearScreen}status unavailable: ${(err as Error).message}\n`),
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      stopped = await Promise.race([
        stop.promise.then(() => true),
        new Promise<boolean>((r) => timer = setTimeout(() => r(false), intervalMs)),
      ]);
      clearTimeout(timer);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

async function printStatus(databaseUrl: string, options: ViewOptions): Promise<number> {
  const sql = connect(databaseUrl, { max: 1, applicationName: "rinha-status" });
  try {
    if (!(await hasPaymentTables(sql))) {
      console.error("No payment tables in this database yet: start the service once to migrate.");
      return 2;
    }
    if (options.watch) await watchStatus(sql, options.intervalMs);
    else await draw(sql);
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function main(): Promise<number> {
  let options: ViewOptions;
  try {
    options = parseViewOptions(Deno.args);
  } catch (err) {
    console.error((err as Error).message);
    console.error("usage: deno task status [--watch] [--interval=SECONDS]");
    return 2;
  }
  const fromEnv = Deno.env.get("DATABASE_URL");
  if (fromEnv) return await printStatus(fromEnv, options);
  const pg = await startLocalPostgres();
  if (pg.startedHere) console.error("(the local cluster was not running: started for this view)");
  try {
    return await printStatus(pg.url, options);
  } finally {
    if (pg.startedHere) await pg.stop();
  }
}

if (import.meta.main) Deno.exit(await main());
