// BENCH_API_ENV: more settings for the API instances a bench starts, as a JSON object of
// strings ('{"MAX_CALL_RATE":"300"}'), so two versions of a setting run from one clone.

export function parseApiEnv(text: string | undefined): Record<string, string> {
  if (!text) return {};
  const value = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("BENCH_API_ENV must be a JSON object of strings");
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}
