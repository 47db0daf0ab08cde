/**
 * Passwords of newly created users are hashed after the roster commits, not inside the sync:
 * a safe hash costs tens of milliseconds, so 200k new users would hold the transaction for hours.
 * Until its hash is stored an account has no password login (password_hash is NULL). Hashing runs
 * on libuv's thread pool, a few at a time, and stores hashes in batches.
 */
import os from 'node:os';
import type { SqlSession } from '../db/sql-session';
import { hashPassword } from '../util/password-hash';

// small enough that a stop (Ctrl-C) waits for one batch of hashes, a few seconds, not minutes
const BATCH = 32;

/**
 * Where the plain passwords come from: the sync's own staged users, or the run's file read again
 * to resume (password-resume.ts). Both tables have ext, password and ok.
 */
export type PasswordTable = 'stage_users' | 'password_source';

/** Users created by this sync whose staged row carries a password. */
export async function pendingPasswords(db: SqlSession, firstNewUserId: number, from: PasswordTable = 'stage_users'): Promise<number> {
  const rows = await db.query<{ n: number | string }>(`SELECT count(*) AS n FROM ${from} s
    JOIN lms_user u ON u.external_id = s.ext AND u.id >= $1 AND u.domain_id IN (SELECT id FROM scope_domain)
    WHERE s.ok = 1 AND s.password IS NOT NULL AND u.password_hash IS NULL`, [firstNewUserId]);
  return Number(rows[0]?.n ?? 0);
}

/** Hashes them batch by batch; stops between batches once `signal` fires. Returns how many it stored. */
export async function hashNewPasswords(db: SqlSession, firstNewUserId: number, onProgress?: (done: number) => void,
  signal?: AbortSignal, from: PasswordTable = 'stage_users'): Promise<number> {
  let done = 0;
  let after = firstNewUserId - 1;
  while (!signal?.aborted) {
    const rows = await db.query<{ id: number; password: string }>(`SELECT u.id, s.password FROM ${from} s
      JOIN lms_user u ON u.external_id = s.ext AND u.domain_id IN (SELECT id FROM scope_domain)
      WHERE s.ok = 1 AND s.password IS NOT NULL AND u.id > $1 AND u.password_hash IS NULL ORDER BY u.id LIMIT ${BATCH}`, [after]);
    if (!rows.length) return done;
    const hashes = await hashAll(rows.map((r) => r.password));
    await db.begin();
    for (let i = 0; i < rows.length; i++) {
      await db.run('UPDATE lms_user SET password_hash = $1 WHERE id = $2 AND password_hash IS NULL', [hashes[i], Number(rows[i].id)]);
    }
    await db.commit();
    done += rows.length;
    after = Number(rows[rows.length - 1].id);
    onProgress?.(done);
  }
  return done;
}

/**
 * Hashes run on libuv's thread pool, which every file read and write of the process shares (the
 * FTPS uploads, the next sync's zip). A whole batch at once would queue every file operation
 * behind up to 64 hashes, seconds each time; so at most as many as there are cores, and always two
 * threads left free.
 */
const POOL = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const AT_ONCE = Math.max(1, Math.min(os.availableParallelism(), POOL - 2));

async function hashAll(passwords: string[]): Promise<string[]> {
  const out = new Array<string>(passwords.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < passwords.length) {
      const i = next++;
      out[i] = await hashPassword(passwords[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, passwords.length) }, worker));
  return out;
}
