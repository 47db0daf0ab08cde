/** Exit codes and the error a command throws to stop with one clear line on stderr. */
import type { SyncIssue } from '../oneroster/issues';
import type { SyncStatus } from '../sync/types';

export const EXIT = {
  /** the command did what was asked; a sync succeeded, or validated without errors */
  ok: 0,
  /** an unexpected internal error (a bug, or the environment failed under us) */
  internal: 1,
  /** bad usage or arguments (also invalid settings), or an unknown domain, user or run */
  usage: 2,
  /** the sync completed with errors: the rows with errors were skipped, the rest was applied (or would be) */
  completedWithErrors: 3,
  /** the upload was rejected as a whole (not a zip, a missing file, bad headers…); nothing changed */
  failed: 4,
  /** held for review (over the safety threshold, or autoCommit off), or refused by an older version; nothing changed */
  refused: 5,
  /** the database cannot be opened, or PostgreSQL needs `rosterdrop migrate` */
  database: 6,
  /** another sync of the domain is running (the daemon's, or another shell's); nothing was done */
  busy: 7,
  /** cancelled with Ctrl-C (SIGINT) at a prompt or during a sync */
  interrupted: 130,
  /** a sync stopped by SIGTERM */
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCode = EXIT.usage) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * The exit code of a sync. A validation-only run exits with the code the same sync would have
 * when applied: 3 when it found errors, 5 when the apply would be held by the safety threshold.
 */
export function syncExitCode(status: SyncStatus, issues: readonly Pick<SyncIssue, 'code'>[], errors: number, forced: boolean): ExitCode {
  switch (status) {
    case 'succeeded': return EXIT.ok;
    case 'completed_with_errors': return EXIT.completedWithErrors;
    case 'failed': return EXIT.failed;
    case 'refused': case 'held': return EXIT.refused;
    case 'validated':
      // without --force the engine warns apply.safety_threshold only when an apply would be held
      if (!forced && issues.some((i) => i.code === 'apply.safety_threshold')) return EXIT.refused;
      return errors ? EXIT.completedWithErrors : EXIT.ok;
  }
}

export const EXIT_HELP = `
Exit codes:
  0  done; a sync succeeded (or validated without errors)
  1  unexpected internal error (run with --verbose for details)
  2  usage error, or unknown domain, user or run
  3  sync completed with errors (rows with errors skipped), or validated with errors
  4  sync failed: the upload was rejected, nothing changed
  5  sync held for review (over the safety threshold, or autoCommit off): nothing changed;
       \`rosterdrop run approve <run>\` applies it, \`run discard\` drops it (or use --force if intended)
  6  database unavailable, or PostgreSQL needs \`rosterdrop migrate\`
  7  another sync of the domain is running (the daemon's or another shell's): nothing was done; try again later
  130, 143  stopped by Ctrl-C (SIGINT) or SIGTERM: a sync not yet committed was rolled back;
       after its commit, new users whose password was not hashed yet have no password
With --validate-only a sync exits with the code its apply would have.`;
