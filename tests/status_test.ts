// `deno task status` and the queue gauges against a database seeded with rows in every state:
// the store's numbers, the rendered figures, and the entry point run as the operator runs it.
import assert from "node:assert/strict";
import type { Sql } from "../src/db/connect.ts";
import { readQueueStats } from "../src/metrics/queue_stats_store.ts";
import { createServiceMetrics } from "../src/metrics/service_metrics.ts";
import { formatAmount, formatDuration, renderStatus } from "../tools/status/render_status.ts";
import { hasPaymentTables, readStatus } from "../tools/status/status_store.ts";
import { openTestDatabase, type TestDatabase } from "./support/db.ts";
import { suite } from "./support/suite.ts";

interface QueueSeed {
  /** Seconds since the payment was accepted. */
  acceptedAgo: number;
  /** Seconds until visible_at (negative: already due). */
  visibleIn: number;
  owner?: string;
  processor?: 1 | 2;
  attempts?: number;
}

async function seedQueued(sql: Sql, row: QueueSeed): Promise<void> {
  const id = crypto.randomUUID();
  await sql`
    insert into payments (correlation_id, amount_cents, received_at)
    values (${id}, 1990, now() - ${row.acceptedAgo} * interval '1 second')`;
  await sql`
    insert into payment_queue
      (correlation_id, amount_cents, visible_at, lease_owner, attempts, processor, requested_at)
    values (${id}, 1990, now() + ${row.visibleIn} * interval '1 second', ${row.owner ?? null},
      ${row.attempts ?? 0}, ${row.processor ?? null},
      ${row.processor ? sql`now() - interval '1 second'` : null})`;
}

async function seedSettled(sql: Sql, processor: 1 | 2, cents: number, ago: number) {
  const id = crypto.randomUUID();
  await sql`insert into payments (correlation_id, amount_cents) values (${id}, ${cents})`;
  await sql`
    insert into processed_payments (correlation_id, processor, amount_cents, requested_at)
    values (${id}, ${processor}, ${cents}, now() - ${ago} * interval '1 second')`;
}

async function seed(sql: Sql): Promise<void> {
  // Due now, free to go anywhere: 3 (the oldest accepted 90 s ago).
  for (const acceptedAgo of [90, 5, 5]) await seedQueued(sql, { acceptedAgo, visibleIn: -1 });
  // Backing off after failures that freed them: 2.
  await seedQueued(sql, { acceptedAgo: 30, visibleIn: 60, attempts: 1 });
  await seedQueued(sql, { acceptedAgo: 30, visibleIn: 60, attempts: 3 });
  // Pinned with an unknown outcome: one backing off, one due, and one whose holder died
  // (lease ran out 10 s ago with the owner still set) — the oldest pending, 120 s.
  await seedQueued(sql, { acceptedAgo: 40, visibleIn: 60, processor: 1, attempts: 2 });
  await seedQueued(sql, { acceptedAgo: 40, visibleIn: -1, processor: 1, attempts: 12 });
  await seedQueued(sql, { acceptedAgo: 120, visibleIn: -10, processor: 2, owner: "api-dead" });
  // In flight: 3 held by api1, 1 by api2. Older than everything, but not pending.
  for (let i = 0; i < 3; i++) {
    await seedQueued(sql, { acceptedAgo: 200, visibleIn: 20, processor: 1, owner: "api1" });
  }
  await seedQueued(sql, { acceptedAgo: 200, visibleIn: 25, processor: 1, owner: "api2" });

  await seedSettled(sql, 1, 1000, 10);
  await seedSettled(sql, 1, 2050, 20);
  await seedSettled(sql, 1, 999, 300);
  await seedSettled(sql, 2, 12345, 30);

  await sql`
    update processor_health set failing = false, min_response_ms = 5,
      checked_at = now() - interval '3 seconds'
    where processor = 1`;
  await sql`update processor_health set failing = true, min_response_ms = 120 where processor = 2`;
}

const escape = "\x1b";

function near(actual: number | null, expected: number, slack = 10): void {
  assert.ok(
    actual !== null && actual >= expected - 1 && actual <= expected + slack,
    `${actual} not near ${expected}`,
  );
}

let db: TestDatabase;
const test = suite("status", async (defer) => {
  db = await openTestDatabase(defer, "status");
  await seed(db.sql);
});

test("the status store counts every queue state, attempts, settlements, health and leases", async () => {
  assert.equal(await hasPaymentTables(db.sql), true);
  const status = await readStatus(db.sql);
  const { oldestPendingAgeSeconds, ...queue } = status.queue;
  assert.deepEqual(queue, {
    dueNow: 3,
    backingOff: 2,
    pinned: 3,
    pinnedDueNow: 2,
    inFlight: 4,
    total: 12,
  });
  near(oldestPendingAgeSeconds, 120);
  assert.deepEqual(status.attempts, {
    buckets: [
      { attempts: "0", rows: 8 },
      { attempts: "1", rows: 1 },
      { attempts: "2-4", rows: 2 },
      { attempts: "5-9", rows: 0 },
      { attempts: "10+", rows: 1 },
    ],
    max: 12,
  });
  assert.deepEqual(status.settled, [
    { processor: 1, count: 3, cents: 4049n, lastMinuteCount: 2, lastMinuteCents: 3050n },
    { processor: 2, count: 1, cents: 12345n, lastMinuteCount: 1, lastMinuteCents: 12345n },
  ]);
  assert.equal(status.health.length, 2);
  assert.deepEqual(
    { ...status.health[0], checkedAgoSeconds: undefined },
    { processor: 1, failing: false, minResponseMs: 5, checkedAgoSeconds: undefined },
  );
  near(status.health[0].checkedAgoSeconds, 3);
  assert.deepEqual(status.health[1], {
    processor: 2,
    failing: true,
    minResponseMs: 120,
    checkedAgoSeconds: null,
  });
  assert.deepEqual(
    status.leases.map(({ owner, held, expired }) => ({ owner, held, expired })),
    [
      { owner: "api-dead", held: 0, expired: 1 },
      { owner: "api1", held: 3, expired: 0 },
      { owner: "api2", held: 1, expired: 0 },
    ],
  );
  near(-status.leases[0].latestEndInSeconds, 10);
  const api2End = status.leases[2].latestEndInSeconds;
  assert.ok(api2End > 15 && api2End <= 25, `api2's lease ends in ${api2End} s`);
});

test("the rendered status shows the exact figures, aligned, without color unless asked", async () => {
  const status = await readStatus(db.sql);
  const text = renderStatus(status, { color: false });
  assert.ok(!text.includes(escape), "no escape codes");
  for (
    const line of [
      /^ {2}due now\s+3$/m,
      /^ {2}backing off before a retry\s+2$/m,
      /^ {2}pinned, outcome unknown \(2 due now\)\s+3$/m,
      /^ {2}in flight \(leased\)\s+4$/m,
      /^ {2}total\s+12$/m,
      /^ {2}2-4\s+2$/m,
      /^ {2}10\+\s+1$/m,
      /^ {2}max\s+12$/m,
      /^ {2}default\s+3\s+40\.49\s+2\s+30\.50$/m,
      /^ {2}fallback\s+1\s+123\.45\s+1\s+123\.45$/m,
      /^ {2}total\s+4\s+163\.94\s+3\s+153\.95$/m,
      /^ {2}default\s+no\s+5 ms\s+\d+\.\d s ago$/m,
      /^ {2}fallback\s+yes\s+120 ms\s+never$/m,
      /^ {2}api-dead\s+0\s+1\s+\d+\.\d s ago$/m,
      /^ {2}api1\s+3\s+0\s+in \d+\.\d s$/m,
    ]
  ) assert.match(text, line);
  assert.ok(text.includes(formatDuration(status.queue.oldestPendingAgeSeconds!)));
  // Columns line up: every line of the settled table has the same length.
  const settled = text.split("Settled")[1].split("\n\n")[0].split("\n").slice(1);
  assert.equal(settled.length, 4);
  assert.equal(new Set(settled.map((l) => l.length)).size, 1, settled.join("\n"));
  const colored = renderStatus(status, { color: true });
  assert.ok(colored.includes(`${escape}[31myes    ${escape}[0m`), colored);
});

test("amounts and durations are formatted for people", () => {
  assert.equal(formatAmount(0n), "0.00");
  assert.equal(formatAmount(5n), "0.05");
  assert.equal(formatAmount(4049n), "40.49");
  assert.equal(formatAmount(-1990n), "-19.90");
  assert.equal(formatDuration(4.24), "4.2 s");
  assert.equal(formatDuration(185), "3m 05s");
  assert.equal(formatDuration(7620), "2h 07m");
});

test("the queue gauges read pending and leased rows from Postgres at scrape time", async () => {
  const stats = await readQueueStats(db.sql);
  assert.equal(stats.pending, 8);
  assert.equal(stats.leased, 4);
  near(stats.oldestPendingAgeSeconds, 120);
  const metrics = createServiceMetrics({ sql: db.sql, applicationName: "rinha" });
  const text = await metrics.registry.render();
  assert.match(text, /^queue_pending 8$/m);
  assert.match(text, /^queue_leased 4$/m);
  assert.match(text, /^queue_oldest_pending_age_seconds 1[2-3]\d\.?\d*$/m);
  assert.match(text, /^db_pool_connections\{state="active"\} [1-9]$/m);
  assert.match(text, /^db_pool_connections\{state="idle in transaction"\} 0$/m);
});

test("`deno task status` prints the view for DATABASE_URL and exits 0", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../tools/status/main.ts", import.meta.url).pathname],
    env: { DATABASE_URL: db.url, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /^ {2}total\s+4\s+163\.94\s+3\s+153\.95$/m);
  assert.match(text, /^ {2}in flight \(leased\)\s+4$/m);
  assert.ok(!text.includes(escape), "no escape codes");
});
