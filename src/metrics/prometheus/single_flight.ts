// Several gauges filled from one query: the first caller starts the read, callers arriving
// while it runs share it, and the next scrape starts a fresh one.
export function shareInFlight<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () =>
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
}
