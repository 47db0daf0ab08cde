import { InvalidArgumentError } from 'commander';

/** commander argParser: a whole number ≥ min. */
export function wholeNumber(min = 0): (raw: string) => number {
  return (raw: string) => {
    if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError('must be a whole number');
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number of at least ${min}`);
    return n;
  };
}
