// Garbage collections of one API instance during a bench run, read from V8's --trace-gc lines
// (the bench passes the flag; tools/local/stack.ts hands it every line an instance writes).

/** Counts V8's --trace-gc lines of one process: scavenges, full GCs, and their pauses. */
export class GcCounter {
  scavenges = 0;
  fullGcs = 0;
  pauseMs = 0;

  /** A line of the process's output; lines that are not GC traces are ignored. */
  read(line: string): void {
    const m = /: (Scavenge|Minor Mark-Sweep|Mark-Compact|Mark-Sweep)\b.*?, ([\d.]+) \/ [\d.]+ ms/
      .exec(
        line,
      );
    if (!m) return;
    if (m[1] === "Scavenge" || m[1] === "Minor Mark-Sweep") this.scavenges++;
    else this.fullGcs++;
    this.pauseMs += Number(m[2]);
  }

  describe(): string {
    return `${this.scavenges} young-generation GCs, ${this.fullGcs} full GCs, ` +
      `${Math.round(this.pauseMs)} ms paused`;
  }
}
