// `deno task status --watch`: the terminal view redrawn in place until Ctrl-C, run as the
// operator runs it (a child process on a real database), showing changes as they happen.
import assert from "node:assert/strict";
import { parseViewOptions } from "../tools/status/main.ts";
import { createTestDatabase } from "./support/db.ts";
import { waitUntil } from "./support/wait.ts";

const clearScreen = "\x1b[H\x1b[2J";

Deno.test("--watch redraws until SIGINT, and each redraw shows the table as it is now", async () => {
  const db = await createTestDatabase("status_watch");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../tools/status/main.ts", import.meta.url).pathname,
      "--watch",
      "--interval=0.2",
    ],
    env: { DATABASE_URL: db.url, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const frames = () => out.split(clearScreen).slice(1);
  try {
    await waitUntil("two redraws", () => frames().length >= 2, 30_000);
    assert.match(frames()[0], /^ {2}total\s+0$/m);
    assert.match(frames()[0], /redrawn every 0\.2 s; Ctrl-C to stop/);
    const id = crypto.randomUUID();
    await db.sql`insert into payments (correlation_id, amount_cents) values (${id}, 100)`;
    await db.sql`insert into payment_queue (correlation_id, amount_cents) values (${id}, 100)`;
    await waitUntil("a redraw with the new payment", () => {
      const last = frames().at(-1) ?? "";
      return /^ {2}total\s+1$/m.test(last);
    }, 30_000);
  } finally {
    child.kill("SIGINT");
    const status = await child.status;
    await reading;
    await child.stderr.cancel();
    await db.drop();
    assert.equal(status.code, 0, "Ctrl-C ends the watch cleanly");
  }
});

Deno.test("status options: --watch, --interval in seconds, and a refused interval", () => {
  assert.deepEqual(parseViewOptions([]), { watch: false, intervalMs: 1000 });
  assert.deepEqual(parseViewOptions(["--watch"]), { watch: true, intervalMs: 1000 });
  assert.deepEqual(parseViewOptions(["-w", "--interval=2.5"]), { watch: true, intervalMs: 2500 });
  assert.throws(() => parseViewOptions(["--interval=0"]), /--interval/);
  assert.throws(() => parseViewOptions(["--interval=soon"]), /--interval/);
});
