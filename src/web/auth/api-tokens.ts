/**
 * API tokens: `rd_` + 32 random bytes, shown once, stored as SHA-256. One administrator may hold
 * several (one per script), each revocable on its own.
 */
import { IsNull, type DataSource } from 'typeorm';
import { ApiToken } from '../../db/entities';
import { newToken, sha256Hex } from './sessions';

export const TOKEN_PREFIX = 'rd_';

export async function createApiToken(ds: DataSource, userId: number, name: string): Promise<{ token: string; row: ApiToken }> {
  const token = TOKEN_PREFIX + newToken();
  const row = await ds.getRepository(ApiToken).save({ userId, name, tokenHash: sha256Hex(token), prefix: token.slice(0, 10), lastUsedAt: null, revokedAt: null });
  return { token, row };
}

/** The user id of a live token, or null. */
export async function userOfToken(ds: DataSource, token: string, now: Date = new Date()): Promise<number | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const repo = ds.getRepository(ApiToken);
  const row = await repo.findOneBy({ tokenHash: sha256Hex(token), revokedAt: IsNull() });
  if (!row) return null;
  // At most once a minute: scripts that poll must not turn every read into a write. Not awaited: on
  // the embedded database a running sync holds the write lock, and a read must not wait for it.
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    repo.update({ id: row.id }, { lastUsedAt: now }).catch(() => undefined);
  }
  return row.userId;
}

export async function listApiTokens(ds: DataSource, userId: number): Promise<ApiToken[]> {
  return ds.getRepository(ApiToken).find({ where: { userId }, order: { id: 'DESC' } });
}

/** Revokes one of the user's tokens; false when it is not theirs or already revoked. */
export async function revokeApiToken(ds: DataSource, userId: number, tokenId: number, now: Date = new Date()): Promise<boolean> {
  const result = await ds.getRepository(ApiToken).update({ id: tokenId, userId, revokedAt: IsNull() }, { revokedAt: now });
  return (result.affected ?? 0) > 0;
}
