// SQL for the shared processor health view (table processor_health).
import type { Sql } from "../db/connect.ts";
import type { ProcessorId } from "./processor_id.ts";

export interface HealthRow {
  processor: ProcessorId;
  failing: boolean;
  minResponseMs: number;
  checkedAt: Date | null;
}

export interface HealthTurn extends HealthRow {
  /** This caller may call the processor's health endpoint now. */
  myTurn: boolean;
}

/**
 * Reads every processor's shared health report and takes the right to call a processor's
 * health endpoint where its turn has come, in one statement: moving next_check_at forward in
 * the same statement that finds it due means that, across all instances, one caller wins per
 * interval. The rows read are as they were before this statement (its update is not visible
 * to its own select), which changes only next_check_at.
 */
export async function readHealthTakingTurns(
  sql: Sql,
  intervalMs: number,
): Promise<HealthTurn[]> {
  const rows = await sql<
    {
      processor: ProcessorId;
      failing: boolean;
      min_response_ms: number;
      checked_at: Date | null;
      my_turn: boolean;
    }[]
  >`
    with turns as (
      update processor_health
      set next_check_at = now() + ${intervalMs} * interval '1 millisecond'
      where next_check_at <= now()
      returning processor
    )
    select h.processor, h.failing, h.min_response_ms, h.checked_at,
      exists (select 1 from turns t where t.processor = h.processor) as my_turn
    from processor_health h
    order by h.processor`;
  return rows.map((r) => ({
    processor: r.processor,
    failing: r.failing,
    minResponseMs: r.min_response_ms,
    checkedAt: r.checked_at,
    myTurn: r.my_turn,
  }));
}

export async function saveHealth(
  sql: Sql,
  processor: ProcessorId,
  failing: boolean,
  minResponseMs: number,
): Promise<Date> {
  const [row] = await sql<{ checked_at: Date }[]>`
    update processor_health
    set failing = ${failing}, min_response_ms = ${minResponseMs}, checked_at = now()
    where processor = ${processor}
    returning checked_at`;
  return row.checked_at;
}
