// What Postgres' backends of one database were doing during a phase: pg_stat_activity sampled
// every 100 ms on a connection of its own. An active backend with no wait event is running
// (on CPU, or in a wait Postgres does not instrument); anything else names what it waited
// for (LWLock:WALWrite, IO:WALSync, Lock:transactionid…). Averaging the active count gives
// "average active sessions": near the core count means Postgres is busy, near 0 means the
// time per payment is spent elsewhere.
import type { Sql } from "../src/db/connect.ts";

export interface WaitReport {
  samples: number;
  /** Average backends (client + autovacuum) in state active per sample. */
  avgActive: number;
  /** Average backends idle in transaction per sample (a long one pins the xmin horizon). */
  avgIdleInTransaction: number;
  /** Share of active backend-samples per "type:event" ("CPU" = no wait event), %, largest first. */
  shares: Record<string, number>;
}

/** 100 ms: ten samples a second is enough to rank waits over a 15-s phase (≥ 150 samples). */
const defaultIntervalMs = 100;

export function startWaitSampler(sql: Sql, intervalMs = defaultIntervalMs): () => Promise<
  WaitReport
> {
  const counts = new Map<string, number>();
  let samples = 0;
  let active = 0;
  let idleInTx = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const rows = await sql<{ state: string; wait: string; n: number }[]>`
        select state,
               coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait,
               count(*)::int as n
        from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and backend_type in ('client backend', 'autovacuum worker')
          and state in ('active', 'idle in transaction')
        group by 1, 2`;
      samples++;
      for (const r of rows) {
        if (r.state === "active") {
          active += r.n;
          counts.set(r.wait, (counts.get(r.wait) ?? 0) + r.n);
        } else idleInTx += r.n;
      }
      const left = intervalMs - (performance.now() - t0);
      if (left > 0) await new Promise((r) => setTimeout(r, left));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    const shares = Object.fromEntries(
      [...counts.entries()].sort((a, b) => b[1] - a[1]).map((
        [k, n],
      ) => [k, Math.round((1000 * n) / Math.max(1, active)) / 10]),
    );
    return {
      samples,
      avgActive: Math.round((100 * active) / Math.max(1, samples)) / 100,
      avgIdleInTransaction: Math.round((100 * idleInTx) / Math.max(1, samples)) / 100,
      shares,
    };
  };
}

/** The largest shares as one line: "CPU 61 %, LWLock:WALWrite 20 %, …". */
export function describeWaits(report: WaitReport, top = 4): string {
  const entries = Object.entries(report.shares).slice(0, top);
  return `${entries.map(([k, v]) => `${k} ${v} %`).join(", ")} (avg active ${report.avgActive})`;
}
