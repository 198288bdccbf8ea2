// Totals settled per processor, kept up to date without scanning the whole ledger each second.
// processed_payments only grows (rows are never updated or deleted; a purge truncates it), so
// the totals up to a point in settled_at time stay true: they are read once, then moved forward
// by adding the rows settled since (through the BRIN index on settled_at), and each snapshot
// adds the last few seconds on top. A full recount happens when there is no base yet, when the
// table was truncated or rewritten (its file node changed), and every few minutes regardless.
import type postgres from "postgres";
import { processorIds } from "../processors/processor_id.ts";
import { readLedgerNode, readSettledSums, type SettledSums } from "./console_store.ts";

type Queryable = postgres.ISql;

// Rows are counted in the base only once their settled_at is this far behind the database's
// clock: a settle statement commits within milliseconds of its start, which is its settled_at.
const settleLagSeconds = 10;
// The base moves forward once it is this far behind, so the per-snapshot tail stays short.
const advanceSeconds = 10;
// A recount now and then repairs anything the above assumptions ever miss.
const recountEveryMs = 300_000;

interface Base {
  node: string;
  /** Epoch second: the base holds every row settled before it (and those with no settled_at). */
  until: number;
  sums: SettledSums;
  countedAtMs: number;
}

export class LedgerTotals {
  #base?: Base;

  /**
   * The totals as of the transaction's snapshot. The moved base is kept only once `commit` is
   * called, after the transaction succeeded, so a failed read leaves the previous base intact.
   */
  async read(
    tx: Queryable,
    nowSecond: number,
  ): Promise<{ sums: SettledSums; commit: () => void }> {
    const node = await readLedgerNode(tx);
    const target = nowSecond - settleLagSeconds;
    let base = this.#base;
    if (!base || base.node !== node || Date.now() - base.countedAtMs > recountEveryMs) {
      base = {
        node,
        until: target,
        sums: await readSettledSums(tx, { before: target, withUnknownTime: true }),
        countedAtMs: Date.now(),
      };
    } else if (target - base.until >= advanceSeconds) {
      const step = await readSettledSums(tx, { from: base.until, before: target });
      base = { ...base, until: target, sums: addSums(base.sums, step) };
    }
    const tail = await readSettledSums(tx, { from: base.until });
    const moved = base;
    return { sums: addSums(base.sums, tail), commit: () => this.#base = moved };
  }
}

function addSums(a: SettledSums, b: SettledSums): SettledSums {
  const out = {} as SettledSums;
  for (const p of processorIds) {
    out[p] = { count: a[p].count + b[p].count, cents: a[p].cents + b[p].cents };
  }
  return out;
}
