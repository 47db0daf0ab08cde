import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { DataSource } from 'typeorm';
import type { Domain } from '../../db/entities';
import type { SyncProgress, SyncResult } from '../../sync/types';
import { CliError, EXIT, syncExitCode, type ExitCode } from '../errors';
import type { CliContext } from '../context';
import { ProgressBar } from '../progress';
import { stopOnSignals } from '../stop-signals';
import { wholeNumber } from './common';

interface SyncOptions {
  validateOnly?: boolean;
  force?: boolean;
  json?: boolean;
  name?: string;
  showIssues: number;
  progress: boolean;
}

export function registerSync(program: Command, cli: CliContext): void {
  program
    .command('sync')
    .description('sync a OneRoster 1.1 CSV zip into a domain (one transaction: all or nothing per run)')
    .argument('<userspace>', 'the domain whose settings govern the sync; orgs become its subdomains')
    .argument('<zip>', 'the OneRoster zip file')
    .option('--validate-only', 'check everything and report what would change; change nothing')
    .option('--force', 'apply even when more than the safety threshold would be removed')
    .option('--json', 'print one JSON object (status, counts, issues, …) on stdout')
    .option('--name <file name>', 'the name the file was uploaded as (default: the zip\'s base name)')
    .option('--show-issues <n>', 'issues listed in the summary (0 = all)', wholeNumber(0), 20)
    .option('--no-progress', 'no progress bar (it is only shown when stderr is a terminal)')
    .action(cli.act(async (userspace: string, zip: string, opts: SyncOptions): Promise<ExitCode> => {
      const zipPath = path.resolve(zip);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(zipPath);
      } catch {
        throw new CliError(`no such file: ${zip}`);
      }
      if (!stat.isFile()) throw new CliError(`not a file: ${zip}`);
      try {
        fs.accessSync(zipPath, fs.constants.R_OK);
      } catch {
        throw new CliError(`cannot read ${zip}: permission denied`);
      }
      if (opts.name !== undefined && (!opts.name.trim() || opts.name.length > 255)) throw new CliError('--name must be 1-255 characters');

      const [{ SyncEngine }, { renderReport, reportFromResult }, { domainLocks }, { failAbandonedRuns }] = await Promise.all([
        import('../../sync/engine'), import('../report'), import('../../queue/domain-lock'), import('../../sync/run-store')]);
      const logger = await cli.logger();
      return cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, userspace);
        // one sync per domain, also against the daemon and other shells (queue/domain-lock.ts)
        const held = await domainLocks(ds).tryAcquire(domain.id);
        if (!held) {
          throw new CliError(`another sync of ${domain.userspace} is running (the daemon's, or another \`rosterdrop sync\`); ` +
            'nothing was done: run this again when it has finished', EXIT.busy);
        }
        let unlocked: Promise<void> | null = null;
        const unlock = (): Promise<void> => (unlocked ??= held.release());
        try {
          const abandoned = await failAbandonedRuns(ds, domain.id);
          if (abandoned) process.stderr.write(`${abandoned} earlier run(s) of ${domain.userspace} had died before finishing; marked failed (they changed nothing)\n`);
          return await syncLocked(ds, domain, unlock);
        } finally {
          await unlock();
        }
      });

      async function syncLocked(ds: DataSource, domain: Domain, unlock: () => Promise<void>): Promise<ExitCode> {
        const bar = opts.progress && process.stderr.isTTY ? new ProgressBar(process.stderr) : null;
        if (bar) cli.beforeLog = () => bar.clear();
        // the report is printed as soon as the run is recorded; hashing new users' passwords follows,
        // and does not hold the domain (it has a lock of its own): the daemon's next sync can run
        const onResult = (r: SyncResult): void => {
          void unlock();
          bar?.clear();
          const report = reportFromResult(r, domain.userspace, !!opts.force);
          if (opts.json) cli.json(report);
          else cli.out(renderReport(report, opts.showIssues));
          if (r.passwordsPending && !opts.json) process.stderr.write(`hashing ${r.passwordsPending} new users' passwords…\n`);
        };
        const stop = stopOnSignals(() => bar?.clear());
        let result: SyncResult;
        try {
          const engine = new SyncEngine(ds, { logger });
          result = await engine.run({
            domainId: domain.id, zipPath, fileName: opts.name, source: 'cli', validateOnly: !!opts.validateOnly, force: !!opts.force,
            signal: stop.signal,
            onProgress: bar ? (p: SyncProgress) => bar.update(p) : undefined,
            onResult,
          });
        } finally {
          stop.dispose();
          bar?.stop();
          cli.beforeLog = null;
        }
        if (result.status === 'held') {
          // kept for `rosterdrop run approve` (or the web's Approve): a copy, the file given stays the caller's
          const [{ keepHeldUpload, heldDirOf }, { defaultDataDir }] = await Promise.all([import('../../services/held-runs'), import('../../config/database')]);
          try {
            const kept = await keepHeldUpload(ds, { id: result.runId, fileName: result.fileName }, zipPath, heldDirOf(defaultDataDir(cli.env)), 'copy');
            if (!opts.json) process.stderr.write(`kept a copy of the upload for the decision: ${kept}\n`);
          } catch (err) {
            process.stderr.write(`could not keep a copy of the upload (${(err as Error).message}): approving run ${result.runId} will not be possible; upload the file again instead\n`);
          }
        }
        if (result.passwordsLeft) {
          process.stderr.write(`${result.passwordsLeft} of ${result.passwordsPending} new users have no password yet ` +
            `(hashing was stopped); the daemon (\`rosterdrop serve\`) resumes it from ${zip}, as long as the file stays there: within a minute when it is running, else when it next starts\n`);
        }
        return stop.exitCode(result) ?? syncExitCode(result.status, result.issues, result.issueTotals.error, !!opts.force);
      }
    }));
}
