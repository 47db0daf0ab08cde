/**
 * FTPS logins against the LMS: `userspace/username` and that user's LMS password. Only active users
 * holding the Administrator role get in; they reach their domain's folder and those of every domain
 * below it. Unknown users are checked against a dummy hash so that every refusal costs the same.
 */
import type { DataSource } from 'typeorm';
import { Domain, User } from '../db/entities';
import { isAdministrator } from '../db/users';
import { hashPassword, needsRehash, verifyPassword } from '../util/password-hash';
import type { Authenticator, Grant } from './types';

/** `userspace/username`; the username may itself contain `/`. */
export function parseLogin(login: string): { userspace: string; username: string } | null {
  const slash = login.indexOf('/');
  if (slash <= 0 || slash === login.length - 1) return null;
  return { userspace: login.slice(0, slash).toLowerCase(), username: login.slice(slash + 1) };
}

/** Every domain below `rootId` (children, grandchildren, …), by userspace. */
export function descendants(domains: ReadonlyArray<Pick<Domain, 'id' | 'parentId' | 'userspace'>>, rootId: number): string[] {
  const children = new Map<number, Array<Pick<Domain, 'id' | 'userspace'>>>();
  for (const d of domains) {
    if (d.parentId === null) continue;
    const list = children.get(d.parentId) ?? [];
    list.push(d);
    children.set(d.parentId, list);
  }
  const out: string[] = [];
  const seen = new Set<number>([rootId]);
  const stack = [rootId];
  while (stack.length) {
    for (const child of children.get(stack.pop() as number) ?? []) {
      if (seen.has(child.id)) continue; // a parent cycle in bad data must not loop
      seen.add(child.id);
      out.push(child.userspace);
      stack.push(child.id);
    }
  }
  return out.sort();
}

export class LmsAuthenticator implements Authenticator {
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly ds: DataSource) {}

  async authenticate(login: string, password: string): Promise<Grant | null> {
    const parsed = parseLogin(login);
    const domain = parsed ? await this.ds.getRepository(Domain).findOneBy({ userspace: parsed.userspace }) : null;
    const user = domain && parsed ? await this.ds.getRepository(User).findOneBy({ domainId: domain.id, username: parsed.username }) : null;
    const stored = user?.passwordHash ?? await (this.dummyHash ??= hashPassword('not a password of anyone'));
    const ok = await verifyPassword(password, stored);
    if (ok && user?.passwordHash && needsRehash(user.passwordHash)) await this.rehash(user.id, user.passwordHash, password);
    if (!ok || !user || !domain || !user.passwordHash || user.status !== 'active' || !isAdministrator(user)) return null;
    const all = await this.ds.getRepository(Domain).find({ select: { id: true, parentId: true, userspace: true } });
    return { login, userId: user.id, home: domain.userspace, subdomains: descendants(all, domain.id) };
  }

  /**
   * Replaces a proven password's old hash (scrypt) with today's; only if it is still the one just
   * checked (a password set meanwhile wins). A failure leaves the old hash, which still works.
   */
  private async rehash(userId: number, old: string, password: string): Promise<void> {
    try {
      await this.ds.getRepository(User).update({ id: userId, passwordHash: old }, { passwordHash: await hashPassword(password) });
    } catch {
      // the login itself does not depend on this
    }
  }
}
