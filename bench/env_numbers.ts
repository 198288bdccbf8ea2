// Comma-separated positive integers from the environment (the benches' sizes, rates, users),
// failing with the variable's name when one is not.
export function envNumbers(name: string, fallback: string): number[] {
  return (Deno.env.get(name) || fallback).split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n <= 0) {
      throw new Error(`${name}: "${s}" is not a positive integer`);
    }
    return n;
  });
}
