/**
 * What the daemon's thread and a sync's worker thread (engine-worker/thread.ts) say to each other.
 * Only structured-cloneable data: a SyncRequest's callbacks and signals become messages.
 */
import type { DatabaseOptions } from '../../db/data-source';
import type { SyncRun } from '../../db/entities';
import type { ResumeOutcome } from '../../sync/password-resume';
import type { SyncProgress, SyncRequest, SyncResult } from '../../sync/types';

/** The request's plain fields: everything but its callbacks and signals. */
export type PlainRequest = Omit<SyncRequest, 'signal' | 'hashInBackground' | 'onProgress' | 'onResult'>;

export type WorkerJob =
  | { kind: 'run'; req: PlainRequest; abortable: boolean; progress: boolean; hashInBackground: boolean }
  | { kind: 'resume'; run: SyncRun };

export interface WorkerInit {
  database: Pick<DatabaseOptions, 'databaseUrl' | 'sqlitePath'>;
  /** the daemon's log level: lines below it are not sent at all */
  logLevel: string;
  job: WorkerJob;
}

export type ToWorker =
  /** the request's signal fired: the sync rolls back */
  | { type: 'abort'; reason: string }
  /** hashInBackground's signal fired: hashing stops after its batch */
  | { type: 'stop-hashing'; reason: string };

export type FromWorker =
  | { type: 'log'; level: string; message: string; meta: Record<string, unknown> }
  | { type: 'progress'; progress: SyncProgress }
  | { type: 'result'; result: SyncResult }
  | { type: 'hash-started' }
  | { type: 'hash-done'; left: number }
  | { type: 'hash-failed'; error: string }
  /** run() returned */
  | { type: 'done'; result: SyncResult }
  | { type: 'resumed'; outcome: ResumeOutcome }
  /** run() or resumePasswords() threw */
  | { type: 'failed'; error: string };
