// Who used the CPU during one phase of a benchmark, by process group: the API instances
// together, Postgres (its server processes and our database's backends), HAProxy, the
// simulators, k6, and "others" (the rest of the machine: other engineers' work, the bench
// process itself). The machine is shared, so a phase that found it busy is not comparable.
import type { Stack } from "../tools/local/stack.ts";
import { cpuSnapshot, type CpuUsage, cpuUsageSince } from "./machine.ts";
import { MemorySampler, stackGroups } from "./memory.ts";

export interface CpuSplit {
  cpu: CpuUsage;
  /** Average cores used per group over the phase. */
  cores: Record<string, number>;
  wallSeconds: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Starts sampling once a second; the returned function stops and reports. */
export function startCpuSplit(stack: Stack, k6Pid?: number): () => CpuSplit {
  const groups = stackGroups(stack);
  if (k6Pid) groups.push({ name: "k6", rootPid: k6Pid, budget: false });
  const sampler = new MemorySampler(groups);
  const before = cpuSnapshot();
  sampler.start();
  return () => {
    const report = sampler.stop();
    const cpu = cpuUsageSince(before);
    const sum = (pred: (name: string) => boolean) =>
      round2(report.groups.filter((g) => pred(g.name)).reduce((a, g) => a + g.avgCores, 0));
    const ours = sum(() => true);
    return {
      cpu,
      wallSeconds: report.wallSeconds,
      cores: {
        apis: sum((n) => n.startsWith("api")),
        postgres: sum((n) => n === "postgres"),
        haproxy: sum((n) => n === "haproxy"),
        processors: sum((n) => n.startsWith("processor")),
        k6: sum((n) => n === "k6"),
        others: round2(Math.max(0, cpu.busyCores - ours)),
      },
    };
  };
}

/** CPU milliseconds per payment of each group, from average cores over the phase. */
export function cpuMsPerPayment(split: CpuSplit, payments: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [group, cores] of Object.entries(split.cores)) {
    out[group] = payments > 0 ? round2((cores * split.wallSeconds * 1000) / payments) : NaN;
  }
  return out;
}
