// The routing policy: which processor new attempts go to, and how hard to push it.
// The default processor is cheaper, so it is preferred even while failing: payments wait and
// one probe at a time checks for its recovery. Only after it has failed for fallbackAfterMs,
// and while the fallback works, do fresh attempts go to the fallback (still probing the
// default). Attempts already in progress stay with their processor whatever happens.
import type { ProcessorId } from "../payments/store.ts";
import type { CallOutcome } from "./client.ts";

export const DEFAULT: ProcessorId = 1;
export const FALLBACK: ProcessorId = 2;

export interface RouterSettings {
  fallbackAfterMs: number;
  probeIntervalMs: number;
  processorTimeoutMs: number;
}

/** One claim the dispatcher should make now. */
export interface ClaimPlan {
  target: ProcessorId;
  resumable: ProcessorId[];
  /** "full": as many rows as free slots allow; "probe": a single payment to test recovery. */
  mode: "full" | "probe";
}

interface ProcessorState {
  failingSince?: number;
  lastProbeAt: number;
  probing: boolean;
  minResponseMs: number;
}

export class ProcessorRouter {
  #state = new Map<ProcessorId, ProcessorState>([
    [DEFAULT, { lastProbeAt: 0, probing: false, minResponseMs: 0 }],
    [FALLBACK, { lastProbeAt: 0, probing: false, minResponseMs: 0 }],
  ]);

  constructor(private readonly settings: RouterSettings) {}

  isHealthy(p: ProcessorId): boolean {
    return this.#get(p).failingSince === undefined;
  }

  /** The claims to make now, in order; empty when everything must wait. */
  plan(now: number): ClaimPlan[] {
    const healthy = [DEFAULT, FALLBACK].filter((p) => this.isHealthy(p));
    if (this.isHealthy(DEFAULT)) return [{ target: DEFAULT, resumable: healthy, mode: "full" }];
    const plans: ClaimPlan[] = [];
    const outage = now - this.#get(DEFAULT).failingSince!;
    if (outage >= this.settings.fallbackAfterMs && this.isHealthy(FALLBACK)) {
      plans.push({ target: FALLBACK, resumable: [FALLBACK], mode: "full" });
    }
    if (this.#probeDue(DEFAULT, now)) {
      plans.push({ target: DEFAULT, resumable: [DEFAULT], mode: "probe" });
    }
    return plans;
  }

  /** Called when a probe claim took a row (so only one probe runs at a time). */
  startProbe(p: ProcessorId, now: number): void {
    const s = this.#get(p);
    s.probing = true;
    s.lastProbeAt = now;
  }

  recordOutcome(p: ProcessorId, outcome: CallOutcome, now: number, wasProbe = false): void {
    const s = this.#get(p);
    if (wasProbe) s.probing = false;
    if (outcome === "processed") s.failingSince = undefined;
    else s.failingSince ??= now;
  }

  /** The shared health view: a failing report stops traffic; a good one invites a probe. */
  applyHealth(p: ProcessorId, failing: boolean, minResponseMs: number, now: number): void {
    const s = this.#get(p);
    s.minResponseMs = minResponseMs;
    if (failing) s.failingSince ??= now;
    else if (s.failingSince !== undefined) s.lastProbeAt = 0;
  }

  /** A call's timeout: the configured one, stretched when the processor says it is slow. */
  timeoutMs(p: ProcessorId): number {
    const advertised = this.#get(p).minResponseMs;
    return Math.max(this.settings.processorTimeoutMs, Math.ceil(advertised * 1.2) + 200);
  }

  #probeDue(p: ProcessorId, now: number): boolean {
    const s = this.#get(p);
    return !s.probing && now - s.lastProbeAt >= this.settings.probeIntervalMs;
  }

  #get(p: ProcessorId): ProcessorState {
    return this.#state.get(p)!;
  }
}
