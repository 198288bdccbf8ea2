// Where the local tooling keeps its state. Everything lives under the project so that two
// clones never share a cluster and `git clean -fdX` resets it all.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const dataDir: string = join(projectRoot, ".data");
export const runDir: string = join(dataDir, "run");
