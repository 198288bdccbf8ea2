// Each test file gets a database of its own on the server DATABASE_URL names (the
// project-local cluster under `deno task test`), and drops it at the end. Databases are cloned
// from one migrated template (CREATE DATABASE … TEMPLATE), which is a file copy, instead of
// running every migration again for each of them.
//
// The template is named after a hash of the migrations (sql/*.sql), so a changed migration
// gets a new template and the old one is dropped. Test files run in parallel processes: an
// advisory lock on the server makes them take turns, exclusively to build or drop a template,
// shared to clone one (so a template never disappears under a clone). A template is built under
// a temporary name and renamed only once fully migrated: an interrupted build leaves nothing a
// later run would take for a template.
import { connect, type Sql } from "../../src/db/connect.ts";
import { migrate, readMigrations } from "../../src/db/migrate.ts";
import type { Defer } from "./suite.ts";

export interface TestDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

export function serverUrl(): string {
  const url = Deno.env.get("DATABASE_URL");
  if (!url) throw new Error("DATABASE_URL is not set: run the tests with `deno task test`");
  return url;
}

// Any constant unique to this project's tests (the service's migration lock is another one).
const templateLockKey = 7_2025_0042;
const templatePrefix = "test_template_";

function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** `test_template_<12 hex digits of the migrations' SHA-256>`. */
async function templateName(): Promise<string> {
  const text = readMigrations().map((m) => `${m.name}\n${m.text}\n`).join("");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return templatePrefix + hex.slice(0, 12);
}

async function databaseExists(admin: Sql, name: string): Promise<boolean> {
  const rows = await admin`select 1 from pg_database where datname = ${name}`;
  return rows.length > 0;
}

/** Builds the template `name` unless it exists; drops templates of other migrations. */
async function buildTemplate(admin: Sql, server: string, name: string): Promise<void> {
  if (await databaseExists(admin, name)) return;
  const stale = await admin<{ datname: string }[]>`
    select datname from pg_database
    where starts_with(datname, ${templatePrefix}) and datname <> ${name}`;
  for (const { datname } of stale) {
    await admin.unsafe(`alter database ${datname} is_template false`);
    await admin.unsafe(`drop database ${datname} with (force)`);
  }
  const building = `${name}_building`;
  await admin.unsafe(`drop database if exists ${building} with (force)`);
  await admin.unsafe(`create database ${building}`);
  const sql = connect(databaseUrl(server, building), { max: 1 });
  try {
    await migrate(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
  await admin.unsafe(`alter database ${building} rename to ${name}`);
  // DROP DATABASE refuses a template: only a rebuild for other migrations (above) removes it.
  await admin.unsafe(`alter database ${name} is_template true`);
}

/** Creates `name` as a clone of the current migrated template, building that first if needed. */
async function cloneTemplate(server: string, name: string): Promise<void> {
  const template = await templateName();
  // One connection: advisory locks belong to the session that took them.
  const admin = connect(server, { max: 1 });
  try {
    for (;;) {
      await admin`select pg_advisory_lock_shared(${templateLockKey})`;
      try {
        if (await databaseExists(admin, template)) {
          await admin.unsafe(`create database ${name} template ${template}`);
          return;
        }
      } finally {
        await admin`select pg_advisory_unlock_shared(${templateLockKey})`;
      }
      await admin`select pg_advisory_lock(${templateLockKey})`;
      try {
        await buildTemplate(admin, server, template);
      } finally {
        await admin`select pg_advisory_unlock(${templateLockKey})`;
      }
    }
  } finally {
    await admin.end();
  }
}

/** A fresh, migrated database on `server` (default: DATABASE_URL's); `drop()` removes it. */
export async function createTestDatabase(
  label: string,
  server: string = serverUrl(),
): Promise<TestDatabase> {
  const name = `test_${label}_${crypto.randomUUID().slice(0, 8)}`.replace(/[^a-z0-9_]/g, "_");
  await cloneTemplate(server, name);
  const url = databaseUrl(server, name);
  const sql = connect(url, { max: 4 });
  return {
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const admin = connect(server, { max: 1 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** A database of its own for one test, dropped afterwards whatever the test did. */
export async function withTestDatabase<T>(
  label: string,
  fn: (db: TestDatabase) => Promise<T>,
): Promise<T> {
  const db = await createTestDatabase(label);
  try {
    return await fn(db);
  } finally {
    await db.drop();
  }
}

/** For a suite (suite.ts): a database of its own, dropped after the suite's last test. */
export async function openTestDatabase(defer: Defer, label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  defer(() => db.drop());
  return db;
}
