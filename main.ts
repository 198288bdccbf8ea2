// Entry point of one API instance: read the configuration, start, stop cleanly on a signal,
// and never live on half-broken after an error nothing caught.
import { ConfigError, readConfig } from "./src/config.ts";
import { createLogger } from "./src/log.ts";
import { startService } from "./src/service.ts";
import { exitOnUncaught } from "./src/uncaught.ts";

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

const log = createLogger(config.logLevel, { instance: config.instanceId }, config.logFormat);
exitOnUncaught(log);
const service = await startService(config, log);
const shutdown = async () => {
  await service.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);
