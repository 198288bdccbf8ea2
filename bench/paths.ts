// Where the benchmarks find the project and keep their results (bench/results is git-ignored).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const benchDir: string = dirname(fileURLToPath(import.meta.url));
export const projectRoot: string = join(benchDir, "..");
export const resultsRoot: string = join(benchDir, "results");
export const k6ScriptsDir: string = join(benchDir, "k6");

/** A file-name-safe UTC timestamp, sortable: 2025-07-15T12-34-56Z. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
}
