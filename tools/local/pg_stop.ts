// `deno task pg:stop`: stops the project-local Postgres cluster when something left it running
// (a `deno task dev` that found it already up, a killed test run). `--cluster NAME` picks
// another cluster under .data/ (default "pg").
import { parseArgs } from "node:util";
import { stopLocalPostgres } from "./embedded_postgres.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { cluster: { type: "string", default: "pg" } },
});

try {
  const outcome = await stopLocalPostgres({ name: values.cluster });
  if (outcome.state === "stopped") {
    console.error(
      `[pg] stopped the project-local cluster (pid ${outcome.pid}, port ${outcome.port}, ` +
        `${outcome.dataDir})`,
    );
  } else {
    console.error(`[pg] ${outcome.state}: ${outcome.dataDir}`);
  }
} catch (err) {
  console.error(`[pg] ${(err as Error).message}`);
  Deno.exit(1);
}
