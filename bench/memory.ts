// Peak memory of the stack's processes during a benchmark, read from /proc once a second, to
// check the challenge's 350 MB budget (spec §2) without Docker.
//
// Three measures per group, because none alone is right for Postgres:
// - RSS counts every page a process has touched, shared ones included. Each Postgres backend
//   maps the same shared_buffers, so summing backends' RSS counts that memory many times over:
//   a pessimistic bound.
// - PSS (from smaps_rollup) splits each shared page between the processes that map it. Summed
//   over every process that maps them, shared pages count once; but the cluster is shared with
//   other engineers' backends (filtered out of the group), which take their part of the
//   shared buffers' PSS with them, so the group's PSS can understate it.
// - USS + shm: the group's private pages plus, once, the largest shared-memory footprint
//   (RssShmem) of any of its processes. For Postgres that is the touched part of
//   shared_buffers as a container would be charged for it, whoever else maps it. This is the
//   figure to hold against a container memory limit.
// Each group is a root process plus all its descendants at the moment of the sample, so
// Postgres backends that come and go are counted while they live.
// CPU time (user + system) is read from the same files: with every process of the stack on the
// same few cores, who burns the CPU is the first suspect for a bad latency tail. A process that
// starts and ends between two samples is never listed; its CPU reaches its parent's count of
// reaped children (cutime + cstime) instead, so each group also counts what its processes
// reaped since the last sample, less what was already counted for the children that ended. For
// Postgres that is autovacuum workers above all (0.11 ms of CPU per payment at 300 payments/s,
// 17 % of the cluster's CPU, bench/README.md), and any short session, of any database.
import { readdirSync, readFileSync } from "node:fs";
import { type CpuSnapshot, cpuSnapshot, cpuUsageSince } from "./machine.ts";
import type { Stack } from "../tools/local/stack.ts";

export interface GroupSpec {
  name: string;
  rootPid: number;
  /** Counts towards the 350 MB budget (the API, HAProxy and Postgres; not the processors). */
  budget: boolean;
  /** Keeps only the descendants it accepts (the root is always kept). */
  filter?: (pid: number) => boolean;
  /** Splits the group's CPU by kind of process, from each one's title (its command line). */
  kindOf?: (title: string) => string;
}

export interface GroupPeak {
  name: string;
  budget: boolean;
  /** Highest sum over the group's processes at one sample, MiB. */
  peakRssMiB: number;
  peakPssMiB: number;
  /** Private pages of the group plus, once, the largest RssShmem of its processes. */
  peakUssShmMiB: number;
  /** Most processes seen in the group at one sample. */
  maxProcesses: number;
  /** Highest VmHWM (the kernel's own peak RSS) of any single process of the group, MiB. */
  maxProcessHwmMiB: number;
  /** CPU seconds (user + system) the group used while sampled. */
  cpuSeconds: number;
  /** cpuSeconds over the sampled wall time: 1.0 = one full core. */
  avgCores: number;
  /** With GroupSpec.kindOf: cpuSeconds by kind, plus `shortLivedKind` for the CPU of
   * processes that started and ended between two samples (never seen, so never classified). */
  cpuSecondsByKind?: Record<string, number>;
}

/** The kind under which cpuSecondsByKind counts processes no sample saw. */
export const shortLivedKind = "short-lived";

export interface MemoryReport {
  samples: number;
  groups: GroupPeak[];
  /** Highest sum over the budget groups at one sample, MiB. */
  budgetPeakRssMiB: number;
  budgetPeakPssMiB: number;
  budgetPeakUssShmMiB: number;
  wallSeconds: number;
  /** Per sample interval (≈ per second since start): cores each group used. */
  coresPerSecond: Record<string, number[]>;
  /** Per sample interval: share of the whole machine's CPU time that was busy, %. */
  machineBusyPctPerSecond: number[];
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** cutime + cstime: the CPU of its children that ended and were reaped, in clock ticks. */
  reapedTicks: number;
}

// USER_HZ: 100 on every Linux architecture Deno runs on.
const ticksPerSecond = 100;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

/** Every live process with its parent, from /proc/<pid>/stat. */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    if (!stat) continue;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    out.push({
      pid: Number(entry),
      ppid: Number(fields[1]),
      comm: stat.slice(open + 1, close),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      reapedTicks: Number(fields[13]) + Number(fields[14]),
    });
  }
  return out;
}

function descendants(
  root: number,
  procs: ProcInfo[],
  filter: (pid: number) => boolean = () => true,
): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  if (!procs.some((p) => p.pid === root)) return [];
  const result = [root];
  for (let i = 0; i < result.length; i++) result.push(...(children.get(result[i]) ?? []));
  return [root, ...result.slice(1).filter(filter)];
}

function kib(text: string | undefined, field: string): number {
  const match = text?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return match ? Number(match[1]) : 0;
}

/**
 * The postmaster of the cluster listening on `port`: a process named postgres whose parent is
 * not, preferring one whose command line names the port.
 */
export function findPostmaster(port?: number): number | undefined {
  const procs = listProcesses();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const masters = procs.filter((p) =>
    p.comm === "postgres" && byPid.get(p.ppid)?.comm !== "postgres"
  );
  if (port !== undefined) {
    const named = masters.find((p) => {
      const cmdline = readText(`/proc/${p.pid}/cmdline`)?.split("\0") ?? [];
      return cmdline.some((arg, i) =>
        arg === `-p${port}` || (arg === "-p" && cmdline[i + 1] === String(port)) ||
        arg === `-p ${port}` || arg.includes(`port=${port}`)
      );
    });
    if (named) return named.pid;
  }
  return masters.length === 1 ? masters[0].pid : undefined;
}

/**
 * Keeps a cluster's server processes (checkpointer, WAL writer, autovacuum…) and the client
 * backends of one database: tests of other engineers may use other databases of the same
 * cluster at the same time, and their backends are not the stack's.
 */
export function postgresDatabaseFilter(database: string): (pid: number) => boolean {
  return (pid) => {
    const client = clientBackendTitle.exec(processTitle(pid));
    return !client || client[1] === database;
  };
}

// A client backend's title: "postgres: <user> <database> <[local] | host(port)> <state>".
const clientBackendTitle = /^postgres: \S+ (\S+) (\[local\]|\S+\(\d+\))/;

/** A process's command line with spaces for separators ("" once it has exited). */
function processTitle(pid: number): string {
  return readText(`/proc/${pid}/cmdline`)?.replaceAll("\0", " ").trim() ?? "";
}

/**
 * Which part of Postgres a process of the cluster is, from its title: the statements' own
 * sessions ("backends"), the WAL writer (it flushes asynchronous commits every
 * wal_writer_delay), autovacuum, or "other" (postmaster, checkpointer, background writer…).
 * Splitting the group's CPU this way tells a statement's cost from the work commits and dead
 * rows cause later.
 */
export function postgresProcessKind(title: string): string {
  if (clientBackendTitle.test(title)) return "backends";
  if (title.startsWith("postgres: walwriter")) return "WAL writer";
  if (title.startsWith("postgres: autovacuum")) return "autovacuum";
  return "other";
}

const mib = (kb: number) => Math.round(kb / 102.4) / 10;

export class MemorySampler {
  #timer: ReturnType<typeof setInterval> | undefined;
  #samples = 0;
  #peaks = new Map<
    string,
    { rss: number; pss: number; ussShm: number; procs: number; hwm: number }
  >();
  // Per group, per pid: CPU ticks when first and last seen, and its kind (GroupSpec.kindOf).
  #cpu = new Map<string, Map<number, { first: number; last: number; kind?: string }>>();
  // Per group: every descendant at the last sample (filtered out or not) with its parent, own
  // ticks and own + reaped ticks; and the ticks of unlisted processes counted so far.
  #reaped = new Map<
    string,
    { seen: Map<number, { ppid: number; own: number; total: number }>; ticks: number }
  >();
  #startedAt = 0;
  #stoppedAt = 0;
  #budgetRss = 0;
  #budgetPss = 0;
  #budgetUssShm = 0;
  #series = new Map<string, number[]>();
  #machineBusy: number[] = [];
  #lastMachine: CpuSnapshot | undefined;

  constructor(private groups: GroupSpec[], private intervalMs = 1_000) {
    for (const g of groups) {
      this.#peaks.set(g.name, { rss: 0, pss: 0, ussShm: 0, procs: 0, hwm: 0 });
      this.#cpu.set(g.name, new Map());
      this.#reaped.set(g.name, { seen: new Map(), ticks: 0 });
      this.#series.set(g.name, []);
    }
  }

  start(): void {
    this.#startedAt = performance.now();
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
  }

  sample(): void {
    const procs = listProcesses();
    const ticks = new Map(procs.map((p) => [p.pid, p.cpuTicks]));
    let budgetRss = 0;
    let budgetPss = 0;
    let budgetUssShm = 0;
    for (const g of this.groups) {
      let rss = 0;
      let pss = 0;
      let uss = 0;
      let shm = 0;
      const pids = descendants(g.rootPid, procs, g.filter);
      const peak = this.#peaks.get(g.name)!;
      const cpu = this.#cpu.get(g.name)!;
      let intervalTicks = 0;
      for (const pid of pids) {
        const t = ticks.get(pid) ?? 0;
        // A process born since the last sample has used its CPU within the run: count from 0.
        const seen = cpu.get(pid) ??
          { first: this.#samples === 0 ? t : 0, last: t, kind: g.kindOf?.(processTitle(pid)) };
        intervalTicks += t - (cpu.has(pid) ? seen.last : seen.first);
        seen.last = t;
        cpu.set(pid, seen);
        const status = readText(`/proc/${pid}/status`);
        const rollup = readText(`/proc/${pid}/smaps_rollup`);
        rss += kib(status, "VmRSS");
        pss += kib(rollup, "Pss");
        uss += kib(rollup, "Private_Clean") + kib(rollup, "Private_Dirty");
        shm = Math.max(shm, kib(status, "RssShmem"));
        peak.hwm = Math.max(peak.hwm, kib(status, "VmHWM"));
      }
      intervalTicks += this.#unlistedChildTicks(g, procs);
      peak.rss = Math.max(peak.rss, rss);
      peak.pss = Math.max(peak.pss, pss);
      peak.ussShm = Math.max(peak.ussShm, uss + shm);
      peak.procs = Math.max(peak.procs, pids.length);
      if (this.#samples > 0) {
        const seconds = this.intervalMs / 1000;
        this.#series.get(g.name)!.push(
          Math.round(intervalTicks / ticksPerSecond / seconds * 100) / 100,
        );
      }
      if (g.budget) {
        budgetRss += rss;
        budgetPss += pss;
        budgetUssShm += uss + shm;
      }
    }
    this.#budgetRss = Math.max(this.#budgetRss, budgetRss);
    this.#budgetPss = Math.max(this.#budgetPss, budgetPss);
    this.#budgetUssShm = Math.max(this.#budgetUssShm, budgetUssShm);
    if (this.#lastMachine) this.#machineBusy.push(cpuUsageSince(this.#lastMachine).busyPct);
    this.#lastMachine = cpuSnapshot();
    this.#samples++;
  }

  /**
   * Ticks of processes of the group that both started and ended since the last sample: for
   * each process listed then and now, what it reaped meanwhile, less the last ticks (own and
   * reaped) seen of its listed children that have ended. Every descendant takes part, the
   * filtered-out ones too (their ticks are not the group's, but their parent reaps them).
   */
  #unlistedChildTicks(g: GroupSpec, procs: ProcInfo[]): number {
    const state = this.#reaped.get(g.name)!;
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    const now = new Map<number, { ppid: number; total: number }>();
    for (const pid of descendants(g.rootPid, procs)) {
      const p = byPid.get(pid)!;
      now.set(pid, { ppid: p.ppid, total: p.cpuTicks + p.reapedTicks });
    }
    // An ended process was reaped by its parent or, if that ended too, with it: its seen ticks
    // are in the reaped count of its nearest ancestor still running.
    const endedByParent = new Map<number, number>();
    for (const [pid, seen] of state.seen) {
      if (now.has(pid)) continue;
      let parent = seen.ppid;
      while (!now.has(parent) && state.seen.has(parent)) parent = state.seen.get(parent)!.ppid;
      endedByParent.set(parent, (endedByParent.get(parent) ?? 0) + seen.total);
    }
    let unlisted = 0;
    for (const [pid, seen] of state.seen) {
      const p = byPid.get(pid);
      if (!now.has(pid) || !p) continue;
      const reapedBefore = seen.total - seen.own;
      unlisted += Math.max(0, p.reapedTicks - reapedBefore - (endedByParent.get(pid) ?? 0));
    }
    state.seen = new Map(
      [...now].map(([pid, v]) => [pid, { ...v, own: byPid.get(pid)!.cpuTicks }]),
    );
    state.ticks += unlisted;
    return unlisted;
  }

  stop(): MemoryReport {
    clearInterval(this.#timer);
    this.sample();
    this.#stoppedAt = performance.now();
    const wallSeconds = (this.#stoppedAt - this.#startedAt) / 1000;
    return {
      samples: this.#samples,
      groups: this.groups.map((g) => {
        const p = this.#peaks.get(g.name)!;
        let ticks = 0;
        const byKind = new Map<string, number>();
        const add = (kind: string, t: number) => byKind.set(kind, (byKind.get(kind) ?? 0) + t);
        for (const { first, last, kind } of this.#cpu.get(g.name)!.values()) {
          ticks += last - first;
          add(kind ?? "", last - first);
        }
        const shortLived = this.#reaped.get(g.name)!.ticks;
        ticks += shortLived;
        add(shortLivedKind, shortLived);
        const cpuSeconds = ticks / ticksPerSecond;
        return {
          name: g.name,
          budget: g.budget,
          peakRssMiB: mib(p.rss),
          peakPssMiB: mib(p.pss),
          peakUssShmMiB: mib(p.ussShm),
          maxProcesses: p.procs,
          maxProcessHwmMiB: mib(p.hwm),
          cpuSeconds: Math.round(cpuSeconds * 10) / 10,
          avgCores: wallSeconds > 0 ? Math.round((cpuSeconds / wallSeconds) * 100) / 100 : 0,
          ...(g.kindOf && {
            cpuSecondsByKind: Object.fromEntries(
              [...byKind].map(([kind, t]) => [kind, Math.round(t / ticksPerSecond * 100) / 100]),
            ),
          }),
        };
      }),
      budgetPeakRssMiB: mib(this.#budgetRss),
      budgetPeakPssMiB: mib(this.#budgetPss),
      budgetPeakUssShmMiB: mib(this.#budgetUssShm),
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      coresPerSecond: Object.fromEntries(this.#series),
      machineBusyPctPerSecond: this.#machineBusy,
    };
  }
}

/** "backends 0.63, WAL writer 0.10, …" (largest first), each figure through `format`. */
export function formatByKind(
  secondsByKind: Record<string, number>,
  format: (seconds: number) => string,
): string {
  return Object.entries(secondsByKind).sort((a, b) => b[1] - a[1])
    .map(([kind, seconds]) => `${kind} ${format(seconds)}`).join(", ");
}

/** A fixed-width table of the report, for the terminal and the README. */
export function formatMemory(report: MemoryReport): string {
  const n = (x: number, width: number) => String(x).padStart(width);
  const rows = report.groups.map((g) =>
    `  ${g.name.padEnd(20)} ${g.budget ? "yes" : "no "}   ${n(g.peakRssMiB, 8)} ${
      n(g.peakPssMiB, 8)
    }` +
    ` ${n(g.peakUssShmMiB, 9)} ${n(g.maxProcessHwmMiB, 9)} ${n(g.maxProcesses, 6)}` +
    ` ${n(g.cpuSeconds, 7)} ${g.avgCores.toFixed(2).padStart(6)}`
  );
  return [
    `  ${"process group".padEnd(20)} budget ${"RSS MiB".padStart(8)} ${"PSS MiB".padStart(8)}` +
    ` ${"USS+shm".padStart(9)} ${"1-proc HWM".padStart(9)} ${"procs".padStart(6)}` +
    ` ${"CPU s".padStart(7)} ${"cores".padStart(6)}`,
    ...rows,
    `  ${"budget total (peak)".padEnd(20)}       ${n(report.budgetPeakRssMiB, 8)}` +
    ` ${n(report.budgetPeakPssMiB, 8)} ${n(report.budgetPeakUssShmMiB, 9)}` +
    `   (limit 350 MB = 333.8 MiB)`,
    `  (${report.samples} samples, 1/s, over ${report.wallSeconds} s; "cores" = CPU s / wall s)`,
  ].join("\n");
}

/**
 * The process groups of a running stack: each child (the simulators outside the 350 MB budget,
 * as in the challenge) and the Postgres processes serving the stack's database.
 */
export function stackGroups(stack: Stack): GroupSpec[] {
  const groups: GroupSpec[] = stack.children.map((c) => ({
    name: c.name,
    rootPid: c.pid,
    budget: !c.name.startsWith("processor"),
  }));
  const dbUrl = new URL(stack.databaseUrl);
  const postmaster = findPostmaster(Number(dbUrl.port || 5432));
  if (postmaster) {
    groups.push({
      name: "postgres",
      rootPid: postmaster,
      budget: true,
      filter: postgresDatabaseFilter(dbUrl.pathname.slice(1) || "postgres"),
      kindOf: postgresProcessKind,
    });
  } else console.error("[bench] !!! postmaster not found: Postgres memory is not counted");
  return groups;
}
