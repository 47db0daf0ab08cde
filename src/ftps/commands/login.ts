/**
 * USER and PASS. Every refusal (unknown user, wrong password, not an administrator, database
 * trouble) gets the same reply after the same delay; after `maxFailuresPerConnection` the
 * connection is closed, and repeated failures from one IP ban it (admission.ts). Passwords are
 * never logged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, type CommandHandler, type DropConnection } from '../connection';
import { DropFileSystem } from '../drop-fs';
import type { Grant } from '../types';

export const user: CommandHandler = (conn, command) => {
  if (conn.grant) return conn.reply(503, 'Already logged in');
  conn.pendingUser = command.arg ?? '';
  return conn.reply(331, 'Password required');
};

export const pass: CommandHandler = async (conn, command) => {
  if (conn.grant) return conn.reply(503, 'Already logged in');
  if (conn.pendingUser === null) return conn.reply(503, 'Send USER first');
  const login = conn.pendingUser;
  conn.pendingUser = null;
  conn.checkingPassword = true;
  try {
    return await checkPassword(conn, login, command.arg ?? '');
  } finally {
    conn.checkingPassword = false;
  }
};

async function checkPassword(conn: DropConnection, login: string, password: string): Promise<unknown> {
  const { admission, config, authenticator } = conn.deps;
  const started = Date.now();
  let grant: Grant | null = null;
  // a banned IP's password is not even checked (no hashing work, no answer to learn from); the
  // check after covers a ban that started while this one was being checked
  const banned = () => admission.bannedUntil(conn.peerIp) !== null;
  if (!banned()) {
    try {
      grant = await authenticator.authenticate(login, password);
    } catch (err) {
      conn.logger.error('authentication failed with an error', { login, error: describe(err) });
    }
  }
  if (grant && banned()) grant = null;
  if (grant) {
    conn.loggedIn(grant, new DropFileSystem(config.dropRoot, grant));
    conn.logger.info('login', { login: grant.login });
    return conn.reply(230, 'Login successful');
  }
  conn.failedLogins++;
  const wasBanned = banned();
  const bans = !wasBanned && admission.recordFailure(conn.peerIp);
  conn.logger.warn('login failed', { login, failures: conn.failedLogins, banned: bans || wasBanned });
  await sleep(Math.max(0, config.login.failureDelayMs - (Date.now() - started)));
  if (bans || wasBanned || conn.failedLogins >= config.login.maxFailuresPerConnection) {
    await conn.reply(530, 'Login incorrect');
    return conn.shut(421, 'Too many failed logins');
  }
  return conn.reply(530, 'Login incorrect');
}
