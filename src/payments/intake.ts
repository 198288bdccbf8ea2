// Accepting payments: concurrent requests are merged into one INSERT (one commit) per batch,
// and each request learns whether its payment is new, a harmless repeat, or a conflict.
// New payments the worker can call at once are inserted already claimed and handed to it in
// memory: no claim statement, no NOTIFY, no wake-up for them (see Dispatcher.reserve).
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log.ts";
import { Batcher } from "../batcher.ts";
import {
  awaitDurable,
  findAmounts,
  type InsertClaim,
  insertPayments,
  type NewPayment,
} from "./store.ts";

/**
 * "expired": not stored, because its deadline passed while it waited for a flush.
 * "unconfirmed": the INSERT reported it neither new nor already there, which Postgres cannot
 * do; seen only when a driver handed a dead connection's query an empty result (see
 * vendor/postgres/PATCHED.md). Answered like "expired": retrying is safe, as it is idempotent.
 */
export type IntakeResult = "created" | "repeat" | "conflict" | "expired" | "unconfirmed";

/** Slots the worker holds for payments being inserted already claimed (Dispatcher.reserve). */
export interface Reservation {
  slots: number;
  claim: InsertClaim;
}

/** The worker's side of the hand-off (implemented by Dispatcher). */
export interface HandOffTarget {
  reserve(wanted: number): Reservation | undefined;
  handOff(reservation: Reservation, rows: NewPayment[]): void;
}

export interface IntakeOptions {
  sql: Sql;
  /** New payments left in the queue for a claim (none handed off, or not all). */
  onEnqueued: () => void;
  /** INSERT statements in flight at once (INTAKE_MAX_FLUSHES): fewer means larger batches
   * (fewer commits), more means less waiting behind a slow one. Default 1. */
  maxFlushes?: number;
  /** Where new payments go without a claim; without it, every payment waits for a claim. */
  worker?: HandOffTarget;
  /** How a hand-off waits for its insert to be on disk before the call: a processor must
   * never see a payment a Postgres crash could make us forget. Absent when `sql` commits
   * durably already (SYNCHRONOUS_COMMIT=on). */
  durableSql?: Sql;
  /** How long a hand-off waits for others to share its durability round trip
   * (CLAIM_COALESCE_MS: the wait a claim of new payments had before). Default 0. */
  durableLingerMs?: number;
  log?: Logger;
}

const intakeBatchMax = 1_000;

interface Pending {
  payment: NewPayment;
  /** Epoch ms after which the client has given up: storing it then would count a payment
   * the client believes failed (a negative lag in the challenge's audit). */
  deadline: number;
}

export class Intake {
  readonly #batcher: Batcher<Pending, IntakeResult>;
  /** Hand-offs waiting for one shared durability round trip (SYNCHRONOUS_COMMIT=off). */
  readonly #durable?: Batcher<null, null>;
  readonly #options: IntakeOptions;

  constructor(options: IntakeOptions) {
    this.#options = options;
    const { durableSql } = options;
    if (durableSql) {
      this.#durable = new Batcher(async (items) => {
        await awaitDurable(durableSql);
        return items.map(() => null);
      }, {
        maxConcurrent: 1,
        maxBatch: Number.MAX_SAFE_INTEGER,
        lingerMs: options.durableLingerMs,
      });
    }
    this.#batcher = new Batcher(
      (batch) => this.#flush(batch),
      { maxConcurrent: options.maxFlushes ?? 1, maxBatch: intakeBatchMax },
    );
  }

  accept(payment: NewPayment, deadline = Number.POSITIVE_INFINITY): Promise<IntakeResult> {
    return this.#batcher.submit({ payment, deadline });
  }

  drained(): Promise<void> {
    return Promise.all([this.#batcher.drained(), this.#durable?.drained()]).then(() => {});
  }

  async #flush(batch: Pending[]): Promise<IntakeResult[]> {
    const now = Date.now();
    const live = batch.filter((p) => p.deadline > now);
    const { worker, sql } = this.#options;
    const reservation = live.length ? worker?.reserve(live.length) : undefined;
    let stored: IntakeResult[] = [];
    let handed: NewPayment[] = [];
    try {
      if (live.length) {
        ({ stored, handed } = await storeBatch(sql, live.map((p) => p.payment), reservation));
      }
    } catch (err) {
      if (reservation) worker!.handOff(reservation, []);
      throw err;
    }
    if (reservation) this.#handOff(reservation, handed);
    if (stored.filter((r) => r === "created").length > handed.length) this.#options.onEnqueued();
    let i = 0;
    return batch.map((p) => p.deadline > now ? stored[i++] : "expired");
  }

  /** Off the acknowledgement's path: the client's answer does not wait for the disk. */
  async #handOff(reservation: Reservation, rows: NewPayment[]): Promise<void> {
    const worker = this.#options.worker!;
    try {
      if (rows.length && this.#durable) await this.#durable.submit(null);
      worker.handOff(reservation, rows);
    } catch (err) {
      // Leased but not called: the lease ends and a claim takes them like any other.
      worker.handOff(reservation, []);
      this.#options.log?.warn("hand_off_failed", { payments: rows.length, err });
    }
  }
}

async function storeBatch(
  sql: Sql,
  batch: NewPayment[],
  reservation?: Reservation,
): Promise<{ stored: IntakeResult[]; handed: NewPayment[] }> {
  // The first occurrence of an id in the batch speaks for it; later ones are judged against it.
  const first = new Map<string, NewPayment>();
  for (const p of batch) if (!first.has(p.correlationId)) first.set(p.correlationId, p);
  const unique = [...first.values()];
  const slots = reservation?.slots ?? 0;
  const created = await insertPayments(
    sql,
    unique,
    reservation && { ...reservation.claim, count: slots },
  );
  const handed = unique.slice(0, slots).filter((p) => created.has(p.correlationId));
  const existing = [...first.keys()].filter((id) => !created.has(id));
  const stored = existing.length ? await findAmounts(sql, existing) : new Map<string, bigint>();
  const claimed = new Set<string>();
  const results = batch.map((p): IntakeResult => {
    const id = p.correlationId;
    if (created.has(id) && !claimed.has(id)) {
      claimed.add(id);
      return "created";
    }
    const amount = created.has(id) ? first.get(id)!.amountCents : stored.get(id);
    if (amount === undefined) return "unconfirmed";
    return amount === p.amountCents ? "repeat" : "conflict";
  });
  return { stored: results, handed };
}
