/** The sync engine's public contract: what callers (CLI, daemon, bench) hand in and get back. */
import type { SyncIssue } from '../oneroster/issues';

/** where a run came from; `web` = the domain page's upload form, `api` = POST /api/v1/domains/{userspace}/uploads */
export type SyncSource = 'cli' | 'ftps' | 'watcher' | 'web' | 'api' | 'bench' | 'test';
/**
 * `held`: over the safety threshold, or autoCommit off: nothing changed, the upload is kept and the
 * run waits for an administrator's approval (src/services/held-runs.ts). `refused` is what such a
 * run ended as before held runs existed: old history rows keep it.
 */
export type SyncStatus = 'succeeded' | 'completed_with_errors' | 'failed' | 'refused' | 'held' | 'validated';
/** `discarded` and `expired`: the ends of a held run that was never applied */
export type RunStatus = SyncStatus | 'queued' | 'running' | 'skipped' | 'discarded' | 'expired';

export const ENTITY_KINDS = ['domains', 'users', 'observers', 'courses', 'enrollments'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];
export const ACTIONS = ['created', 'updated', 'unchanged', 'removed', 'restored'] as const;
/** removed = deleted or deactivated (marked inactive / withdrawn) */
export type Action = (typeof ACTIONS)[number];
export type SyncCounts = Record<EntityKind, Record<Action, number>>;

export function emptyCounts(): SyncCounts {
  const counts = {} as SyncCounts;
  for (const kind of ENTITY_KINDS) counts[kind] = { created: 0, updated: 0, unchanged: 0, removed: 0, restored: 0 };
  return counts;
}

export interface SyncRequest {
  /** the domain whose folder / admin the upload came from; its settings govern the sync */
  domainId: number;
  zipPath: string;
  /** the name the file was uploaded as; defaults to the zip's base name */
  fileName?: string;
  source: SyncSource;
  /** validate and plan only; change nothing */
  validateOnly?: boolean;
  /** run even past the safety threshold (and with autoCommit off: a forced upload is not held) */
  force?: boolean;
  /**
   * the run `runId` was held and is now approved: applied past the threshold and autoCommit, unless
   * the removals it plans now differ from those it was held with (the domain changed in between):
   * then it is held again with the new list
   */
  approved?: boolean;
  /** reuse a run row created earlier (e.g. queued by the daemon) instead of creating one */
  runId?: number;
  /**
   * Stops the sync (CLI: Ctrl-C, SIGTERM): before its commit, it rolls back and is recorded as
   * failed; after it, password hashing stops between batches (see SyncResult.passwordsLeft).
   */
  signal?: AbortSignal;
  /**
   * Hash new users' passwords after run() has returned (the daemon on PostgreSQL: hours of hashing
   * after a district's first sync must not hold its queue). The sync's connection stays with the
   * hashing until `started`'s promise settles with the number left unhashed; `signal` stops it
   * between batches. Without this, run() hashes before it returns.
   */
  hashInBackground?: { signal: AbortSignal; started: (left: Promise<number>) => void };
  onProgress?: (progress: SyncProgress) => void;
  /**
   * Called with the result as soon as it is recorded, before new users' passwords are hashed
   * (which can take hours on a first sync of a large district): report now, wait for run() later.
   */
  onResult?: (result: SyncResult) => void;
  /**
   * The caller (the daemon) reports the run after it ends: recorded with the result, in the same
   * commit, so that a crash before the report is done is finished later (src/queue/report-state.ts).
   */
  reportPending?: boolean;
}

export interface SyncProgress {
  phase: 'read' | 'validate' | 'plan' | 'apply' | 'passwords' | 'done';
  file?: string;
  /** bytes of the current phase done and in total, when known */
  done: number;
  total: number;
}

export interface SyncResult {
  runId: number;
  domainId: number;
  status: SyncStatus;
  mode: 'apply' | 'validate';
  fileName: string;
  sha256: string;
  counts: SyncCounts;
  /** the kept issues (capped); totals count every one */
  issues: SyncIssue[];
  issueTotals: { error: number; warning: number; info: number };
  issuesDropped: number;
  /** one line for humans, e.g. why a sync was held */
  message: string;
  /** a held run: how many removals and deactivations it listed (held_removal rows) */
  heldRemovals?: number;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  /** milliseconds per phase: read, validate, plan, apply, commit (those that ran) */
  timings: Record<string, number>;
  /** passwords still being hashed after the roster committed (see passwords.ts) */
  passwordsPending: number;
  /**
   * set once hashing is over: how many of those are still unhashed because the sync was stopped
   * (those users have no password login until one is set)
   */
  passwordsLeft?: number;
}
