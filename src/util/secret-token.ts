/** Random bearer secrets (session cookies, API tokens, CSRF tokens) and the hash they are stored as. */
import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, URL-safe: nothing to guess, so a fast hash is enough to store it. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
