// SQL for the shared processor health view (table processor_health).
import type { Sql } from "../db/connect.ts";
import type { ProcessorId } from "./processor_id.ts";

export interface HealthRow {
  processor: ProcessorId;
  failing: boolean;
  minResponseMs: number;
  checkedAt: Date | null;
}

/**
 * Takes the right to call a processor's health endpoint now. Moving next_check_at forward
 * in the same statement means that, across all instances, one caller wins per interval.
 */
export async function takeHealthCheckTurn(
  sql: Sql,
  processor: ProcessorId,
  intervalMs: number,
): Promise<boolean> {
  const rows = await sql`
    update processor_health
    set next_check_at = now() + ${intervalMs} * interval '1 millisecond'
    where processor = ${processor} and next_check_at <= now()
    returning processor`;
  return rows.length === 1;
}

export async function saveHealth(
  sql: Sql,
  processor: ProcessorId,
  failing: boolean,
  minResponseMs: number,
): Promise<void> {
  await sql`
    update processor_health
    set failing = ${failing}, min_response_ms = ${minResponseMs}, checked_at = now()
    where processor = ${processor}`;
}

export async function readHealth(sql: Sql): Promise<HealthRow[]> {
  const rows = await sql<
    { processor: ProcessorId; failing: boolean; min_response_ms: number; checked_at: Date | null }[]
  >`select processor, failing, min_response_ms, checked_at from processor_health`;
  return rows.map((r) => ({
    processor: r.processor,
    failing: r.failing,
    minResponseMs: r.min_response_ms,
    checkedAt: r.checked_at,
  }));
}
