// A measuring instrument for bench/floor.ts, not part of the service: the least a Deno process
// can do to acknowledge POST /payments, in four steps, so that the service's CPU per request
// can be read against what the runtime, the driver and one statement cost by themselves.
//
//   FLOOR_MODE=answer      read the JSON body, answer 202 (no database)
//   FLOOR_MODE=select      the same after one postgres.js `select 1`
//   FLOOR_MODE=insert      the same after one postgres.js INSERT into a one-table queue
//   FLOOR_MODE=raw_insert  that INSERT over a bare socket speaking Postgres' simple protocol:
//                          what the driver costs, by difference
//
// PORT (default 8130), DATABASE_URL (a local cluster with trust authentication, as the
// project's is; the bare client does no other authentication).
import { connect } from "../src/db/connect.ts";

const mode = Deno.env.get("FLOOR_MODE") ?? "answer";
const port = Number(Deno.env.get("PORT") ?? 8130);
const databaseUrl = Deno.env.get("DATABASE_URL") ?? "";
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sql = connect(databaseUrl, { max: 1, applicationName: "bench_floor" });
await sql`create table if not exists bench_floor (id uuid primary key, amount_cents int8 not null)`;
const bare = mode === "raw_insert" ? await openBareConnection(databaseUrl) : undefined;

Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  if (req.method !== "POST") return new Response("ready"); // bench/floor.ts waits for it
  const body = JSON.parse(await req.text());
  const id = String(body.correlationId);
  const cents = Math.round(Number(body.amount) * 100);
  if (!uuid.test(id) || !Number.isSafeInteger(cents)) {
    return new Response('{"error":"bad payment"}', { status: 400 });
  }
  if (mode === "select") await sql`select 1`;
  if (mode === "insert") {
    await sql`insert into bench_floor values (${id}::uuid, ${cents}::int8)`;
  }
  // Checked above: a UUID and a safe integer are all this text can hold.
  if (bare) await bare(`insert into bench_floor values ('${id}', ${cents})`);
  return new Response(`{"correlationId":"${id}","status":"accepted"}`, {
    status: 202,
    headers: { "content-type": "application/json" },
  });
});

/**
 * A Postgres connection over Deno.connect that runs one simple-protocol query at a time and
 * waits for ReadyForQuery; an ErrorResponse rejects. Only what the measurement needs.
 */
async function openBareConnection(url: string): Promise<(query: string) => Promise<void>> {
  const u = new URL(url);
  const socketDir = u.searchParams.get("host");
  const conn = socketDir
    ? await Deno.connect({ transport: "unix", path: `${socketDir}/.s.PGSQL.${u.port || 5432}` })
    : await Deno.connect({ hostname: u.hostname, port: Number(u.port || 5432) });
  const encoder = new TextEncoder();
  const message = (type: number | null, payload: Uint8Array, extra = 0) => {
    const head = type === null ? 0 : 1;
    const out = new Uint8Array(head + 4 + extra + payload.length);
    if (type !== null) out[0] = type;
    new DataView(out.buffer).setInt32(head, 4 + extra + payload.length);
    out.set(payload, head + 4 + extra);
    return out;
  };
  const buffer = new Uint8Array(1 << 16);
  // Reads messages until ReadyForQuery ('Z'); remembers an ErrorResponse ('E') on the way.
  const untilReady = async (): Promise<void> => {
    let pending = new Uint8Array(0);
    let failed = false;
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("bare connection closed");
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(buffer.subarray(0, n), pending.length);
      let at = 0;
      while (at + 5 <= joined.length) {
        const length = new DataView(joined.buffer, at + 1, 4).getInt32(0);
        if (at + 1 + length > joined.length) break;
        const type = joined[at];
        if (type === 0x52 && new DataView(joined.buffer, at + 5, 4).getInt32(0) !== 0) {
          throw new Error("bare connection: the server asks for a password");
        }
        if (type === 0x45) failed = true;
        if (type === 0x5a) {
          if (failed) throw new Error("bare connection: the query failed");
          return;
        }
        at += 1 + length;
      }
      pending = joined.slice(at);
    }
  };
  const user = u.username || "postgres";
  const database = u.pathname.slice(1) || user;
  const startup = message(null, encoder.encode(`user\0${user}\0database\0${database}\0\0`), 4);
  new DataView(startup.buffer).setInt32(4, 196608); // protocol 3.0
  const writeAll = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  };
  await writeAll(startup);
  await untilReady();
  let queue: Promise<void> = Promise.resolve();
  return (query: string) => {
    const run = queue.then(async () => {
      await writeAll(message(0x51, encoder.encode(`${query}\0`)));
      await untilReady();
    });
    queue = run.catch(() => {});
    return run;
  };
}
