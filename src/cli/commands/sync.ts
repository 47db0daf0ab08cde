import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { SyncProgress, SyncResult } from '../../sync/types';
import { CliError, syncExitCode, type ExitCode } from '../errors';
import type { CliContext } from '../context';
import { ProgressBar } from '../progress';
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

      const [{ SyncEngine }, { renderReport, reportFromResult }] = await Promise.all([import('../../sync/engine'), import('../report')]);
      const logger = await cli.logger();
      return cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, userspace);
        const bar = opts.progress && process.stderr.isTTY ? new ProgressBar(process.stderr) : null;
        if (bar) cli.beforeLog = () => bar.clear();
        // the report is printed as soon as the run is recorded; hashing new users' passwords follows
        const print = (r: SyncResult): void => {
          bar?.clear();
          const report = reportFromResult(r, domain.userspace, !!opts.force);
          if (opts.json) cli.json(report);
          else cli.out(renderReport(report, opts.showIssues));
          if (r.passwordsPending && !opts.json) process.stderr.write(`hashing ${r.passwordsPending} new users' passwords…\n`);
        };
        let result: SyncResult;
        try {
          const engine = new SyncEngine(ds, { logger });
          result = await engine.run({
            domainId: domain.id, zipPath, fileName: opts.name, source: 'cli', validateOnly: !!opts.validateOnly, force: !!opts.force,
            onProgress: bar ? (p: SyncProgress) => bar.update(p) : undefined,
            onResult: print,
          });
        } finally {
          bar?.stop();
          cli.beforeLog = null;
        }
        return syncExitCode(result.status, result.issues, result.issueTotals.error, !!opts.force);
      });
    }));
}
