/**
 * LMS users created and administered by hand (the CLI today, an admin tool later). A sync creates
 * its own users in bulk (src/sync/apply/users.ts); these helpers are for one account at a time.
 * Usernames are unique per domain (also enforced by the uq_user_domain_username index). Passwords
 * are only ever stored as scrypt hashes and never logged.
 */
import type { DataSource } from 'typeorm';
import { hashPassword } from '../util/password-hash';
import { Domain, User } from './entities';
import { ADMINISTRATOR_ROLE } from './entities/user';
import { isUniqueViolation } from './errors';

/** A problem with what was asked (duplicate, bad value): the caller's fault, not the database's. */
export class UserInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserInputError';
  }
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

export interface NewUser {
  domainId: number;
  username: string;
  givenName?: string;
  familyName?: string;
  email?: string | null;
  /** grant the LMS Administrator role on the user's domain */
  admin?: boolean;
  /** hashed before it is stored; without one the user has no password login until one is set */
  password?: string;
}

export function validateUsername(username: string): void {
  if (!username) throw new UserInputError('the username is empty');
  if (username.length > 255) throw new UserInputError('the username is longer than 255 characters');
  if (username !== username.trim()) throw new UserInputError('the username starts or ends with white space');
  if (/[\u0000-\u001f\u007f]/.test(username)) throw new UserInputError('the username contains control characters');
}

export function validatePassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) throw new UserInputError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new UserInputError(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
}

function validateEmail(email: string | null | undefined): void {
  if (email && (email.length > 320 || !EMAIL.test(email))) throw new UserInputError(`"${email}" is not an email address`);
}

/** The account-level roles of a user (JSON text in lms_user.roles); unreadable text counts as none. */
export function userRoles(user: Pick<User, 'roles'>): string[] {
  try {
    const parsed: unknown = JSON.parse(user.roles);
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

export function isAdministrator(user: Pick<User, 'roles'>): boolean {
  return userRoles(user).includes(ADMINISTRATOR_ROLE);
}


/** Active users holding the Administrator role with a password set: those who can log in to FTPS. */
export async function administratorsWhoCanLogIn(ds: DataSource): Promise<number> {
  // roles is JSON text: the LIKE narrows the candidates, isAdministrator decides
  const candidates = await ds.getRepository(User).createQueryBuilder('u')
    .select(['u.id', 'u.roles'])
    .where('u.status = :active AND u.passwordHash IS NOT NULL AND u.roles LIKE :role', { active: 'active', role: `%${ADMINISTRATOR_ROLE}%` })
    .getMany();
  return candidates.filter(isAdministrator).length;
}

export async function createUser(ds: DataSource, input: NewUser): Promise<User> {
  validateUsername(input.username);
  validateEmail(input.email);
  for (const [label, name] of [['given name', input.givenName], ['family name', input.familyName]] as const) {
    if (name && name.length > 255) throw new UserInputError(`the ${label} is longer than 255 characters`);
  }
  if (input.password !== undefined) validatePassword(input.password);
  const repo = ds.getRepository(User);
  const taken = () => new UserInputError(`the username "${input.username}" is already taken in that domain`);
  if (await repo.existsBy({ domainId: input.domainId, username: input.username })) throw taken();
  const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
  try {
    return await repo.save(repo.create({
      domainId: input.domainId, username: input.username, givenName: input.givenName ?? '', familyName: input.familyName ?? '',
      email: input.email || null, passwordHash, roles: JSON.stringify(input.admin ? [ADMINISTRATOR_ROLE] : []),
      status: 'active', externalId: null, metadata: null,
    }));
  } catch (err) {
    if (isUniqueViolation(err)) throw taken(); // created concurrently
    throw err;
  }
}

export async function findUser(ds: DataSource, userspace: string, username: string): Promise<User | null> {
  const domain = await ds.getRepository(Domain).findOneBy({ userspace });
  if (!domain) return null;
  return ds.getRepository(User).findOneBy({ domainId: domain.id, username });
}

/**
 * A domain's users ordered by username (by code point, so alike on both databases whatever their
 * collation); `adminsOnly` keeps holders of the Administrator role.
 */
export async function listUsers(ds: DataSource, domainId: number, opts: { adminsOnly?: boolean } = {}): Promise<User[]> {
  const users = await ds.getRepository(User).find({ where: { domainId } });
  users.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : a.id - b.id));
  return opts.adminsOnly ? users.filter(isAdministrator) : users;
}

export async function setPassword(ds: DataSource, userId: number, password: string): Promise<void> {
  validatePassword(password);
  const passwordHash = await hashPassword(password);
  const result = await ds.getRepository(User).update({ id: userId }, { passwordHash });
  if (result.affected === 0) throw new UserInputError(`user ${userId} does not exist`);
}

/** Grants or revokes the Administrator role; returns false when the user already was as asked. */
export async function setAdministrator(ds: DataSource, userId: number, admin: boolean): Promise<boolean> {
  const repo = ds.getRepository(User);
  const user = await repo.findOneBy({ id: userId });
  if (!user) throw new UserInputError(`user ${userId} does not exist`);
  const roles = userRoles(user);
  if (roles.includes(ADMINISTRATOR_ROLE) === admin) return false;
  const next = admin ? [...roles, ADMINISTRATOR_ROLE] : roles.filter((r) => r !== ADMINISTRATOR_ROLE);
  await repo.update({ id: userId }, { roles: JSON.stringify(next) });
  return true;
}
