// The console's server side over real HTTP and a seeded database: the data endpoint's figures,
// one Postgres read per interval shared by every viewer, the token, and the served files
// (uPlot's straight from the installed npm package).
import assert from "node:assert/strict";
import type { Sql } from "../src/db/connect.ts";
import { createConsoleHandler } from "../src/console/console_routes.ts";
import type { Snapshot } from "../src/console/console_feed.ts";
import { ConsoleFeed, defaultFeedOptions } from "../src/console/console_feed.ts";
import { rollUpSettled } from "../src/payments/summary_rollups.ts";
import { purgePayments } from "../src/payments/summary_store.ts";
import { formatCents } from "../src/money.ts";
import { openTestDatabase, type TestDatabase } from "./support/db.ts";
import { suite } from "./support/suite.ts";

let db: TestDatabase;

async function seedQueued(
  sql: Sql,
  row: {
    acceptedAgo: number;
    visibleIn: number;
    owner?: string;
    processor?: 1 | 2;
    attempts?: number;
    outcome?: string;
    uncertain?: boolean;
  },
): Promise<string> {
  const id = crypto.randomUUID();
  await sql`
    insert into payments (correlation_id, amount_cents, received_at)
    values (${id}, 1990, now() - ${row.acceptedAgo} * interval '1 second')`;
  await sql`
    insert into payment_queue (correlation_id, amount_cents, visible_at, lease_owner, attempts,
      processor, requested_at, last_outcome, attempt_uncertain)
    values (${id}, 1990, now() + ${row.visibleIn} * interval '1 second', ${row.owner ?? null},
      ${row.attempts ?? 0}, ${row.processor ?? null},
      ${row.processor ? sql`now() - interval '1 second'` : null}, ${row.outcome ?? null},
      ${row.uncertain ?? false})`;
  return id;
}

async function seedSettled(sql: Sql, processor: 1 | 2, cents: number, agoSeconds: number) {
  const id = crypto.randomUUID();
  await sql`insert into payments (correlation_id, amount_cents, received_at)
    values (${id}, ${cents}, now() - ${agoSeconds} * interval '1 second')`;
  await sql`
    insert into processed_payments (correlation_id, processor, amount_cents, requested_at,
      settled_at)
    values (${id}, ${processor}, ${cents}, now() - ${agoSeconds} * interval '1 second',
      now() - ${agoSeconds} * interval '1 second')`;
}

let oldestId = "";
const test = suite("console", async (defer) => {
  db = await openTestDatabase(defer, "console");
  const sql = db.sql;
  for (const acceptedAgo of [5, 6]) await seedQueued(sql, { acceptedAgo, visibleIn: -1 });
  await seedQueued(sql, { acceptedAgo: 30, visibleIn: 20, processor: 1, owner: "api1" });
  // Retrying: its last attempt got a 500 and was released (no processor, no requestedAt).
  await seedQueued(sql, { acceptedAgo: 40, visibleIn: 5, attempts: 2, outcome: "500" });
  await seedQueued(sql, {
    acceptedAgo: 50,
    visibleIn: 5,
    processor: 1,
    attempts: 1,
    outcome: "timeout",
    uncertain: true,
  });
  oldestId = await seedQueued(sql, { acceptedAgo: 90, visibleIn: -3, processor: 2, owner: "x" });
  for (let i = 0; i < 3; i++) await seedSettled(sql, 1, 1000, 20 + i);
  await seedSettled(sql, 2, 12345, 30);
});

async function withConsole(
  adminToken: string | undefined,
  fn: (baseUrl: string, handler: ReturnType<typeof createConsoleHandler>) => Promise<void>,
) {
  const handler = createConsoleHandler({ sql: db.sql, adminToken, feed: { maxAgeMs: 60_000 } });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      try {
        return await handler(req, new URL(req.url));
      } catch (err) {
        const status = (err as { status?: number }).status ?? 500;
        return Response.json({ error: (err as Error).message }, { status });
      }
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, handler);
  } finally {
    await server.shutdown();
  }
}

test("the data endpoint counts each state, settlements with fees, health and the oldest", async () => {
  await withConsole(undefined, async (url) => {
    const res = await fetch(`${url}/console/data`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const data: Snapshot = await res.json();
    const { oldestPendingAgeSeconds, ...queue } = data.queue;
    assert.deepEqual(queue, { queued: 2, inFlight: 1, retrying: 1, pinned: 2, total: 6 });
    assert.ok(oldestPendingAgeSeconds! >= 89 && oldestPendingAgeSeconds! < 120);
    assert.deepEqual(data.settled, [
      { processor: "default", count: 3, amount: "30", fee: "1.5", lastMinuteCount: 3 },
      { processor: "fallback", count: 1, amount: "123.45", fee: "18.52", lastMinuteCount: 1 },
    ]);
    assert.equal(data.attempts.max, 2);
    assert.deepEqual(data.health.map((h) => h.processor), ["default", "fallback"]);
    // Oldest first, each with the state GET /payments/{id} would give it.
    assert.equal(data.pending[0].correlationId, oldestId);
    assert.deepEqual(
      data.pending.map((p) => [p.state, p.lastOutcome]),
      [
        ["pinned", null],
        ["pinned", "timeout"],
        ["retrying", "500"],
        ["in_flight", null],
        ["queued", null],
        ["queued", null],
      ],
    );
    // Per-second history over the window: every seeded payment is in its second.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.equal(sum(data.chart.accepted), 10);
    assert.equal(sum(data.chart.settledDefault), 3);
    assert.equal(sum(data.chart.settledFallback), 1);
    assert.equal(data.chart.seconds.length, 300);
    // The newest attempt is the last seeded row's, stamped at the fallback.
    assert.equal(data.routing.latestProcessor, "fallback");
  });
});

test("viewers share one read per interval: 30 at once, then again, cost one query set", async () => {
  await withConsole(undefined, async (url, handler) => {
    const before = handler.feed.reads;
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => fetch(`${url}/console/data`).then((r) => r.json())),
    );
    assert.equal(handler.feed.reads - before, 1);
    assert.ok(answers.every((a) => a.takenAt === answers[0].takenAt));
    await (await fetch(`${url}/console/data`)).body?.cancel();
    assert.equal(handler.feed.reads - before, 1, "still within the interval: served from cache");
  });
});

test("the flow window is kept between reads: new seconds are added, old ones kept", async () => {
  const handler = createConsoleHandler({ sql: db.sql, feed: { maxAgeMs: 0 } });
  const first = await handler.feed.snapshot();
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const id = crypto.randomUUID();
  await db.sql`insert into payments (correlation_id, amount_cents, received_at)
    values (${id}, 500, now() - interval '2 seconds')`;
  const second = await handler.feed.snapshot();
  assert.equal(sum(second.chart.accepted), sum(first.chart.accepted) + 1);
  await db.sql`delete from payments where correlation_id = ${id}`;
});

test("with ADMIN_TOKEN: 401 without it; header, ?token= (sets a cookie) and cookie work", async () => {
  await withConsole("s3cret", async (url) => {
    for (const path of ["/console", "/console/data", "/console/uplot.js"]) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 401, path);
      await res.body?.cancel();
    }
    const wrong = await fetch(`${url}/console/data`, { headers: { "x-admin-token": "s3creT" } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const header = await fetch(`${url}/console/data`, { headers: { "x-admin-token": "s3cret" } });
    assert.equal(header.status, 200);
    await header.body?.cancel();
    const page = await fetch(`${url}/console?token=s3cret`);
    assert.equal(page.status, 200);
    const cookie = page.headers.get("set-cookie")!;
    assert.match(cookie, /^console_token=s3cret; Path=\/console; HttpOnly; SameSite=Strict$/);
    await page.body?.cancel();
    const withCookie = await fetch(`${url}/console/data`, {
      headers: { cookie: cookie.split(";")[0] },
    });
    assert.equal(withCookie.status, 200);
    await withCookie.body?.cancel();
  });
});

test("the page, its files and uPlot from the npm package; 404 and 405 otherwise", async () => {
  await withConsole(undefined, async (url) => {
    const page = await fetch(`${url}/console`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.match(await page.text(), /<script src="\/console\/uplot.js"/);
    const uplot = await fetch(`${url}/console/uplot.js`);
    assert.equal(uplot.status, 200);
    assert.match(uplot.headers.get("content-type")!, /^text\/javascript/);
    assert.match(await uplot.text(), /uPlot/);
    const css = await fetch(`${url}/console/uplot.css`);
    assert.match(await css.text(), /\.uplot/);
    const missing = await fetch(`${url}/console/nope.js`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const post = await fetch(`${url}/console/data`, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });
});

test("settled totals are exact before and after the rollup job, and start again after a purge", async () => {
  const feed = new ConsoleFeed(db.sql, { ...defaultFeedOptions, maxAgeMs: 0 });
  const exact = async () => {
    const rows = await db.sql<{ processor: 1 | 2; n: number; cents: string }[]>`
      select processor, count(*)::int as n, sum(amount_cents)::text as cents
      from processed_payments group by processor`;
    const byId = new Map(rows.map((r) => [r.processor, r]));
    return ([1, 2] as const).map((p) => ({
      count: byId.get(p)?.n ?? 0,
      amount: formatCents(BigInt(byId.get(p)?.cents ?? 0)),
    }));
  };
  const shown = async () => {
    const data = await feed.snapshot();
    return data.settled.map((s) => ({ count: s.count, amount: s.amount }));
  };
  assert.deepEqual(await shown(), await exact());
  // Settled just now: read raw (above the watermark) first, then from the rollups.
  await seedSettled(db.sql, 1, 777, 0);
  await seedSettled(db.sql, 2, 50, 0);
  assert.deepEqual(await shown(), await exact());
  assert.ok((await rollUpSettled(db.sql)) !== undefined);
  assert.deepEqual(await shown(), await exact());
  await seedSettled(db.sql, 1, 5, 100);
  assert.deepEqual(await shown(), await exact());
  // A purge truncates the ledger and its rollups: the totals start again from zero.
  await purgePayments(db.sql);
  assert.deepEqual(await shown(), [{ count: 0, amount: "0" }, {
    count: 0,
    amount: "0",
  }]);
});
