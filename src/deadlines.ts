// Many deadlines on one timer. In Deno 2.9 every `setTimeout` builds a Node-style `Timeout` (an
// object, an async id, then the timer itself), and a request body's read and a processor call
// each armed and cleared one: the body's alone was ~4 % of an instance's profile while it
// acknowledged at the official peak's rate (bench/README.md, 2026-12-07 03:40 UTC section). Here
// the one timer is armed for the earliest pending deadline and left armed when work ends in
// time: it then fires once, finds nothing due, and is not re-armed, so a busy instance arms about
// one timer per timeout period instead of one per request.

export interface Deadline {
  readonly at: number;
  readonly onExpire: () => void;
}

export class Deadlines {
  readonly #pending = new Set<Deadline>();
  #timer?: ReturnType<typeof setTimeout>;
  #armedFor = Number.POSITIVE_INFINITY;

  /** Calls `onExpire` once `ms` have passed, unless `cancel` is called with the result first. */
  add(ms: number, onExpire: () => void): Deadline {
    // Date.now, a V8 builtin, rather than performance.now, an op call in Deno: a step of the
    // wall clock moves pending deadlines with it, which is rare and safe here (a call cut short
    // is an unknown outcome, handled as any timeout; a body read ends early or late).
    const deadline: Deadline = { at: Date.now() + ms, onExpire };
    this.#pending.add(deadline);
    if (deadline.at < this.#armedFor) this.#arm(deadline.at);
    return deadline;
  }

  cancel(deadline: Deadline): void {
    this.#pending.delete(deadline);
  }

  get pending(): number {
    return this.#pending.size;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    // Like any timer it keeps the process alive, here until the earliest deadline at most.
    this.#timer = setTimeout(this.#sweep, Math.max(0, at - Date.now()));
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const due: Deadline[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const deadline of this.#pending) {
      if (deadline.at <= now) due.push(deadline);
      else if (deadline.at < next) next = deadline.at;
    }
    for (const deadline of due) this.#pending.delete(deadline);
    // Re-armed before the callbacks run, so one that throws cannot strand the others.
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    for (const deadline of due) deadline.onExpire();
  };
}
