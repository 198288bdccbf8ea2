// The direction of imports (README, "Code map"), read from Deno's own module graph
// (`deno info --json`): the service never loads a tool, a test or a bench, and the Prometheus
// client loads nothing outside its own folder.
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { projectRoot } from "../tools/local/project_paths.ts";

/** Every module `entry` loads, directly or not: project-relative paths, or specifiers as-is. */
async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph: { modules: { specifier: string }[] } = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  return graph.modules.map((m) =>
    m.specifier.startsWith("file:")
      ? relative(projectRoot, fileURLToPath(m.specifier))
      : m.specifier
  );
}

Deno.test("the service (main.ts) loads only src/ and its packages: no tool, test or bench", async () => {
  const modules = await moduleGraph("main.ts");
  assert.ok(modules.includes("src/metrics/service_metrics.ts"), "is the graph complete?");
  const local = modules.filter((m) => !/^(node|npm):|^node_modules\/|^vendor\//.test(m));
  assert.deepEqual(local.filter((m) => m !== "main.ts" && !m.startsWith("src/")), []);
});

Deno.test("the Prometheus client (src/metrics/prometheus/) loads nothing outside its folder", async () => {
  const modules = await moduleGraph("src/metrics/prometheus/mod.ts");
  assert.ok(modules.length >= 9, modules.join(", "));
  assert.deepEqual(modules.filter((m) => !m.startsWith("src/metrics/prometheus/")), []);
});
