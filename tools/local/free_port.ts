// Ports for child processes (API instances, HAProxy, a test's own Postgres) to listen on.
//
// Asking the OS for port 0 and closing the listener hands over a port from Linux's ephemeral
// range (ip_local_port_range, 32768–60999 here), which is also where every outgoing
// connection takes its local port: between our close and the child's bind, any client on
// the machine (a parallel test, the bench's own fetches) may take it, and the child then fails
// with "address in use". That happened in a fresh-clone test run. Outgoing connections never
// use a port below the ephemeral range, so ports are picked there instead: at random among
// 20000–29999 (the project-local clusters sit at 30000–31999, tools/local/embedded_postgres.ts),
// checked by binding, and never handed out twice by one process. Another process picking the
// same port in the short window before our child binds it remains possible, at odds of a few
// in ten thousand per pick.
import { readFileSync } from "node:fs";

const rangeLow = 20_000;
const rangeHigh = 29_999;
const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim()
      .split(/\s+/).map(Number);
    return Number.isInteger(low) ? low : 32_768;
  } catch {
    return 32_768; // not Linux: the IANA range starts at 49152, so this is below it too
  }
}

const highest = Math.min(rangeHigh, ephemeralLow() - 1);

/** True when nothing listens on 127.0.0.1:`port` now. */
export function isPortFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A port below the ephemeral range that nobody listens on now and this process never gave. */
export function freePort(): number {
  if (highest < rangeLow) {
    throw new Error(`the ephemeral port range starts below ${rangeLow}: no safe range to pick`);
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = rangeLow + Math.floor(Math.random() * (highest - rangeLow + 1));
    if (handedOut.has(port) || !isPortFree(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found in ${rangeLow}–${highest}`);
}
