// The last line of defence (src/uncaught.ts): an error nothing caught is logged as JSON with
// its stack, and the process exits 70 for its supervisor to restart, never half-alive.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../tools/local/project_paths.ts";

async function runWith(trigger: string) {
  const modules = pathToFileURL(join(projectRoot, "src")).href;
  const code = `
    import { createLogger } from "${modules}/log.ts";
    import { exitOnUncaught } from "${modules}/uncaught.ts";
    exitOnUncaught(createLogger("info", { instance: "t" }));
    ${trigger}
    // Kept alive: only the handler's exit may end it.
    setInterval(() => {}, 1_000);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  return { code: out.code, entry: JSON.parse(lines.at(-1)!) };
}

Deno.test("an exception thrown from a timer is logged with its stack, then exit 70", async () => {
  const { code, entry } = await runWith(
    `setTimeout(function fromTimer() { null.write(); }, 10);`,
  );
  assert.equal(code, 70);
  assert.equal(entry.event, "uncaught_exception");
  assert.equal(entry.level, "error");
  assert.match(entry.err, /TypeError/);
  assert.match(entry.stack, /fromTimer/);
});

Deno.test("a rejection nobody awaited is logged with its stack, then exit 70", async () => {
  const { code, entry } = await runWith(
    `setTimeout(() => { Promise.reject(new Error("dropped promise")); }, 10);`,
  );
  assert.equal(code, 70);
  assert.equal(entry.event, "unhandled_rejection");
  assert.match(entry.err, /dropped promise/);
  assert.match(entry.stack, /dropped promise/);
});
