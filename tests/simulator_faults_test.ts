// The simulator's test-only fault switches (tools/simulator/faults.ts), over real HTTP and raw
// TCP: off by default, each kind does what it says, and closing leaves nothing running.
import assert from "node:assert/strict";
import { join } from "node:path";
import { faultsRequested, parseFault } from "../tools/simulator/faults.ts";
import { type Simulator, startSimulator } from "../tools/simulator/server.ts";
import { spawnChild, waitForHttp } from "../tools/local/processes.ts";
import { projectRoot } from "../tools/local/project_paths.ts";
import { freePort } from "../tools/local/free_port.ts";

const token = "123";
const noon = "2025-07-15T12:00:00.000Z";

async function withFaultySimulator(run: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ port: 0, faults: true });
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}

async function setFault(sim: Simulator, setting: Record<string, unknown>, auth = token) {
  const res = await fetch(`${sim.url}/admin/configurations/fault`, {
    method: "PUT",
    headers: { "x-rinha-token": auth, "content-type": "application/json" },
    body: JSON.stringify(setting),
  });
  return { status: res.status, body: await res.json() };
}

async function faultState(sim: Simulator) {
  const res = await fetch(`${sim.url}/admin/configurations/fault`, {
    headers: { "x-rinha-token": token },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

/**
 * Status of a payment call, or "no answer" when the connection ended without one. Each call
 * has a connection of its own: fetch silently repeats a request once when a *reused* pooled
 * connection closes before the answer, which would make one call count as two here.
 */
async function pay(sim: Simulator, id: string): Promise<number | "no answer" | "refused"> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const res = await fetch(`${sim.url}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ correlationId: id, amount: 19.9, requestedAt: noon }),
      client,
    });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    const text = `${(err as Error).message} ${(err as Error).cause}`;
    return /connection refused/i.test(text) ? "refused" : "no answer";
  } finally {
    client.close();
  }
}

async function recorded(sim: Simulator, id: string): Promise<boolean> {
  const res = await fetch(`${sim.url}/payments/${id}`);
  await res.body?.cancel();
  return res.status === 200;
}

/** Every byte a raw client receives for one request, until the server closes. */
async function rawExchange(sim: Simulator, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: sim.port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(4096);
    let text = "";
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return text;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } finally {
    conn.close();
  }
}

Deno.test("without faults: no fault route, and the simulator listens directly", async () => {
  const sim = await startSimulator({ port: 0 });
  try {
    const res = await fetch(`${sim.url}/admin/configurations/fault`, {
      method: "PUT",
      headers: { "x-rinha-token": token },
      body: JSON.stringify({ fault: "reset" }),
    });
    assert.equal(res.status, 404);
    await res.body?.cancel();
    assert.equal(await pay(sim, crypto.randomUUID()), 200);
  } finally {
    await sim.close();
  }
});

Deno.test("fault settings need the token and are validated", async () => {
  await withFaultySimulator(async (sim) => {
    assert.equal((await setFault(sim, { fault: "reset" }, "wrong")).status, 401);
    for (
      const bad of [
        {},
        { fault: "explode" },
        { fault: "error", every: 0 },
        { fault: "error", count: 1.5 },
        { fault: "refuse" },
        { fault: "refuse", durationMs: 0 },
        { fault: "busy", durationMs: 10 },
      ]
    ) {
      const { status, body } = await setFault(sim, bad);
      assert.equal(status, 400, JSON.stringify(bad));
      assert.equal(typeof body.message, "string");
    }
    const { status, body } = await setFault(sim, { fault: "error", every: 2, count: 3 });
    assert.equal(status, 200);
    assert.equal(body.was.fault, "none");
    assert.deepEqual(body.is, {
      fault: "error",
      every: 2,
      remaining: 3,
      affected: 0,
      durationMs: null,
    });
  });
});

Deno.test("reset: the payment is recorded, the client gets no byte of an answer", async () => {
  await withFaultySimulator(async (sim) => {
    await setFault(sim, { fault: "reset", count: 2 });
    const id = crypto.randomUUID();
    assert.equal(await pay(sim, id), "no answer");
    assert.ok(await recorded(sim, id), "a reset payment is recorded");
    const body = JSON.stringify({ correlationId: id, amount: 19.9, requestedAt: noon });
    const answer = await rawExchange(
      sim,
      `POST /payments HTTP/1.1\r\nhost: x\r\nconnection: close\r\n` +
        `content-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n${body}`,
    );
    assert.equal(answer, "", "not a single byte comes back");
    // The count is used up: the retry learns the truth, 422.
    assert.equal(await pay(sim, id), 422);
    assert.equal((await faultState(sim)).fault, "none");
  });
});

Deno.test("reset after the configured delay: the slow payment is still recorded", async () => {
  await withFaultySimulator(async (sim) => {
    const res = await fetch(`${sim.url}/admin/configurations/delay`, {
      method: "PUT",
      headers: { "x-rinha-token": token, "content-type": "application/json" },
      body: JSON.stringify({ delay: 100 }),
    });
    await res.body?.cancel();
    await setFault(sim, { fault: "reset" });
    const id = crypto.randomUUID();
    assert.equal(await pay(sim, id), "no answer");
    assert.ok(await recorded(sim, id));
  });
});

Deno.test("drop: no answer and nothing recorded; the retry records it", async () => {
  await withFaultySimulator(async (sim) => {
    await setFault(sim, { fault: "drop", count: 1 });
    const id = crypto.randomUUID();
    assert.equal(await pay(sim, id), "no answer");
    assert.equal(await recorded(sim, id), false);
    assert.equal(await pay(sim, id), 200);
  });
});

Deno.test("garbage: 200 with a body that is not JSON, the payment recorded", async () => {
  await withFaultySimulator(async (sim) => {
    await setFault(sim, { fault: "garbage" });
    const id = crypto.randomUUID();
    const res = await fetch(`${sim.url}/payments`, {
      method: "POST",
      body: JSON.stringify({ correlationId: id, amount: 1, requestedAt: noon }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.throws(() => JSON.parse(text));
    assert.ok(await recorded(sim, id));
    // Only a 200 is garbled: the duplicate's 422 stays as it is.
    assert.equal(await pay(sim, id), 422);
  });
});

Deno.test("busy: a burst of N answers 429 and records nothing, then it is over", async () => {
  await withFaultySimulator(async (sim) => {
    await setFault(sim, { fault: "busy", count: 5 });
    const ids = Array.from({ length: 8 }, () => crypto.randomUUID());
    const statuses = [];
    for (const id of ids) statuses.push(await pay(sim, id));
    assert.deepEqual(statuses, [429, 429, 429, 429, 429, 200, 200, 200]);
    for (const [i, id] of ids.entries()) assert.equal(await recorded(sim, id), i >= 5);
    const state = await faultState(sim);
    assert.equal(state.fault, "none");
    assert.equal(state.affected, 5);
  });
});

Deno.test("error every 2: calls alternate between 200 and 500", async () => {
  await withFaultySimulator(async (sim) => {
    await setFault(sim, { fault: "error", every: 2 });
    const ids = Array.from({ length: 6 }, () => crypto.randomUUID());
    const statuses = [];
    for (const id of ids) statuses.push(await pay(sim, id));
    assert.deepEqual(statuses, [200, 500, 200, 500, 200, 500]);
    for (const [i, id] of ids.entries()) assert.equal(await recorded(sim, id), i % 2 === 0);
    assert.equal((await faultState(sim)).affected, 3);
  });
});

Deno.test("refuse: the port is closed for a while, then listens again with its ledger", async () => {
  await withFaultySimulator(async (sim) => {
    const before = crypto.randomUUID();
    assert.equal(await pay(sim, before), 200);
    const { status } = await setFault(sim, { fault: "refuse", durationMs: 400 });
    assert.equal(status, 200);
    assert.equal(await pay(sim, crypto.randomUUID()), "refused");
    // Back by itself (the bound is a hang guard), fault switched off, ledger intact.
    await waitForHttp(`${sim.url}/payments/${before}`, 10_000);
    assert.equal((await faultState(sim)).fault, "none");
    assert.equal(await pay(sim, before), 422);
  });
});

Deno.test("close while refusing or with open connections leaves nothing behind", async () => {
  const sim = await startSimulator({ port: 0, faults: true });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: sim.port });
  await setFault(sim, { fault: "refuse", durationMs: 60_000 });
  await sim.close();
  idle.close();
});

Deno.test("SIMULATOR_FAULTS: 1/true on, unset/0/false off, anything else refused", () => {
  const read = (value?: string) => (name: string) =>
    name === "SIMULATOR_FAULTS" ? value : undefined;
  assert.equal(faultsRequested(read()), false);
  assert.equal(faultsRequested(read("0")), false);
  assert.equal(faultsRequested(read("false")), false);
  assert.equal(faultsRequested(read("1")), true);
  assert.equal(faultsRequested(read(" TRUE ")), true);
  assert.throws(() => faultsRequested(read("yes")), /SIMULATOR_FAULTS/);
  assert.equal(typeof parseFault({ fault: "none" }), "object");
});

Deno.test("the CLI enables the fault route only with SIMULATOR_FAULTS=1", async () => {
  for (const faults of ["1", "0"]) {
    const port = freePort();
    const child = spawnChild({
      name: `sim-faults-${faults}`,
      cmd: Deno.execPath(),
      args: ["run", "-A", join(projectRoot, "tools/simulator/main.ts")],
      env: { PORT: String(port), SIMULATOR_FAULTS: faults },
      echo: false,
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/payments/service-health`);
      const res = await fetch(`${url}/admin/configurations/fault`, {
        headers: { "x-rinha-token": token },
      });
      await res.body?.cancel();
      assert.equal(res.status, faults === "1" ? 200 : 404);
    } finally {
      await child.stop();
    }
  }
});
