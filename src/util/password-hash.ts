/**
 * Password hashing. New hashes are Argon2id in PHC format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`)
 * with one of OWASP's equivalent Argon2id settings (Password Storage Cheat Sheet): the one that
 * hashes the most passwords a second through the sync's real path on this machine (bench part
 * `hash`, docs/performance.md). Hashes made before are scrypt (`scrypt$N$r$p$salt$hash`, N=2^14,
 * r=8, p=5) and keep verifying: the stored string names its algorithm and carries its parameters.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import * as argon2 from 'argon2';

export interface Argon2idParams {
  /** memory in KiB */
  m: number;
  /** passes */
  t: number;
  /** lanes */
  p: number;
}

/** OWASP's minimum, as five equivalent settings (m in KiB). */
export const OWASP_ARGON2ID: readonly Argon2idParams[] = [
  { m: 47104, t: 1, p: 1 },
  { m: 19456, t: 2, p: 1 },
  { m: 12288, t: 3, p: 1 },
  { m: 9216, t: 4, p: 1 },
  { m: 7168, t: 5, p: 1 },
];

/**
 * What new hashes use: of OWASP's equivalent settings, the one that hashed the most passwords a
 * second through the sync (bench part `hash`, two runs in opposite orders), and the least memory:
 * here a hash's time goes more into touching fresh memory than into its passes.
 */
export const ARGON2ID: Argon2idParams = { m: 7168, t: 5, p: 1 };

const SALT_BYTES = 16, KEY_BYTES = 32;

export async function hashPassword(password: string): Promise<string> {
  return hashArgon2id(password, ARGON2ID);
}

export async function hashArgon2id(password: string, params: Argon2idParams): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id, memoryCost: params.m, timeCost: params.t, parallelism: params.p, hashLength: KEY_BYTES });
}

// ------------------------------------------------------------------------------------------------
// scrypt: what rosterdrop stored before Argon2id (still verified; made only by the bench and tests)

const SCRYPT = { N: 16384, r: 8, p: 5 } as const;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashScryptLegacy(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, { ...SCRYPT, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Whether a stored hash is not what hashPassword makes now (an older algorithm or setting): after a
 * login has proved the password, the caller stores a new hash. A scrypt hash also takes ten times
 * longer to check than the dummy hash of an unknown login, which tells that the account exists.
 */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(`$argon2id$v=19$m=${ARGON2ID.m},t=${ARGON2ID.t},p=${ARGON2ID.p}$`);
}

// ------------------------------------------------------------------------------------------------
// verifying

/**
 * Bounds on what a stored string may ask for: far above what rosterdrop ever stored, low enough
 * that a damaged or planted row cannot tie up the thread pool for minutes or allocate gigabytes
 * on every login attempt.
 */
const LIMITS = { memoryBytes: 256 * 1024 * 1024, argon2Passes: 64, lanes: 16 } as const;
const B64 = '[A-Za-z0-9+/]';
/** a salt of at least 8 bytes and a hash of at least 16 (an empty hash would match anything) */
const ARGON2ID_RE = new RegExp(`^\\$argon2id\\$v=19\\$m=([1-9]\\d{0,9}),t=([1-9]\\d{0,9}),p=([1-9]\\d{0,9})\\$(${B64}{11,})\\$(${B64}{22,})$`);
const SCRYPT_RE = new RegExp(`^scrypt\\$([1-9]\\d{0,9})\\$([1-9]\\d{0,9})\\$([1-9]\\d{0,9})\\$(${B64}{11,}={0,2})\\$(${B64}{22,}={0,2})$`);

/**
 * True when `password` matches `stored` (an Argon2id or a scrypt hash). Anything else, a damaged
 * string, parameters out of bounds or a failing hash function is false: this runs in the login
 * path, where an exception must not replace a refusal. The comparison is constant-time.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (typeof stored !== 'string') return false;
  try {
    if (stored.startsWith('$argon2id$')) return await verifyArgon2id(password, stored);
    if (stored.startsWith('scrypt$')) return await verifyScrypt(password, stored);
  } catch {
    // a string that passed the shape check but that the hash function still refused
  }
  return false;
}

async function verifyArgon2id(password: string, stored: string): Promise<boolean> {
  const m = ARGON2ID_RE.exec(stored);
  if (!m) return false;
  const [memKiB, t, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (memKiB * 1024 > LIMITS.memoryBytes || t > LIMITS.argon2Passes || p > LIMITS.lanes) return false;
  return argon2.verify(stored, password); // timingSafeEqual inside
}

async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const m = SCRYPT_RE.exec(stored);
  if (!m) return false;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (128 * n * r > LIMITS.memoryBytes || p > LIMITS.lanes) return false;
  const salt = Buffer.from(m[4], 'base64');
  const expected = Buffer.from(m[5], 'base64');
  const key = await scrypt(password, salt, expected.length, { N: n, r, p, maxmem: LIMITS.memoryBytes + 1024 * 1024 });
  return timingSafeEqual(key, expected);
}
