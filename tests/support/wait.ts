// Waiting without sleeping blindly: poll a condition under a hang guard, probe an address.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true; the bound is a hang guard, not a speed requirement. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  guardMs = 60_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + guardMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet (e.g. the database is still coming back)
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting (${guardMs} ms) for: ${what}`);
    await sleep(everyMs);
  }
}

/** Status of GET url, or 0 when nothing answered. */
export async function probe(url: string, timeoutMs = 2_000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}
