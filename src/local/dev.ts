// `deno task dev`: the whole stack in the foreground until Ctrl-C or SIGTERM.
import { devDefaults, startStack } from "./stack.ts";

const stack = await startStack({ ...devDefaults, apiEnv: { LOG_FORMAT: "pretty" } });
console.error(
  `[stack] ready: ${stack.url} (HAProxy stats on http://127.0.0.1:${devDefaults.statsPort}/)`,
);

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.error("[stack] stopping…");
  await stack.stop();
  console.error("[stack] stopped");
  Deno.exit(code);
};
Deno.addSignalListener("SIGINT", () => shutdown(0));
Deno.addSignalListener("SIGTERM", () => shutdown(0));
// One child dying takes the stack down: a half-running stack only confuses.
for (const child of stack.children) {
  child.status.then((s) => {
    if (stopping) return;
    console.error(`[stack] ${child.name} exited (code ${s.code}); stopping everything`);
    shutdown(1);
  });
}
