// What a figure was measured on. Latency numbers mean little without the core count and the
// load other work put on the machine at the time, so every report carries them.
import { readFileSync } from "node:fs";

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memTotalMiB: number;
  /** 1-, 5- and 15-minute load averages when the run started. */
  loadAverage: number[];
  kernel: string;
  deno: string;
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export function machineInfo(): MachineInfo {
  const cpuinfo = read("/proc/cpuinfo");
  const memKb = Number(read("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  return {
    cores: navigator.hardwareConcurrency,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown",
    memTotalMiB: Math.round(memKb / 1024),
    loadAverage: Deno.loadavg(),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cores} cores, ${m.cpuModel}, ${m.memTotalMiB} MiB, Linux ${m.kernel}, ` +
    `Deno ${m.deno}, load average ${m.loadAverage.map((l) => l.toFixed(2)).join(" ")}`;
}

/** The machine-wide CPU counters of /proc/stat (ticks since boot). */
export interface CpuSnapshot {
  at: number;
  ticks: number[];
}

export interface CpuUsage {
  wallSeconds: number;
  /** Share of all cores' time spent running anything (ours, other users', the kernel). */
  busyPct: number;
  /** Share taken by the hypervisor for other guests: time our processes could not run. */
  stealPct: number;
  iowaitPct: number;
  idlePct: number;
  /** Busy time in cores (1.0 = one core fully busy on average). */
  busyCores: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const line = read("/proc/stat").split("\n")[0];
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  return { at: performance.now(), ticks: line.split(/\s+/).slice(1, 9).map(Number) };
}

/**
 * CPU use of the whole machine since `before`. On a shared 2-core VM the latency tail follows
 * these figures more than anything in the code, so every run reports them.
 */
export function cpuUsageSince(before: CpuSnapshot): CpuUsage {
  const now = cpuSnapshot();
  const d = now.ticks.map((t, i) => t - before.ticks[i]);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = d;
  const total = d.reduce((a, b) => a + b, 0) || 1;
  const busy = user + nice + system + irq + softirq;
  const pct = (x: number) => Math.round((1000 * x) / total) / 10;
  return {
    wallSeconds: Math.round((now.at - before.at) / 100) / 10,
    busyPct: pct(busy),
    stealPct: pct(steal),
    iowaitPct: pct(iowait),
    idlePct: pct(idle),
    // USER_HZ is 100.
    busyCores: Math.round(busy / ((now.at - before.at) / 1000)) / 100,
  };
}

export function describeCpu(u: CpuUsage): string {
  return `machine CPU over ${u.wallSeconds} s: busy ${u.busyPct} % (${u.busyCores} cores), ` +
    `steal ${u.stealPct} %, iowait ${u.iowaitPct} %, idle ${u.idlePct} %`;
}

/** CPU time of this very process so far, every thread (utime + stime, USER_HZ 100), in ms. */
export function ownCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
