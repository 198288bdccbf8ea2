// An instance opens its whole Postgres pool as soon as it has started, so that the first burst
// of requests does not wait for backends to start (src/service.ts, measured in bench/README.md).
import assert from "node:assert/strict";
import { openStack } from "./support/stack.ts";
import { suite } from "./support/suite.ts";
import { waitUntil } from "./support/wait.ts";
import type { TestDatabase } from "./support/db.ts";

let db: TestDatabase;
const test = suite("pool warm-up", async (defer) => {
  ({ db } = await openStack(defer, "pool_warmup", ["warm-a"], { DB_POOL_MAX: "7" }));
});

test("every pooled connection is opened after start, without a request", async () => {
  const open = async () => {
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'warm-a'`;
    return row.n;
  };
  // 7 pooled, plus the LISTEN connection and the one for durable claims.
  await waitUntil("7 connections of warm-a open", async () => (await open()) >= 7, 10_000);
  assert.ok((await open()) >= 7);
});
