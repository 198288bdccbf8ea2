// The processors' fees, for the console's "fees paid" figures. The service is never told them
// (the processors' admin summary needs their token), so these are the rates the challenge
// publishes (../shared/spec/rinha-2025.md) and the simulators default to: 5 % and 15 %.
import type { ProcessorId } from "../processors/processor_id.ts";

/** Fee per processor in basis points (1/100 of a percent). */
export const feeBasisPoints: Record<ProcessorId, bigint> = { 1: 500n, 2: 1500n };

/** The fee on `cents`, rounded to the nearest cent. */
export function feeCents(processor: ProcessorId, cents: bigint): bigint {
  return (cents * feeBasisPoints[processor] + 5_000n) / 10_000n;
}
