// The benchmarks' CPU accounting (bench/memory.ts) counts processes that start and end between
// two samples (Postgres' autovacuum workers, short sessions): a parent whose children each live
// a fraction of the interval must be charged about what its shell itself says they used.
import assert from "node:assert/strict";
import { MemorySampler } from "../bench/memory.ts";

Deno.test("CPU of children that end between samples is charged to their group", async () => {
  // Twelve children, each busy for 0.1 s; then the shell prints its children's CPU ("times":
  // user and system seconds) and waits for stdin to close, so it is still listed at the end.
  const script = 'for i in $(seq 12); do timeout 0.1 sh -c "while :; do :; done"; done; ' +
    "times; read -r _";
  const child = new Deno.Command("bash", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const sampler = new MemorySampler([{ name: "shell", rootPid: child.pid, budget: false }], 500);
  sampler.start();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (text.split("\n").length < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const report = sampler.stop();
  await child.stdin.close();
  await reader.cancel();
  await child.status;
  // "times" prints the shell's own line, then its children's: "0m1.180s 0m0.010s".
  const seconds = (s: string) => {
    const m = /(\d+)m([\d.]+)s/.exec(s)!;
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const [user, system] = text.trim().split("\n")[1].trim().split(/\s+/).map(seconds);
  const truth = user + system;
  const counted = report.groups[0].cpuSeconds;
  assert.ok(truth > 0.3, `the children used ${truth} s of CPU`);
  assert.ok(
    Math.abs(counted - truth) <= 0.1 * truth + 0.05,
    `counted ${counted} s for children that used ${truth} s`,
  );
});
