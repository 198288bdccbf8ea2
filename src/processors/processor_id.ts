// The two processors' identity, in one place: the id stored in Postgres (sql/001: 1 = default,
// 2 = fallback) and the name the API, the metrics, the console and the status tool print.
export type ProcessorId = 1 | 2;
export type ProcessorName = "default" | "fallback";

export const DEFAULT: ProcessorId = 1;
export const FALLBACK: ProcessorId = 2;
/** Both, cheaper first. */
export const processorIds: readonly ProcessorId[] = [DEFAULT, FALLBACK];
export const processorNames: Readonly<Record<ProcessorId, ProcessorName>> = {
  1: "default",
  2: "fallback",
};
