// The processor simulators' test-only fault switches (tools/simulator/faults.ts): start both
// with the switches enabled, set a fault, and read how many calls it hit.
import assert from "node:assert/strict";
import type { Simulator } from "../../tools/simulator/server.ts";
import { type Processors, startProcessors, token } from "./stack.ts";

/** Both simulators with their test-only fault switches (tools/simulator/faults.ts) enabled. */
export function startHostileProcessors(): Promise<Processors> {
  return startProcessors(true);
}

export interface FaultSetting {
  fault: "none" | "reset" | "drop" | "garbage" | "busy" | "error" | "refuse";
  every?: number;
  count?: number;
  durationMs?: number;
}

export async function setFault(sim: Simulator, setting: FaultSetting): Promise<void> {
  const res = await fetch(`${sim.url}/admin/configurations/fault`, {
    method: "PUT",
    headers: { "x-rinha-token": token, "content-type": "application/json" },
    body: JSON.stringify(setting),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `fault ${JSON.stringify(setting)} → ${res.status} ${text}`);
}

/** The fault state; `affected` tells how many payment calls the fault actually hit. */
export async function faultState(
  sim: Simulator,
): Promise<{ fault: string; affected: number; remaining: number | null }> {
  const res = await fetch(`${sim.url}/admin/configurations/fault`, {
    headers: { "x-rinha-token": token },
  });
  assert.equal(res.status, 200);
  return await res.json();
}
