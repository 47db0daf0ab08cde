/**
 * API tokens: `rd_` + 32 random bytes, shown once, stored as SHA-256. One administrator may hold
 * several (one per script), each revocable on its own.
 */
import { IsNull, type DataSource } from 'typeorm';
import { ApiToken } from '../db/entities';
import { newToken, sha256Hex } from '../util/secret-token';
import type { Touches } from '../util/touches';

export const TOKEN_PREFIX = 'rd_';

export async function createApiToken(ds: DataSource, userId: number, name: string): Promise<{ token: string; row: ApiToken }> {
  const token = TOKEN_PREFIX + newToken();
  const row = await ds.getRepository(ApiToken).save({ userId, name, tokenHash: sha256Hex(token), prefix: token.slice(0, 10), lastUsedAt: null, revokedAt: null });
  return { token, row };
}

/**
 * The user id of a live token, or null. Its last use goes to `touches` (written in the background:
 * touches.ts) or, without, straight to the database (at most once a minute: a script that polls
 * must not turn every read into a write).
 */
export async function userOfToken(ds: DataSource, token: string, now: Date = new Date(), touches?: Touches<number>): Promise<number | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const repo = ds.getRepository(ApiToken);
  const row = await repo.findOneBy({ tokenHash: sha256Hex(token), revokedAt: IsNull() });
  if (!row) return null;
  if (touches) touches.note(row.id, now);
  else if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) await repo.update({ id: row.id }, { lastUsedAt: now });
  return row.userId;
}

/** Writes a token's last use noted by touches.ts. */
export function touchApiToken(ds: DataSource, tokenId: number, at: Date): Promise<unknown> {
  return ds.getRepository(ApiToken).update({ id: tokenId }, { lastUsedAt: at });
}

export async function listApiTokens(ds: DataSource, userId: number): Promise<ApiToken[]> {
  return ds.getRepository(ApiToken).find({ where: { userId }, order: { id: 'DESC' } });
}

/** Revokes one of the user's tokens; false when it is not theirs or already revoked. */
export async function revokeApiToken(ds: DataSource, userId: number, tokenId: number, now: Date = new Date()): Promise<boolean> {
  const result = await ds.getRepository(ApiToken).update({ id: tokenId, userId, revokedAt: IsNull() }, { revokedAt: now });
  return (result.affected ?? 0) > 0;
}
