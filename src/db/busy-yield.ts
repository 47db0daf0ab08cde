/**
 * The embedded database's writers take turns, and better-sqlite3 waits for its turn (busy_timeout)
 * by blocking the thread that asked. A sync in a worker thread holds the write lock for the whole
 * of its apply (seconds; tens of seconds at 1M enrollments): a main-thread write in the meantime
 * (an upload's queued run, a claim, a report mark) would freeze the daemon's event loop, FTPS
 * included, for up to busy_timeout. So on the daemon's own connection a busy database is waited
 * for asynchronously: each try blocks for at most `tryMs`, the loop runs between tries.
 *
 * Only what can be retried is: a statement outside a transaction (autocommit: a fresh snapshot
 * each time), and the BEGIN of one, made `BEGIN IMMEDIATE` so that a transaction takes the write
 * lock up front and never meets a busy database halfway (where a retry could not help).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource, QueryRunner } from 'typeorm';

export interface BusyYieldOptions {
  /** how long one try may block the thread (SQLite's busy_timeout on this connection) */
  tryMs?: number;
  /** gives up (the statement fails with SQLITE_BUSY) after this long */
  giveUpMs?: number;
}

interface SqliteConnection {
  pragma(sql: string): unknown;
  readonly inTransaction: boolean;
}

export function isBusyError(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

const installed = new WeakSet<DataSource>();

/**
 * Installs the asynchronous wait on an embedded-database DataSource (once; again is a no-op);
 * PostgreSQL, whose driver never blocks the thread, is left as it is.
 */
export function yieldWhileBusy(ds: DataSource, opts: BusyYieldOptions = {}): void {
  if (ds.options.type !== 'better-sqlite3' || installed.has(ds)) return;
  installed.add(ds);
  const tryMs = opts.tryMs ?? 20;
  const giveUpMs = opts.giveUpMs ?? 10 * 60_000;
  // the driver has one connection and one query runner, which every repository call goes through
  const runner: QueryRunner = ds.createQueryRunner();
  const conn = (ds.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
  conn.pragma(`busy_timeout = ${tryMs}`);
  const inner = runner.query.bind(runner) as (sql: string, params?: unknown[], structured?: boolean) => Promise<unknown>;
  const query = async (sql: string, params?: unknown[], structured?: boolean): Promise<unknown> => {
    const text = sql === 'BEGIN TRANSACTION' ? 'BEGIN IMMEDIATE TRANSACTION' : sql;
    const deadline = Date.now() + giveUpMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      try {
        return await inner(text, params, structured);
      } catch (err) {
        // inside a transaction the statement's snapshot may be stale: only its caller can start over
        if (!isBusyError(err) || conn.inTransaction || Date.now() >= deadline) throw err;
        await sleep(pause);
      }
    }
  };
  runner.query = query as QueryRunner['query'];
}
