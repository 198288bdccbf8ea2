// An instance opens its whole Postgres pool before it serves, so that the first burst of
// requests does not wait for backends to start (src/service.ts, measured in bench/README.md).
import assert from "node:assert/strict";
import { openStack } from "./support/stack.ts";
import { suite } from "./support/suite.ts";
import type { TestDatabase } from "./support/db.ts";

let db: TestDatabase;
const test = suite("pool warm-up", async (defer) => {
  ({ db } = await openStack(defer, "pool_warmup", ["warm-a"], { DB_POOL_MAX: "7" }));
});

test("every pooled connection is open once the instance listens", async () => {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name = 'warm-a'`;
  // 7 pooled, plus the LISTEN connection and the one for durable claims.
  assert.ok(row.n >= 7, `${row.n} connections open`);
});
