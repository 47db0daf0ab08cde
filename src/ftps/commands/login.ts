/**
 * USER and PASS. Every refusal (unknown user, wrong password, not an administrator, database
 * trouble) gets the same reply after the same delay; after `maxFailuresPerConnection` the
 * connection is closed, and repeated failures from one IP ban it (admission.ts). Passwords are
 * never logged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, type CommandHandler } from '../connection';
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
  const { admission, config, authenticator } = conn.deps;
  const started = Date.now();
  let grant: Grant | null = null;
  try {
    grant = await authenticator.authenticate(login, command.arg ?? '');
  } catch (err) {
    conn.logger.error('authentication failed with an error', { login, error: describe(err) });
  }
  if (grant) {
    admission.recordSuccess(conn.peerIp);
    conn.loggedIn(grant, new DropFileSystem(config.dropRoot, grant));
    conn.logger.info('login', { login: grant.login });
    return conn.reply(230, 'Login successful');
  }
  conn.failedLogins++;
  const banned = admission.recordFailure(conn.peerIp);
  conn.logger.warn('login failed', { login, failures: conn.failedLogins, banned });
  await sleep(Math.max(0, config.login.failureDelayMs - (Date.now() - started)));
  if (banned || conn.failedLogins >= config.login.maxFailuresPerConnection) {
    await conn.reply(530, 'Login incorrect');
    return conn.shut(421, 'Too many failed logins');
  }
  return conn.reply(530, 'Login incorrect');
};
