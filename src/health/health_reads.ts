// Read-only view of the shared processor health (table processor_health) as any instance last
// recorded it; the console and `deno task status` show it. The statements that take turns and
// write it are the health poller's (src/processors/health_store.ts).
import type postgres from "postgres";
import type { ProcessorId } from "../processors/processor_id.ts";

/** A pool or a transaction: anything that runs a tagged-template query. */
type Queryable = postgres.ISql;

export interface HealthRecord {
  processor: ProcessorId;
  failing: boolean;
  minResponseMs: number;
  /** Seconds since the last health check by any instance; null if never checked. */
  checkedAgoSeconds: number | null;
}

export async function readHealthRecords(sql: Queryable): Promise<HealthRecord[]> {
  const rows = await sql<
    { processor: ProcessorId; failing: boolean; min_response_ms: number; ago: string | null }[]
  >`
    select processor, failing, min_response_ms, extract(epoch from now() - checked_at) as ago
    from processor_health
    order by processor`;
  return rows.map((r) => ({
    processor: r.processor,
    failing: r.failing,
    minResponseMs: r.min_response_ms,
    checkedAgoSeconds: r.ago === null ? null : Number(r.ago),
  }));
}
