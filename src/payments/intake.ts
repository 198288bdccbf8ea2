// Accepting payments: concurrent requests are merged into one INSERT (one commit) per batch,
// and each request learns whether its payment is new, a harmless repeat, or a conflict.
import type { Sql } from "../db/connect.ts";
import { Batcher } from "../batcher.ts";
import { findAmounts, insertPayments, type NewPayment } from "./store.ts";

export type IntakeResult = "created" | "repeat" | "conflict";

// Concurrent INSERT statements per instance. Measured with bench/queue_bench.ts: more than a
// few only adds lock and WAL contention on 2 cores.
const intakeFlushes = 4;
const intakeBatchMax = 1_000;

export class Intake {
  readonly #batcher: Batcher<NewPayment, IntakeResult>;

  constructor(sql: Sql, onEnqueued: () => void) {
    this.#batcher = new Batcher(
      async (batch) => {
        const results = await storeBatch(sql, batch);
        if (results.includes("created")) onEnqueued();
        return results;
      },
      intakeFlushes,
      intakeBatchMax,
    );
  }

  accept(payment: NewPayment): Promise<IntakeResult> {
    return this.#batcher.submit(payment);
  }

  drained(): Promise<void> {
    return this.#batcher.drained();
  }
}

async function storeBatch(sql: Sql, batch: NewPayment[]): Promise<IntakeResult[]> {
  // The first occurrence of an id in the batch speaks for it; later ones are judged against it.
  const first = new Map<string, NewPayment>();
  for (const p of batch) if (!first.has(p.correlationId)) first.set(p.correlationId, p);
  const created = await insertPayments(sql, [...first.values()]);
  const existing = [...first.keys()].filter((id) => !created.has(id));
  const stored = existing.length ? await findAmounts(sql, existing) : new Map<string, bigint>();
  const claimed = new Set<string>();
  return batch.map((p) => {
    const id = p.correlationId;
    if (created.has(id) && !claimed.has(id)) {
      claimed.add(id);
      return "created";
    }
    const amount = created.has(id) ? first.get(id)!.amountCents : stored.get(id);
    return amount === p.amountCents ? "repeat" : "conflict";
  });
}
