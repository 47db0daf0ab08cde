/**
 * An exclusive lock that dies with its process, for the embedded database, whose processes share a
 * machine: SQLite's own lock on a small file of its own. SQLite takes it with the operating
 * system's file locks, which the kernel drops when the process ends (a crash never leaves one
 * behind), and it also keeps two connections of one process apart.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** `<folder of the database file>/locks`, or null for an in-memory database. */
export function lockDir(databaseFile: unknown): string | null {
  const file = typeof databaseFile === 'string' ? databaseFile : '';
  return file && file !== ':memory:' ? path.join(path.dirname(file), 'locks') : null;
}

/**
 * Releases a lock. `finished`: what it guarded is over for good (say, a run's hashing), so its file
 * goes too, while still held. A process that opened the file just before may then lock the removed
 * file; it finds nothing left to do, which is why only finished work may remove its file.
 */
export type FileLockRelease = (finished?: boolean) => Promise<void>;

/**
 * Takes `<dir>/<name>.lock`; null when another connection or process holds it. Without a folder
 * (an in-memory database, one process) there is nothing to share and the lock always succeeds.
 */
export async function tryFileLock(dir: string | null, name: string): Promise<FileLockRelease | null> {
  if (!dir) return async () => undefined;
  const file = path.join(dir, `${name}.lock`);
  let lock: Database.Database | null = null;
  try {
    fs.mkdirSync(dir, { recursive: true });
    // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting
    lock = new Database(file, { timeout: 0 });
    lock.pragma('journal_mode = MEMORY'); // nothing is ever written: no journal file beside the lock
    lock.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    lock?.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
    // e.g. a lock file created by a command run as another user than the daemon's
    throw new Error(`cannot take the lock ${file}: ${(err as Error).message}`);
  }
  const held = lock;
  return async (finished = false) => {
    try {
      if (finished) fs.rmSync(file, { force: true });
      held.exec('ROLLBACK');
    } finally {
      held.close();
    }
  };
}
