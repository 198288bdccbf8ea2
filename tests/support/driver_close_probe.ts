// Run as a process of its own by tests/driver_crash_test.ts, because what it provokes in an
// unpatched postgres.js ends the process (vendor/postgres/PATCHED.md). Transactions (reserved
// connections) pipeline small statements while another connection terminates their backends
// over and over, so connections die with a write deferred and while they start up (the array
// types query). Prints one JSON line; a crash prints nothing and exits non-zero.
import { connect } from "../../src/db/connect.ts";

const url = Deno.env.get("DATABASE_URL")!;
const terminations = Number(Deno.env.get("PROBE_TERMINATIONS") ?? "200");
const name = `driver-probe-${Deno.pid}`;
const sql = connect(url, { max: 4, applicationName: name });
const admin = connect(url, { max: 1, applicationName: `${name}-admin` });

const outcomes: Record<string, number> = {};
const note = (key: string) => outcomes[key] = (outcomes[key] ?? 0) + 1;
let stopping = false;
const workers = Array.from({ length: 8 }, async () => {
  while (!stopping) {
    try {
      await sql.begin(async (tx) => {
        await tx`select 1`;
        await Promise.all([tx`select 2`, tx`select 3`]);
        await tx`select 4`;
      });
      note("committed");
    } catch (err) {
      note(String((err as { code?: string }).code ?? "no code"));
    }
  }
});
let terminated = 0;
for (let i = 0; i < terminations; i++) {
  const [{ n }] = await admin<{ n: number }[]>`
    select count(pg_terminate_backend(pid))::int as n
    from pg_stat_activity where application_name = ${name}`;
  terminated += n;
  // A varying gap lands terminations at every stage: idle, mid-transaction, connecting.
  await new Promise((r) => setTimeout(r, i % 5));
}
stopping = true;
await Promise.all(workers);
// The pool still works: lost connections were replaced, not left unable to write.
const [{ ok }] = await sql<{ ok: number }[]>`select 1 as ok`;
await sql.end({ timeout: 1 });
await admin.end({ timeout: 1 });
console.log(JSON.stringify({ terminated, outcomes, poolWorks: ok === 1 }));
