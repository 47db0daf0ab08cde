/**
 * The bench's password-hash candidates (bench/hash.ts), inside a child process: hashing one at a
 * time, and making the engine hash with a candidate.
 */
import * as passwordHash from '../src/util/password-hash';
import { hashArgon2id, hashScryptLegacy } from '../src/util/password-hash';
import type { HashScheme } from './measure';

export function hasher(s: HashScheme): (password: string) => Promise<string> {
  return s.alg === 'scrypt' ? hashScryptLegacy : (password) => hashArgon2id(password, s);
}

/**
 * Makes this process's engine hash with `s`, so the bench times the real hashNewPasswords (its
 * batches, concurrency and UPDATEs) for each candidate. The compiled modules are CommonJS and call
 * hashPassword as a property of its module's exports, so replacing that property is enough.
 */
export function useScheme(s: HashScheme): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exportsObject = require('../src/util/password-hash') as { hashPassword: typeof passwordHash.hashPassword };
  exportsObject.hashPassword = hasher(s);
}

/** `n` hashes one after the other (after one untimed): ms per hash. */
export async function hashSingle(s: HashScheme, n: number): Promise<{ seconds: number; result: { hashes: number; msMedian: number; msMean: number } }> {
  const hash = hasher(s);
  await hash('warm-up');
  const ms: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await hash(`bench-password-${i}`);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  ms.sort((a, b) => a - b);
  return { seconds, result: { hashes: n, msMedian: ms[Math.floor(ms.length / 2)], msMean: (seconds * 1000) / n } };
}
