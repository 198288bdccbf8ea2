// Opens the postgres.js pool. A DATABASE_URL may name a unix socket directory the libpq way
// (`?host=/run/postgresql`), which postgres.js does not parse itself.
import postgres from "postgres";

export type Sql = postgres.Sql;

export interface ConnectOptions {
  max?: number;
  applicationName?: string;
  synchronousCommit?: "on" | "off";
}

export function connect(databaseUrl: string, options: ConnectOptions = {}): Sql {
  const url = new URL(databaseUrl);
  const socketDir = url.searchParams.get("host");
  url.searchParams.delete("host");
  const port = url.port || "5432";
  return postgres(url.toString(), {
    max: options.max ?? 10,
    path: socketDir?.startsWith("/") ? `${socketDir}/.s.PGSQL.${port}` : undefined,
    // Fail over to a 503 quickly when Postgres is down instead of holding requests.
    connect_timeout: 5,
    // postgres.js waits up to 20 s between reconnect attempts by default, and every query
    // waits with it: after a Postgres restart, retry within half a second instead (measured in
    // tests/chaos/postgres_restart_test.ts: first 202 ~18 s after the restart with the default).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
    idle_timeout: 0,
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? "rinha",
      synchronous_commit: options.synchronousCommit ?? "on",
    },
  });
}

/**
 * Opens every connection of the pool now: postgres.js opens a new connection for a query that
 * finds none idle (up to its max), so `max` queries at once open `max` of them.
 */
export async function openConnections(sql: Sql): Promise<void> {
  await Promise.all(Array.from({ length: sql.options.max }, () => sql`select 1`));
}
