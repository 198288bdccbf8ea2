// The queue gauges, read at scrape time from the same statement the console and `deno task status`
// use (src/queue/queue_reads.ts readQueueDepth), so "leased" and "oldest pending" have one
// definition. Its cost follows the queue's size: measured on a busy 2-core machine with
// 200,000 payments, 300 queued rows 2 ms, 2,000 rows 10 ms, 20,000 rows 100 ms per scrape.
import type { Sql } from "../db/connect.ts";
import { readQueueDepth } from "../queue/queue_reads.ts";

export interface QueueStats {
  /** Rows no live claim holds: due now, backing off, or left behind by a dead holder. */
  pending: number;
  /** Rows a claim holds right now (an attempt in flight). */
  leased: number;
  /** Since acceptance, of the oldest pending payment; 0 when none is pending. */
  oldestPendingAgeSeconds: number;
}

export async function readQueueStats(sql: Sql): Promise<QueueStats> {
  const depth = await readQueueDepth(sql);
  return {
    pending: depth.total - depth.inFlight,
    leased: depth.inFlight,
    oldestPendingAgeSeconds: depth.oldestPendingAgeSeconds ?? 0,
  };
}
