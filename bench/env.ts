/** Reading the bench's BENCH_* settings, shared by its parts. */

/** A whole number from the environment, `fallback` when unset; a bad value stops the bench with its name. */
export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${raw}: expected a whole number from ${min} to ${max}`);
  return n;
}
