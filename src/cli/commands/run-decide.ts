/**
 * `rosterdrop run approve <id>` and `run discard <id>`: the decisions on a held run from a shell.
 * Approve applies the run in this process (no daemon needed), as the same run, under the domain's
 * lock like `rosterdrop sync`, with its report and exit codes; see services/held-runs.ts for why
 * the web goes through the queue instead.
 */
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { SyncResult } from '../../sync/types';
import { CliError, EXIT, syncExitCode, type ExitCode } from '../errors';
import type { CliContext } from '../context';
import { stopOnSignals } from '../stop-signals';
import { wholeNumber } from './common';

interface DecideOptions { json?: boolean; showIssues: number; by?: string }

/** who decided, as recorded: `--by`, else the shell's user */
function actor(opts: DecideOptions): string {
  const by = opts.by?.trim();
  if (by !== undefined && (!by || by.length > 320)) throw new CliError('--by must be 1-320 characters');
  return by ?? `${os.userInfo().username} (cli)`;
}

export function registerRunDecisions(run: Command, cli: CliContext): void {
  run
    .command('approve')
    .description('apply a held run (over the safety threshold, or autoCommit off) as it is, past the threshold; held again if its removals changed since')
    .argument('<runId>', 'the held run (see `rosterdrop history`)', wholeNumber(1))
    .option('--by <login>', 'who approves, as recorded (default: your user name)')
    .option('--json', 'print one JSON object (as `sync --json`)')
    .option('--show-issues <n>', 'issues listed in the summary (0 = all)', wholeNumber(0), 20)
    .action(cli.act(async (runId: number, opts: DecideOptions): Promise<ExitCode> => {
      const by = actor(opts);
      const [{ findRun }, { Domain }, { SyncEngine }, { renderReport, reportFromResult }, { domainLocks }, { failAbandonedRuns }, held, { defaultDataDir }] = await Promise.all([
        import('../../db/runs'), import('../../db/entities'), import('../../sync/engine'), import('../report'), import('../../queue/domain-lock'),
        import('../../sync/run-store'), import('../../services/held-runs'), import('../../config/database')]);
      const logger = await cli.logger();
      return cli.withDatabase(async (ds) => {
        const row = await findRun(ds, runId);
        if (!row) throw new CliError(`unknown run ${runId}`);
        const domain = await ds.getRepository(Domain).findOneByOrFail({ id: row.domainId });
        const lock = await domainLocks(ds).tryAcquire(domain.id);
        if (!lock) {
          throw new CliError(`another sync of ${domain.userspace} is running (the daemon's, or a \`rosterdrop sync\`); nothing was done: run this again when it has finished`, EXIT.busy);
        }
        let unlocked: Promise<void> | null = null;
        const unlock = (): Promise<void> => (unlocked ??= lock.release());
        try {
          await failAbandonedRuns(ds, domain.id);
          let claimed;
          try {
            claimed = await held.claimHeldRunForApproval(ds, runId, by);
          } catch (err) {
            if (err instanceof held.HeldRunError) throw new CliError(err.message);
            throw err;
          }
          const stop = stopOnSignals();
          let result: SyncResult;
          try {
            result = await new SyncEngine(ds, { logger }).run({
              domainId: domain.id, zipPath: claimed.zipPath, fileName: row.fileName, source: row.source, runId, approved: true, signal: stop.signal,
              onResult: (r) => {
                void unlock();
                const report = { ...reportFromResult(r, domain.userspace, false), source: row.source, decision: { by, at: claimed.run.decidedAt?.toISOString() ?? null, approved: true } };
                if (opts.json) cli.json(report);
                else cli.out(renderReport(report, opts.showIssues));
              },
            });
          } finally {
            stop.dispose();
          }
          await held.finishApprovedUpload(ds, runId, claimed.zipPath, path.join(defaultDataDir(cli.env), 'archive'), result.status, result.passwordsLeft ?? 0)
            .catch((err: unknown) => cli.err(`could not archive ${claimed.zipPath}: ${(err as Error).message}`));
          return stop.exitCode(result) ?? syncExitCode(result.status, result.issues, result.issueTotals.error, true);
        } finally {
          await unlock();
        }
      });
    }));

  run
    .command('discard')
    .description('end a held run without applying it; its kept upload is deleted')
    .argument('<runId>', 'the held run (see `rosterdrop history`)', wholeNumber(1))
    .option('--by <login>', 'who discards, as recorded (default: your user name)')
    .option('--json', 'print one JSON object')
    .action(cli.act(async (runId: number, opts: Omit<DecideOptions, 'showIssues'>) => {
      const by = actor({ ...opts, showIssues: 0 });
      const held = await import('../../services/held-runs');
      await cli.withDatabase(async (ds) => {
        let run;
        try {
          run = await held.discardHeldRun(ds, runId, by);
        } catch (err) {
          if (err instanceof held.HeldRunError) throw new CliError(err.message);
          throw err;
        }
        if (opts.json) cli.json({ runId: run.id, status: run.status, decidedBy: run.decidedBy, decidedAt: run.decidedAt?.toISOString() ?? null });
        else cli.out(`run ${run.id} discarded by ${by}: nothing was changed, and its upload was deleted`);
      });
    }));
}
