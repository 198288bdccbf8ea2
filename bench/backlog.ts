// A backlog put straight into the queue, for the drain measurements: one statement, one
// commit, so the whole backlog becomes visible to every instance at once and they compete for
// it as they would for a burst of POSTs.
import type { Sql } from "../src/db/connect.ts";

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
