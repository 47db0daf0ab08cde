import fs from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors';
import { message, type CliContext } from '../context';
import { issuesCsvChunks, plural } from '../output';
import { wholeNumber } from './common';
import { registerRunDecisions } from './run-decide';

interface ShowOptions { json?: boolean; issuesCsv?: string; showIssues: number; removals?: boolean }

export function registerRun(program: Command, cli: CliContext): void {
  const run = program.command('run').description('one sync run');

  run
    .command('show')
    .description('show a run with its counts and issues')
    .argument('<runId>', 'the run number (see `rosterdrop history`)', wholeNumber(1))
    .option('--json', 'print one JSON object, with every kept issue')
    .option('--issues-csv <file>', 'write the issues as CSV (severity,code,file,line,column,sourcedId,message); "-" for stdout')
    .option('--show-issues <n>', 'issues listed in the summary (0 = all)', wholeNumber(0), 20)
    .option('--removals', 'list what a held run would remove or deactivate (entity, external ID, name; tab-separated) instead')
    .action(cli.act(async (runId: number, opts: ShowOptions) => {
      if (opts.json && opts.issuesCsv === '-') throw new CliError('--json and --issues-csv - both want stdout; write the CSV to a file');
      const [{ Domain }, { findRun }, { loadIssues }, { renderReport, reportFromRun }] = await Promise.all([
        import('../../db/entities'), import('../../db/runs'), import('../../sync/run-store'), import('../report'),
      ]);
      await cli.withDatabase(async (ds) => {
        const row = await findRun(ds, runId);
        if (!row) throw new CliError(`unknown run ${runId}`);
        const domain = await ds.getRepository(Domain).findOneBy({ id: row.domainId });
        const held = await import('../../services/held-runs');
        if (opts.removals) {
          // paged: a held run can list a million enrollments
          for (let offset = 0; ; offset += 5000) {
            const page = await held.listHeldRemovals(ds, runId, { offset, limit: 5000 });
            if (opts.json) { cli.json({ runId, total: page.total, removals: page.rows }); if (page.total > 5000) cli.err('--json lists the first 5000; use it without --json for all'); return; }
            if (offset === 0) cli.out(`${page.total.toLocaleString('en-US')} to remove or deactivate${row.status === 'held' ? '' : ` (run ${runId} is ${row.status.replace(/_/g, ' ')})`}`);
            for (const r of page.rows) process.stdout.write(`${r.entity}\t${r.externalId}\t${r.name.replace(/[\t\r\n]/g, ' ')}\n`);
            if (offset + page.rows.length >= page.total || !page.rows.length) return;
          }
        }
        const issues = await loadIssues(ds, runId);
        const report = reportFromRun(row, domain?.userspace ?? `#${row.domainId}`, issues, row.status === 'held' ? await held.countHeldRemovals(ds, runId) : null);
        // in pieces: ten thousand issues never become one string
        if (opts.issuesCsv === '-') { for (const piece of issuesCsvChunks(issues)) process.stdout.write(piece); return; }
        if (opts.issuesCsv) {
          try {
            writeChunks(opts.issuesCsv, issuesCsvChunks(issues));
          } catch (err) {
            throw new CliError(`cannot write ${opts.issuesCsv}: ${message(err)}`);
          }
        }
        if (opts.json) cli.json(report);
        else cli.out(renderReport(report, opts.showIssues));
        if (opts.issuesCsv) cli.err(`wrote ${plural(issues.length, 'issue')} to ${opts.issuesCsv}`);
      });
    }));

  registerRunDecisions(run, cli);
}

function writeChunks(file: string, pieces: Iterable<string>): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const piece of pieces) fs.writeFileSync(fd, piece);
  } finally {
    fs.closeSync(fd);
  }
}
