// Entry point of one API instance: read the configuration, start, stop cleanly on a signal.
import { ConfigError, readConfig } from "./src/config.ts";
import { startService } from "./src/service.ts";

let config;
try {
  config = readConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    Deno.exit(2);
  }
  throw err;
}

const service = await startService(config);
const shutdown = async () => {
  await service.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);
