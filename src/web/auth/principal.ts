/**
 * Who is asking, once signed in (a web session or an API token): an administrator of `home`, who
 * sees it and every domain below it, as on FTPS. Operators (ROSTERDROP_HTTP_OPERATORS) see all.
 * Everything outside answers 404, never 403: another tenant's run or domain does not exist for them.
 */
import type { DataSource } from 'typeorm';
import { Domain, User } from '../../db/entities';
import { isAdministrator } from '../../db/users';
import { descendants } from '../../ftps/lms-authenticator';

export interface Principal {
  login: string;
  userId: number;
  home: string;
  /** every userspace this principal may see, home first; null = all (an operator) */
  domains: string[] | null;
}

export function canSee(principal: Principal, userspace: string): boolean {
  return principal.domains === null || principal.domains.includes(userspace);
}

/**
 * The principal of an LMS user, read again on every request: an administrator who lost the role,
 * was deactivated or whose domain moved sees the change at once, not when a session ends.
 */
export async function principalOf(ds: DataSource, userId: number, operators: readonly string[]): Promise<Principal | null> {
  const user = await ds.getRepository(User).findOneBy({ id: userId });
  if (!user || user.status !== 'active' || !isAdministrator(user)) return null;
  const all = await ds.getRepository(Domain).find({ select: { id: true, parentId: true, userspace: true } });
  const home = all.find((d) => d.id === user.domainId);
  if (!home) return null;
  const login = `${home.userspace}/${user.username}`;
  const operator = operators.includes(login.toLowerCase());
  return { login, userId: user.id, home: home.userspace, domains: operator ? null : [home.userspace, ...descendants(all, home.id)] };
}

/**
 * Principals for a couple of seconds: a script polling a run sends many requests a second, and
 * each would otherwise read the user and the whole domain tree again. A role taken away or a
 * domain moved is seen within `ttlMs`; sign-in itself never uses the cache.
 */
export class PrincipalCache {
  private readonly entries = new Map<number, { at: number; principal: Principal | null }>();

  constructor(private readonly ds: DataSource, private readonly operators: readonly string[], private readonly ttlMs = 2000, private readonly now: () => number = Date.now) {}

  async get(userId: number): Promise<Principal | null> {
    const t = this.now();
    const hit = this.entries.get(userId);
    if (hit && t - hit.at < this.ttlMs) return hit.principal;
    const principal = await principalOf(this.ds, userId, this.operators);
    if (this.entries.size >= 10_000) this.entries.clear(); // bounded: at worst everyone is read again
    this.entries.set(userId, { at: t, principal });
    return principal;
  }
}

/** The domain `userspace` if the principal may see it; null answers 404. */
export async function visibleDomain(ds: DataSource, principal: Principal, userspace: string): Promise<Domain | null> {
  if (!canSee(principal, userspace)) return null;
  return ds.getRepository(Domain).findOneBy({ userspace });
}

/** The domains the principal sees, by userspace. */
export async function visibleDomains(ds: DataSource, principal: Principal): Promise<Domain[]> {
  const all = await ds.getRepository(Domain).find({ order: { userspace: 'ASC' } });
  return principal.domains === null ? all : all.filter((d) => canSee(principal, d.userspace));
}
