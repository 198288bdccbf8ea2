// The routing policy: which processor new attempts go to, and how hard to push it.
// The default processor is cheaper, so it is preferred even while failing: payments wait and
// one probe at a time checks for its recovery. Only after it has failed for fallbackAfterMs
// do new attempts go to the fallback (at full rate while it works, one probe at a time while
// it fails too). Attempts in progress stay with their processor whatever happens; a failing
// processor with pinned attempts is probed with them, so it is noticed when it comes back.
import { DEFAULT, FALLBACK, type ProcessorId } from "./processor_id.ts";
import type { CallOutcome } from "./client.ts";

export interface RouterSettings {
  fallbackAfterMs: number;
  probeIntervalMs: number;
  processorTimeoutMs: number;
}

/** One claim the dispatcher should make now. */
export interface ClaimPlan {
  target: ProcessorId;
  resumable: ProcessorId[];
  /** Whether payments with no attempt in progress may be taken (else only pinned ones). */
  fresh: boolean;
  /** "full": as many rows as free slots allow; "probe": a single payment to test recovery. */
  mode: "full" | "probe";
}

interface ProcessorState {
  failingSince?: number;
  lastProbeAt: number;
  probing: boolean;
  minResponseMs: number;
  /** Learned from probes that timed out (recordProbeTimeout), until the next health report. */
  learnedTimeoutMs: number;
}

/**
 * The longest a timed-out probe may stretch the next ones. The slowest the official test makes a
 * processor is 5 s (spec §4, the fallback from t = 50 s), so 8 s outlasts every stage; beyond
 * that a processor is as good as gone.
 */
const maxLearnedTimeoutMs = 8_000;

export class ProcessorRouter {
  #state = new Map<ProcessorId, ProcessorState>([
    [DEFAULT, { lastProbeAt: 0, probing: false, minResponseMs: 0, learnedTimeoutMs: 0 }],
    [FALLBACK, { lastProbeAt: 0, probing: false, minResponseMs: 0, learnedTimeoutMs: 0 }],
  ]);

  constructor(private readonly settings: RouterSettings) {}

  isHealthy(p: ProcessorId): boolean {
    return this.#get(p).failingSince === undefined;
  }

  /** The claims to make now, in order; empty when everything must wait. */
  plan(now: number): ClaimPlan[] {
    const defaultOk = this.isHealthy(DEFAULT);
    const fallbackOk = this.isHealthy(FALLBACK);
    // New payments go to the fallback only once the default has failed for long enough.
    const fallbackFresh = !defaultOk &&
      now - this.#get(DEFAULT).failingSince! >= this.settings.fallbackAfterMs;
    // The common case in one statement: new work to the default, any pinned attempt resumed.
    if (defaultOk && fallbackOk) {
      return [{ target: DEFAULT, resumable: [DEFAULT, FALLBACK], fresh: true, mode: "full" }];
    }
    const plans: ClaimPlan[] = [];
    for (const [p, fresh] of [[DEFAULT, true], [FALLBACK, fallbackFresh]] as const) {
      // A failing processor gets one probe at a time: a payment pinned to it, or a new one
      // when new ones would go there, whose outcome tells whether it recovered.
      if (this.isHealthy(p)) plans.push({ target: p, resumable: [p], fresh, mode: "full" });
      else if (this.#probeDue(p, now)) {
        plans.push({ target: p, resumable: [p], fresh, mode: "probe" });
      }
    }
    return plans;
  }

  /** Called after each probe claim: the next one waits probeIntervalMs; one runs at a time. */
  startProbe(p: ProcessorId, now: number, tookRow: boolean): void {
    const s = this.#get(p);
    s.probing = tookRow;
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
    s.learnedTimeoutMs = 0; // the report says how slow it is now
    if (failing) s.failingSince ??= now;
    else if (s.failingSince !== undefined) s.lastProbeAt = 0;
  }

  /**
   * A call's timeout: the configured one, stretched when the processor says it is slow; for a
   * probe, also by what earlier probes that timed out taught (recordTimeout).
   */
  timeoutMs(p: ProcessorId, probe = false): number {
    const s = this.#get(p);
    return Math.max(
      this.settings.processorTimeoutMs,
      Math.ceil(s.minResponseMs * 1.2) + 200,
      probe ? s.learnedTimeoutMs : 0,
    );
  }

  /**
   * A probe of `p` timed out after `afterMs`: the next probes wait twice as long, until a health
   * report (at most one per 5 s, spec §3) tells how slow it is. A call that times out leaves
   * its attempt uncertain, pinned to its requestedAt (reschedulePayments); one that waits long
   * enough gets the processor's answer, and a 500 then releases it. `deno task bench`: the
   * probes of the default's 2-s failing stage timed out at 1 s until the next report, leaving
   * 12-13 payments per run resumed at t = 40 s with a requestedAt inside that audit's window;
   * with this rule 2 (bench/README.md, 16:00 UTC). Only probes: they run one at a time, so waiting longer costs
   * nothing, while every call to a healthy processor keeps the configured timeout.
   */
  recordProbeTimeout(p: ProcessorId, afterMs: number): void {
    const s = this.#get(p);
    // Twice the wait that was too short, plus the 200 ms the advertised rule allows the answer
    // for its way back: a processor that takes exactly twice as long still answers in time.
    s.learnedTimeoutMs = Math.min(
      maxLearnedTimeoutMs,
      Math.max(s.learnedTimeoutMs, afterMs * 2 + 200),
    );
  }

  #probeDue(p: ProcessorId, now: number): boolean {
    const s = this.#get(p);
    return !s.probing && now - s.lastProbeAt >= this.settings.probeIntervalMs;
  }

  #get(p: ProcessorId): ProcessorState {
    return this.#state.get(p)!;
  }
}
