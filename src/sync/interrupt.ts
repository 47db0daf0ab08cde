/**
 * Stopping a sync on request (Ctrl-C or SIGTERM to `rosterdrop sync`): once the caller's
 * AbortSignal fires, the sync's next statement throws SyncInterrupted, and a PostgreSQL statement
 * already running is cancelled, so the engine rolls back and records the run as failed instead of
 * dying with its row left `running`. Rolling back and releasing are never blocked.
 */
import type { SqlSession } from '../db/sql-session';

export class SyncInterrupted extends Error {
  constructor(readonly reason: string) {
    super(`interrupted (${reason})`);
    this.name = 'SyncInterrupted';
  }
}

/** What the signal was aborted with (e.g. "SIGINT"), as text. */
export function interruptReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'aborted';
}

/** `db` behind a check of `signal` before each statement; a statement in flight is cancelled. */
export function interruptible(db: SqlSession, signal: AbortSignal): SqlSession {
  let inFlight = 0;
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    // SQLite's statements are synchronous and never give the event loop a turn: without this a
    // signal would only be handled once the whole sync is over
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) throw new SyncInterrupted(interruptReason(signal));
    inFlight++;
    try { return await work(); } finally { inFlight--; }
  };
  const onAbort = (): void => { if (inFlight) void db.cancel().catch(() => undefined); };
  signal.addEventListener('abort', onAbort, { once: true });
  return Object.assign(Object.create(db) as SqlSession, {
    query: <T>(sql: string, params?: Parameters<SqlSession['query']>[1]) => guard(() => db.query<T>(sql, params)),
    run: (sql: string, params?: Parameters<SqlSession['run']>[1]) => guard(() => db.run(sql, params)),
    load: (...args: Parameters<SqlSession['load']>) => guard(() => db.load(...args)),
    begin: () => guard(() => db.begin()),
    commit: () => guard(() => db.commit()),
  });
}
