/**
 * Ctrl-C and SIGTERM during a sync run by the CLI (`sync`, `run approve`): the first asks the
 * engine to stop cleanly (rolled back and recorded before the commit; password hashing stopped
 * after it), a second quits at once.
 */
import type { SyncResult } from '../sync/types';
import { EXIT, type ExitCode } from './errors';

export interface StopSignals {
  signal: AbortSignal;
  /** the exit code of a sync that a signal really stopped; null when it stopped nothing */
  exitCode(result: Pick<SyncResult, 'status' | 'passwordsLeft'>): ExitCode | null;
  dispose(): void;
}

/** `beforeMessage`: e.g. clears a progress bar before the notice is written. */
export function stopOnSignals(beforeMessage?: () => void): StopSignals {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    beforeMessage?.();
    if (stop.signal.aborted) process.exit(signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
    process.stderr.write(`${signal}: stopping the sync (again to quit at once)…\n`);
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    // a signal that came too late to stop anything (after the commit, with nothing left to hash) changes nothing
    exitCode: (result) => (stop.signal.aborted && (result.status === 'failed' || result.passwordsLeft)
      ? (stop.signal.reason === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted)
      : null),
    dispose: () => { process.off('SIGINT', onSignal).off('SIGTERM', onSignal); },
  };
}
