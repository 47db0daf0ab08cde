/**
 * At most one sync per domain, across every process that shares the database: the daemon's runner,
 * `rosterdrop sync` from a shell, a second daemon. Without it two syncs of one domain race and the
 * loser fails on a raw database error (a duplicate key on PostgreSQL, "database is locked" on
 * SQLite), or both apply against the same snapshot.
 *
 * Both kinds of lock die with the process that holds them, so a crash never leaves one behind:
 * - PostgreSQL: a session advisory lock per domain, on a pooled connection held for the sync;
 * - the embedded database: a file lock per domain next to the database file
 *   (`locks/domain-<id>.lock`, see db/file-lock.ts).
 */
import type { DataSource, QueryRunner } from 'typeorm';
import { lockDir, tryFileLock } from '../db/file-lock';

export interface DomainLock {
  release(): Promise<void>;
}

export interface DomainLocks {
  /** null when another sync of the domain (in this process or another) holds it */
  tryAcquire(domainId: number): Promise<DomainLock | null>;
}

/** The first key of the two-key advisory lock: "rosterdrop" in ASCII, truncated to int4. */
const LOCK_SPACE = 0x726f7374;

type Release = () => Promise<void>;

export function domainLocks(ds: DataSource): DomainLocks {
  const held = new Set<number>();
  const crossProcess = ds.options.type === 'postgres' ? advisoryLock(ds) : fileLock(lockDir(ds.options.database));
  return {
    async tryAcquire(domainId) {
      if (held.has(domainId)) return null;
      held.add(domainId);
      let release: Release | null;
      try {
        release = await crossProcess(domainId);
      } catch (err) {
        held.delete(domainId);
        throw err;
      }
      if (!release) {
        held.delete(domainId);
        return null;
      }
      const unlock = release;
      return {
        async release() {
          try {
            await unlock();
          } finally {
            held.delete(domainId);
          }
        },
      };
    },
  };
}

function advisoryLock(ds: DataSource): (domainId: number) => Promise<Release | null> {
  return async (domainId) => {
    const runner: QueryRunner = ds.createQueryRunner();
    try {
      await runner.connect();
      const rows = await runner.query('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_SPACE, domainId]) as Array<{ ok: boolean }>;
      if (!rows[0]?.ok) {
        await runner.release();
        return null;
      }
    } catch (err) {
      await runner.release().catch(() => undefined);
      throw err;
    }
    return async () => {
      try {
        await runner.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, domainId]).catch(() => undefined);
      } finally {
        await runner.release().catch(() => undefined);
      }
    };
  };
}

function fileLock(dir: string | null): (domainId: number) => Promise<Release | null> {
  return (domainId) => tryFileLock(dir, `domain-${domainId}`);
}
