// The benchmarks' CPU accounting (bench/memory.ts) counts processes that start and end between
// two samples (Postgres' autovacuum workers, short sessions): a parent whose children each live
// a fraction of the interval must be charged about what its shell itself says they used.
import assert from "node:assert/strict";
import { MemorySampler, postgresProcessKind, shortLivedKind } from "../bench/memory.ts";

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
  // Split by kind: the children a sample happens to see (and the shell, whose title holds the
  // whole script), and everything else.
  const kindOf = (title: string) => title.includes("while") ? "seen" : "other";
  const sampler = new MemorySampler(
    [{ name: "shell", rootPid: child.pid, budget: false, kindOf }],
    500,
  );
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
  // The split accounts for the whole group (cpuSeconds is rounded to 0.1 s, each kind to
  // 0.01 s), and the children no sample saw are "short-lived".
  const byKind = report.groups[0].cpuSecondsByKind!;
  const split = Object.values(byKind).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(split - counted) <= 0.06, `split ${JSON.stringify(byKind)} vs ${counted}`);
  assert.ok(byKind[shortLivedKind] > 0.3 * truth, `short-lived: ${JSON.stringify(byKind)}`);
});

Deno.test("Postgres processes are told apart by their titles", () => {
  const kinds = [
    "postgres: rinha bench_official [local] idle",
    "postgres: postgres bench_official 127.0.0.1(51234) INSERT",
    "postgres: walwriter ",
    "postgres: autovacuum worker bench_official",
    "postgres: autovacuum launcher ",
    "postgres: checkpointer ",
    "/usr/lib/postgresql/15/bin/postgres -D /work/main/.data/pg/data -p 30021",
  ].map(postgresProcessKind);
  assert.deepEqual(kinds, [
    "backends",
    "backends",
    "WAL writer",
    "autovacuum",
    "autovacuum",
    "other",
    "other",
  ]);
});
