// Statements the stack sent during a run, from pg_stat_statements (loaded by the project-local
// cluster: tools/local/embedded_postgres.ts): how many per payment, and which ones. Each
// statement the service sends is one round trip (postgres.js pipelines only what is issued
// together on one connection, which our code does not do on the hot path).
import { connect } from "../src/db/connect.ts";

export interface StatementRow {
  calls: number;
  meanMs: number;
  query: string;
}

export interface StatementCount {
  /** Every statement of the run in the bench database, the bench's own sampling excepted. */
  total: number;
  /** Their execution time summed (pg_stat_statements' total_exec_time), ms: set beside the
   * backends' CPU, what a round trip costs Postgres apart from executing the statement. */
  execMs: number;
  top: StatementRow[];
  /** WAL written during the run by the whole cluster (pg_stat_wal): records, full-page
   * images, bytes, and how often it was flushed to disk (each flush an fsync). */
  wal?: { records: number; fpi: number; bytes: number; syncs: number };
}

/** Resets the counters now; stop() reads them. Undefined where the module is not loaded. */
export async function startStatementCount(databaseUrl: string) {
  const sql = connect(databaseUrl, { max: 1, applicationName: "bench-statements" });
  try {
    await sql`create extension if not exists pg_stat_statements`;
    await sql`select pg_stat_statements_reset()`;
  } catch (err) {
    await sql.end();
    console.error(
      `[bench] no statement counts (${(err as Error).message}); a cluster started before ` +
        "pg_stat_statements was configured needs a restart: deno task pg:stop",
    );
    return undefined;
  }
  // Cluster-wide: any other database's writes during the run are counted too. A server where
  // this role may not reset shared statistics still gets the statement counts.
  const walReset = await sql`select pg_stat_reset_shared('wal')`.then(() => true, () => false);
  return {
    async stop(): Promise<StatementCount> {
      try {
        const rows = await sql<
          { calls: string; mean_ms: number; total_ms: number; query: string }[]
        >`
          select s.calls, s.mean_exec_time as mean_ms, s.total_exec_time as total_ms, s.query
          from pg_stat_statements s
          join pg_database d on d.oid = s.dbid and d.datname = current_database()
          where s.query not like '%pg_stat%' and s.query not like '%as n from payment_queue%'
          order by s.calls desc`;
        const all = rows.map((r) => ({
          calls: Number(r.calls),
          meanMs: r.mean_ms,
          query: r.query.replace(/\s+/g, " ").slice(0, 90),
        }));
        const [wal] = walReset
          ? await sql<{ records: string; fpi: string; bytes: string; syncs: string }[]>`
            select wal_records as records, wal_fpi as fpi, wal_bytes as bytes, wal_sync as syncs
            from pg_stat_wal`
          : [];
        return {
          total: all.reduce((n, r) => n + r.calls, 0),
          execMs: rows.reduce((ms, r) => ms + r.total_ms, 0),
          top: all.slice(0, 8),
          wal: wal && {
            records: Number(wal.records),
            fpi: Number(wal.fpi),
            bytes: Number(wal.bytes),
            syncs: Number(wal.syncs),
          },
        };
      } finally {
        await sql.end();
      }
    },
  };
}
