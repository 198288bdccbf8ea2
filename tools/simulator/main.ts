// `deno task processor`: one simulated payment processor, configured by environment variables
// like the official container (see env_config.ts), stopped cleanly by SIGINT or SIGTERM.

import { readEnvOptions } from "./env_config.ts";
import { faultsRequested } from "./faults.ts";
import type { ResolvedOptions } from "./options.ts";
import { startSimulator } from "./server.ts";

async function runProcessor(): Promise<void> {
  let options: ResolvedOptions;
  let faults: boolean;
  try {
    options = readEnvOptions((name) => Deno.env.get(name));
    faults = faultsRequested((name) => Deno.env.get(name));
  } catch (error) {
    console.error(`processor simulator: bad configuration\n${(error as Error).message}`);
    Deno.exit(2);
  }
  let simulator;
  try {
    simulator = await startSimulator({ ...options, faults });
  } catch (error) {
    console.error(
      `processor simulator: cannot listen on ${options.hostname}:${options.port}:`,
      error,
    );
    Deno.exit(1);
  }
  console.log(
    `processor simulator listening on ${simulator.url} (fee ${options.transactionFee}, ` +
      `health window ${options.rateLimitSeconds} s${faults ? ", FAULT SWITCHES ON" : ""})`,
  );

  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const stop = async () => {
    // Listeners removed first: a second Ctrl-C during shutdown then kills the process at once.
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    await simulator.close();
    console.log("processor simulator stopped");
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
}

if (import.meta.main) await runProcessor();
