// The console in a real browser: Debian's chromium (installed with apt when missing, as root),
// driven by playwright-core, never a downloaded browser build. A known workload runs through
// two real instance processes, then outages of both processors leave payments pending; the
// page must show what the database holds, draw the flow, find a payment by id and by click,
// and the test takes a screenshot (.data/console.png; with UPDATE_SCREENSHOT=1 also
// docs/console.png, the one the README shows). Loopback only: any other request the page makes
// is refused and fails the test.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { dataDir, projectRoot } from "../tools/local/project_paths.ts";
import { ensureChromium } from "../tools/local/system_packages.ts";
import { type InstanceProcess, spawnInstance } from "./support/instances.ts";
import { PaymentLog, sendPayment } from "./support/traffic.ts";
import { waitUntil } from "./support/wait.ts";
import { createTestDatabase } from "./support/db.ts";
import { configure, instanceEnv, processorSummary, startProcessors } from "./support/stack.ts";

const adminToken = "console-test-token";
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

interface DbCounts {
  queued: number;
  inFlight: number;
  retrying: number;
  pinned: number;
  total: number;
  settled: Record<string, { count: number; cents: number }>;
}

/** The figures the page must show, counted straight from the tables. */
async function countInDatabase(sql: Awaited<ReturnType<typeof createTestDatabase>>["sql"]) {
  const rows = await sql<{ state: string; n: number }[]>`
    select case
        when processor is null and attempts = 0 then 'queued'
        when processor is null then 'retrying'
        when lease_owner is not null and visible_at > now() then 'inFlight'
        else 'pinned' end as state,
      count(*)::int as n
    from payment_queue group by 1`;
  const settled = await sql<{ processor: number; n: number; cents: string }[]>`
    select processor, count(*)::int as n, sum(amount_cents) as cents
    from processed_payments group by processor`;
  const counts: DbCounts = {
    queued: 0,
    inFlight: 0,
    retrying: 0,
    pinned: 0,
    total: 0,
    settled: { default: { count: 0, cents: 0 }, fallback: { count: 0, cents: 0 } },
  };
  for (const r of rows) {
    counts[r.state as "queued"] = r.n;
    counts.total += r.n;
  }
  for (const s of settled) {
    counts.settled[s.processor === 1 ? "default" : "fallback"] = {
      count: s.n,
      cents: Number(s.cents),
    };
  }
  return counts;
}

async function pageCounts(page: Page): Promise<DbCounts> {
  const cell = async (key: string) =>
    Number(await page.locator(`[data-count="${key}"]`).textContent());
  const settled: DbCounts["settled"] = {};
  const rows = page.locator("#settled tbody tr");
  for (let i = 0; i < await rows.count(); i++) {
    const cells = await rows.nth(i).locator("td").allTextContents();
    settled[cells[0]] = {
      count: Number(cells[1]),
      cents: Math.round(Number(cells[2].replaceAll(",", "")) * 100),
    };
  }
  return {
    queued: await cell("queued"),
    inFlight: await cell("inFlight"),
    retrying: await cell("retrying"),
    pinned: await cell("pinned"),
    total: await cell("total"),
    settled,
  };
}

Deno.test("the console in Chromium shows the database's figures, the flow, and finds payments", async () => {
  const executablePath = await ensureChromium();
  const db = await createTestDatabase("console_browser");
  const processors = await startProcessors();
  const instances: InstanceProcess[] = [];
  let browser: Browser | undefined;
  try {
    for (const name of ["api1", "api2"]) {
      instances.push(
        await spawnInstance(instanceEnv(db.url, processors, {
          INSTANCE_ID: name,
          ADMIN_TOKEN: adminToken,
          // The outage below: the fallback takes new payments after 2 s, the payments the
          // default failed with a 500 included; once both fail, no probe moves the payments
          // left while the page is read.
          FALLBACK_AFTER_MS: "2000",
          PROBE_INTERVAL_MS: "600000",
        })),
      );
    }
    const urls = instances.map((i) => i.url);
    const log = new PaymentLog();

    // A calm minute's worth in miniature: 200 payments, all settled at the default.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => sendPayment(urls[i % 2], log)),
    );
    await waitUntil("the first 200 settle", async () => {
      const [r] = await db.sql`select count(*)::int as n from processed_payments`;
      return r.n === 200;
    });
    // The outage: the default answers 500. The first 20 payments are sent there and fail
    // (released: the next try is a fresh attempt); once it has failed for FALLBACK_AFTER_MS,
    // they and 40 more go to the fallback.
    await configure(processors.default, 0, true);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => sendPayment(urls[i % 2], log)),
    );
    // Both routers must know before the rest arrive, or one that has not seen a failure yet
    // would send them all to the default too.
    await waitUntil(
      "both instances route away from the default",
      async () => {
        for (const url of urls) {
          const text = await (await fetch(`${url}/metrics`)).text();
          if (!/^processor_healthy\{processor="default"\} 0$/m.test(text)) return false;
        }
        return true;
      },
      60_000,
      100,
    );
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => sendPayment(urls[i % 2], log)),
    );
    await waitUntil("the outage's payments settle at the fallback", async () => {
      const [r] = await db.sql`select count(*)::int as n from processed_payments`;
      return r.n === 260;
    }, 60_000);
    // Then the fallback fails too: 20 more wait, attempted once or not at all.
    await configure(processors.fallback, 0, true);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => sendPayment(urls[i % 2], log)),
    );
    assert.equal(log.acknowledged.size, 280, log.describe());
    // Settled where it could be, the rest waiting with no call in flight.
    await waitUntil(
      "the queue holds only waiting payments",
      async () => {
        const [r] = await db.sql`
        select count(*) filter (where lease_owner is null)::int as waiting,
          count(*)::int as queued,
          (select count(*)::int from processed_payments) as settled
        from payment_queue`;
        return r.queued > 0 && r.waiting === r.queued && r.queued + r.settled === 280;
      },
      60_000,
      100,
    );
    const stableSince = Date.now();

    browser = await chromium.launch({ executablePath, args: chromiumArgs });
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const outside: string[] = [];
    await context.route("**/*", async (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === "127.0.0.1" || host === "localhost") return await route.continue();
      outside.push(route.request().url());
      await route.abort();
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));

    // Without the token the console is closed; with it, the cookie opens the data endpoint.
    const refused = await page.goto(`${urls[0]}/console`);
    assert.equal(refused?.status(), 401);
    const opened = await page.goto(`${urls[0]}/console?token=${adminToken}`);
    assert.equal(opened?.status(), 200);
    await page.waitForFunction(
      (since) => {
        const data = (globalThis as { consoleView?: { data?: { takenAt: string } | null } })
          .consoleView?.data;
        return data != null && Date.parse(data.takenAt) > since;
      },
      stableSince,
      { timeout: 30_000 },
    );

    // The figures: the same as the tables', and as the processors' own books.
    const expected = await countInDatabase(db.sql);
    assert.deepEqual(await pageCounts(page), expected);
    assert.equal(
      expected.total + expected.settled.default.count + expected.settled.fallback.count,
      280,
    );
    assert.equal(expected.total, 20, "the second outage left its payments pending");
    assert.ok(expected.settled.fallback.count > 0, "the fallback took over new payments");
    const books = await processorSummary(processors.default);
    assert.equal(books.totalRequests, expected.settled.default.count);
    assert.equal(Math.round(books.totalAmount * 100), expected.settled.default.cents);

    // The chart: uPlot drew it, and its points add up to every payment accepted and settled.
    assert.ok(await page.locator("#chart canvas").count() > 0, "uPlot drew a canvas");
    await page.waitForFunction(
      (total) => {
        const chart = (globalThis as { consoleView?: { chart?: { data: number[][] } | null } })
          .consoleView?.chart;
        const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
        return chart != null && sum(chart.data[1]) === total;
      },
      280,
      { timeout: 30_000 },
    );
    const chartSums = await page.evaluate(() => {
      const data = (globalThis as unknown as { consoleView: { chart: { data: number[][] } } })
        .consoleView.chart.data;
      return data.map((series) => series.reduce((a, b) => a + b, 0)).slice(1);
    });
    assert.deepEqual(chartSums, [
      280,
      expected.settled.default.count,
      expected.settled.fallback.count,
    ]);

    // The lookup box finds a pending payment and shows its state…
    const [pending] = await db.sql<{ id: string; state: string }[]>`
      select correlation_id as id, case when attempts = 0 then 'queued' else 'retrying' end as state
      from payment_queue order by correlation_id limit 1`;
    await page.fill("#lookup-id", pending.id);
    await page.click("#lookup button");
    await page.waitForSelector(`#lookup-result[data-state="${pending.state}"]`);
    assert.match(await page.textContent("#lookup-result") ?? "", new RegExp(pending.id));
    // …and so does a click on the oldest pending payment.
    const firstRow = page.locator("#pending tbody tr").first();
    const clickedId = await firstRow.getAttribute("data-id");
    assert.ok(clickedId);
    await firstRow.click();
    await page.locator("#lookup-result h2", { hasText: clickedId }).waitFor();
    // A settled one, for the screenshot: what an operator asks most.
    const [settled] = await db.sql<{ id: string }[]>`
      select correlation_id as id from processed_payments order by settled_at desc limit 1`;
    await page.fill("#lookup-id", settled.id);
    await page.click("#lookup button");
    await page.waitForSelector(`#lookup-result[data-state="settled"]`);

    // Every run leaves its screenshot under .data/; UPDATE_SCREENSHOT=1 also replaces the
    // README's (docs/console.png), so a test run does not dirty the work tree by itself.
    const shot = await page.screenshot({ path: join(dataDir, "console.png"), fullPage: true });
    assert.ok(shot.byteLength > 10_000, "a screenshot with something in it");
    if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
      await Deno.writeFile(join(projectRoot, "docs", "console.png"), shot);
    }
    assert.deepEqual(outside, [], "the page reached beyond loopback");
    assert.deepEqual(errors, [], "errors in the page");
  } finally {
    await browser?.close();
    for (const instance of instances) await instance.child.stop();
    await processors.close();
    await db.drop();
  }
});
