/**
 * At most one sync per domain. Inside a daemon an in-memory set is enough; on PostgreSQL a session
 * advisory lock per domain also keeps two daemons that share the database and the drop folders
 * apart (the lock dies with its connection, so a crashed daemon never leaves one behind).
 */
import type { DataSource, QueryRunner } from 'typeorm';

export interface DomainLock {
  release(): Promise<void>;
}

export interface DomainLocks {
  tryAcquire(domainId: number): Promise<DomainLock | null>;
}

/** The first key of the two-key advisory lock: "rosterdrop" in ASCII, truncated to int4. */
const LOCK_SPACE = 0x726f7374;

export function domainLocks(ds: DataSource): DomainLocks {
  const held = new Set<number>();
  const postgres = ds.options.type === 'postgres';
  return {
    async tryAcquire(domainId) {
      if (held.has(domainId)) return null;
      held.add(domainId);
      let runner: QueryRunner | null = null;
      try {
        if (postgres) {
          runner = ds.createQueryRunner();
          await runner.connect();
          const rows = await runner.query('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_SPACE, domainId]) as Array<{ ok: boolean }>;
          if (!rows[0]?.ok) {
            await runner.release();
            held.delete(domainId);
            return null;
          }
        }
      } catch (err) {
        await runner?.release().catch(() => undefined);
        held.delete(domainId);
        throw err;
      }
      const mine = runner;
      return {
        async release() {
          try {
            if (mine) await mine.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, domainId]).catch(() => undefined);
          } finally {
            await mine?.release().catch(() => undefined);
            held.delete(domainId);
          }
        },
      };
    },
  };
}
