// Watches the local stack's processes. During start-up any exit aborts the start at once (with
// the child's last lines). Once the stack is ready, an API instance that exits is started again,
// as compose's `restart: unless-stopped` would, while HAProxy's health checks route around it;
// anything else exiting (a simulator, HAProxy, Postgres) ends the stack, which cannot work
// without it.
import { existsSync, readFileSync } from "node:fs";
import { type Child, type ChildSpec, describeExit, spawnChild, waitForHttp } from "./processes.ts";

/** The start-up was stopped from outside (SIGINT, SIGTERM). */
export class StartAbortedError extends Error {
  override name = "StartAbortedError";
}

/** A child exited before the stack was ready; the message carries its last lines. */
export class ChildExitedError extends Error {
  override name = "ChildExitedError";
  constructor(readonly child: string, how: string, lines: string[]) {
    super(
      `${child} exited during start-up (${how})` +
        (lines.length
          ? `; its last lines:\n${lines.map((l) => `  | ${l}`).join("\n")}`
          : " without a word"),
    );
  }
}

export interface SupervisedSpec extends ChildSpec {
  /** Start it again when it exits after the stack is ready; healthUrl says when it is back. */
  restart?: { healthUrl: string };
  /** Start-up stage (0 first); stop() stops the last stage first, each stage all at once. */
  stage: number;
}

/** First restart delay; doubled at each exit that follows a short run, up to maxDelayMs. */
const firstDelayMs = 500;
const maxDelayMs = 10_000;
/** A run at least this long counts as healthy: the next exit starts over at firstDelayMs. */
const stableRunMs = 30_000;
/** How often a process we did not spawn (the Postgres server) is looked for. */
const watchEveryMs = 500;

const log = (msg: string) => console.error(`[stack] ${msg}`);

function isAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/status`, "utf8").includes("State:\tZ");
  } catch {
    return false;
  }
}

export class Supervisor {
  /** The current processes; a restart replaces an entry in place. */
  readonly children: Child[] = [];
  private readonly stages: number[] = [];
  /** Resolves with a message when something the stack cannot run without has exited. */
  readonly failed: Promise<string>;
  private phase: "starting" | "running" | "stopping" = "starting";
  private readonly startup = new AbortController();
  private readonly stopping = new AbortController();
  private readonly aborted: Promise<never>;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly delays = new Map<string, number>();
  private fail!: (message: string) => void;

  constructor(outside?: AbortSignal) {
    this.failed = new Promise((resolve) => this.fail = resolve);
    this.aborted = new Promise((_, reject) => {
      this.startup.signal.addEventListener("abort", () => reject(this.startup.signal.reason));
    });
    this.aborted.catch(() => {}); // only ever observed through during()
    const abortFromOutside = () =>
      this.abortStart(new StartAbortedError("start-up stopped by a signal"));
    if (outside?.aborted) abortFromOutside();
    outside?.addEventListener("abort", abortFromOutside);
  }

  /** Aborted when the start-up must end: give it to every start-up wait. */
  get startSignal(): AbortSignal {
    return this.startup.signal;
  }

  /** `work`, unless the start-up is aborted first (then it rejects with the reason at once). */
  during<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.aborted]);
  }

  throwIfAborted(): void {
    this.startup.signal.throwIfAborted();
  }

  launch(spec: SupervisedSpec, slot = this.children.length): Child {
    const child = spawnChild(spec);
    this.children[slot] = child;
    this.stages[slot] = spec.stage;
    const startedAt = Date.now();
    child.status.then((status) => this.onExit(spec, child, startedAt, status));
    return child;
  }

  /** Start-up is over: from now on exits restart instances or end the stack. */
  running(): void {
    if (this.phase === "starting") this.phase = "running";
  }

  /** Ends the stack when a process we did not spawn (the Postgres server) disappears. */
  watchProcess(name: string, pid: number): void {
    if (!existsSync("/proc/self/status")) return; // no /proc: nothing cheap to watch with
    const timer = setInterval(() => {
      if (this.phase !== "running" || isAlive(pid)) return;
      clearInterval(timer);
      this.fail(`${name} (pid ${pid}) is gone`);
    }, watchEveryMs);
    this.stopping.signal.addEventListener("abort", () => clearInterval(timer));
  }

  /**
   * Stops every child, the last stage first (HAProxy, then the instances, then the simulators:
   * nothing new reaches a stopping instance, and its calls in flight reach a live processor).
   */
  async stop(): Promise<void> {
    this.phase = "stopping";
    this.stopping.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const stages = [...new Set(this.stages)].sort((a, b) => b - a);
    for (const stage of stages) {
      await Promise.all(
        this.children.filter((_, i) => this.stages[i] === stage).map((c) => c.stop()),
      );
    }
  }

  private abortStart(reason: Error): void {
    if (this.phase === "starting" && !this.startup.signal.aborted) this.startup.abort(reason);
  }

  private onExit(
    spec: SupervisedSpec,
    child: Child,
    startedAt: number,
    status: Deno.CommandStatus,
  ): void {
    const how = describeExit(status);
    if (this.phase === "stopping") return;
    if (this.phase === "starting") {
      this.abortStart(new ChildExitedError(child.name, how, child.recentLines()));
      return;
    }
    if (!spec.restart) {
      this.fail(`${child.name} (pid ${child.pid}) exited (${how})`);
      return;
    }
    const previous = this.delays.get(spec.name);
    const ranLong = Date.now() - startedAt >= stableRunMs;
    const delayMs = previous === undefined || ranLong
      ? firstDelayMs
      : Math.min(previous * 2, maxDelayMs);
    this.delays.set(spec.name, delayMs);
    log(`${child.name} (pid ${child.pid}) exited (${how}); restarting it in ${delayMs / 1000} s`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.phase !== "running") return;
      const fresh = this.launch(spec, this.children.indexOf(child));
      const healthy = waitForHttp(spec.restart!.healthUrl, 60_000, false, this.stopping.signal);
      Promise.race([healthy.then(() => true), fresh.status.then(() => false)]).then(
        (up) => up && log(`${fresh.name} is back (pid ${fresh.pid}, healthy)`),
        () => {}, // stopped meanwhile, or still not healthy: its exit will say more
      );
    }, delayMs);
    this.timers.add(timer);
  }
}
