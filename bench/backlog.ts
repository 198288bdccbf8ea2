// A backlog put straight into the queue, for the drain measurements: one statement, one
// commit, so the whole backlog becomes visible to every instance at once and they compete for
// it as they would for a burst of POSTs. And the wait for the queue to be empty again.
import type { Sql } from "../src/db/connect.ts";
import { countQueue } from "../src/payments/store.ts";

export async function enqueueBacklog(sql: Sql, count: number): Promise<void> {
  await sql`
    with p as (
      insert into payments (correlation_id, amount_cents)
      select gen_random_uuid(), 1990 from generate_series(1, ${count}::int)
      returning correlation_id, amount_cents
    )
    insert into payment_queue (correlation_id, amount_cents)
    select correlation_id, amount_cents from p`;
}

/**
 * Waits until the queue is empty, reading its size every `pollMs`; returns the time it took.
 * Throws after `limitMs`: a queue that does not drain is a finding, not a wait.
 */
export async function waitQueueEmpty(
  sql: Sql,
  options: { limitMs: number; pollMs: number },
): Promise<number> {
  const start = performance.now();
  while ((await countQueue(sql)) > 0) {
    const waited = performance.now() - start;
    if (waited > options.limitMs) {
      throw new Error(`queue not empty after ${Math.round(waited / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
  return performance.now() - start;
}
