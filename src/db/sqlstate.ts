// SQLSTATE codes we act on (PostgreSQL Appendix A), named so that a reader need not know them.
export const SqlState = {
  uniqueViolation: "23505",
  adminShutdown: "57P01",
  crashShutdown: "57P02",
  cannotConnectNow: "57P03",
  connectionExceptionClass: "08",
} as const;

/** postgres.js's own codes for failures that happen below SQL. */
const driverConnectionCodes = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOENT",
  "EPIPE",
]);

/** True when an error means "the database is unreachable", not "the query is wrong". */
export function isUnavailableError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return false;
  return driverConnectionCodes.has(code) ||
    code.startsWith(SqlState.connectionExceptionClass) ||
    code === SqlState.adminShutdown ||
    code === SqlState.crashShutdown ||
    code === SqlState.cannotConnectNow;
}
