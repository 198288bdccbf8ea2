// `deno task status`: a one-shot view of the queue, settlements, processor health and leases,
// read from the Postgres in DATABASE_URL, or else from the project-local cluster (started for
// this view if it was not running, and stopped again after).
import { connect } from "../db/connect.ts";
import { startLocalPostgres } from "../local/embedded_postgres.ts";
import { renderStatus } from "./render_status.ts";
import { hasPaymentTables, readStatus } from "./status_store.ts";

async function printStatus(databaseUrl: string): Promise<number> {
  const sql = connect(databaseUrl, { max: 1, applicationName: "rinha-status" });
  try {
    if (!(await hasPaymentTables(sql))) {
      console.error("No payment tables in this database yet: start the service once to migrate.");
      return 2;
    }
    const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
    const text = renderStatus(await readStatus(sql), { color });
    await Deno.stdout.write(new TextEncoder().encode(text));
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function main(): Promise<number> {
  const fromEnv = Deno.env.get("DATABASE_URL");
  if (fromEnv) return await printStatus(fromEnv);
  const pg = await startLocalPostgres();
  if (pg.startedHere) console.error("(the local cluster was not running: started for this view)");
  try {
    return await printStatus(pg.url);
  } finally {
    if (pg.startedHere) await pg.stop();
  }
}

Deno.exit(await main());
