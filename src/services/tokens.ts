/**
 * API tokens as the Tokens page and `rosterdrop token` handle them: who may hold one (an active
 * administrator), the name's rule, a token found by id or by its prefix, and the list as both show
 * it. The token itself and its hash are src/services/api-tokens.ts.
 */
import type { DataSource } from 'typeorm';
import { ApiToken, Domain, User } from '../db/entities';
import { isAdministrator } from '../db/users';
import { createApiToken, listApiTokens, revokeApiToken, TOKEN_PREFIX } from './api-tokens';

export const MAX_TOKEN_NAME = 100;

/** A refusal worded for the person asking (bad name, not an administrator, unknown token). */
export class TokenInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenInputError';
  }
}

export interface TokenSummary {
  id: number;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** The name's rule: 1 to 100 characters once trimmed, no control characters (it is shown in lists). */
export function tokenName(raw: string): string {
  const name = raw.trim();
  if (!name) throw new TokenInputError('the token name is empty: give it a name that says which script uses it');
  if ([...name].length > MAX_TOKEN_NAME) throw new TokenInputError(`the token name is longer than ${MAX_TOKEN_NAME} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new TokenInputError('the token name contains a control character (line break, tab, …)');
  return name;
}

/**
 * The user of `userspace/username` if tokens may be made for them: an active administrator (the
 * API would refuse any other's token anyway; refusing here says why).
 */
export async function tokenHolder(ds: DataSource, userspace: string, username: string): Promise<User> {
  const domain = await ds.getRepository(Domain).findOneBy({ userspace });
  const user = domain ? await ds.getRepository(User).findOneBy({ domainId: domain.id, username }) : null;
  const login = `${userspace}/${username}`;
  if (!user) throw new TokenInputError(`unknown user "${login}"`);
  if (user.status !== 'active') throw new TokenInputError(`"${login}" is not active: only an active administrator may hold API tokens`);
  if (!isAdministrator(user)) throw new TokenInputError(`"${login}" is not an administrator: only an active administrator may hold API tokens (grant the role with \`rosterdrop user grant-admin\`)`);
  return user;
}

export async function createToken(ds: DataSource, userId: number, rawName: string): Promise<{ token: string; summary: TokenSummary }> {
  const { token, row } = await createApiToken(ds, userId, tokenName(rawName));
  return { token, summary: summaryOf(row) };
}

export async function listTokens(ds: DataSource, userId: number): Promise<TokenSummary[]> {
  return (await listApiTokens(ds, userId)).map(summaryOf);
}

/**
 * Revokes one of the user's live tokens, named by its id or by its prefix (`rd_…`, as listed);
 * null when the user holds no such live token (another user's is never found).
 */
export async function revokeToken(ds: DataSource, userId: number, idOrPrefix: string | number): Promise<TokenSummary | null> {
  const row = await findToken(ds, userId, idOrPrefix);
  if (!row || row.revokedAt) return null;
  if (!await revokeApiToken(ds, userId, row.id)) return null;
  const revoked = await ds.getRepository(ApiToken).findOneBy({ id: row.id });
  return revoked ? summaryOf(revoked) : null;
}

async function findToken(ds: DataSource, userId: number, idOrPrefix: string | number): Promise<ApiToken | null> {
  const repo = ds.getRepository(ApiToken);
  const text = String(idOrPrefix).trim();
  if (/^\d{1,15}$/.test(text)) return repo.findOneBy({ id: Number(text), userId });
  if (!text.startsWith(TOKEN_PREFIX)) return null;
  // a whole token given instead of its prefix also names it: the stored prefix is its start
  const mine = await repo.findBy({ userId });
  const matches = mine.filter((t) => t.prefix === text || text.startsWith(t.prefix));
  return matches.find((t) => !t.revokedAt) ?? matches[0] ?? null;
}

function summaryOf(row: ApiToken): TokenSummary {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt, revokedAt: row.revokedAt };
}
