// Ports handed to child processes: below the ephemeral range (where outgoing connections take
// theirs), bindable when handed out, never handed out twice, and "in use" when they are.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { freePort, isPortFree } from "../tools/local/free_port.ts";

const ephemeralLow = Number(
  readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
);

Deno.test("freePort hands out distinct bindable ports below the ephemeral range", () => {
  const ports = Array.from({ length: 300 }, freePort);
  assert.equal(new Set(ports).size, ports.length);
  for (const port of ports) {
    assert.ok(port >= 20_000 && port < Math.min(30_000, ephemeralLow), `port ${port}`);
    assert.ok(isPortFree(port), `port ${port} is bindable`);
  }
});

Deno.test("isPortFree reports a port someone listens on as taken", () => {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    assert.equal(isPortFree(port), false);
  } finally {
    listener.close();
  }
  assert.equal(isPortFree(port), true);
});
