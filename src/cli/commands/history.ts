import type { Command } from 'commander';
import type { CliContext } from '../context';
import { formatDuration, formatInstant, oneLine, table } from '../output';
import { wholeNumber } from './common';

export function registerHistory(program: Command, cli: CliContext): void {
  program
    .command('history')
    .description('a domain\'s sync history, newest first')
    .argument('<userspace>')
    .option('--limit <n>', 'how many runs (0 = all)', wholeNumber(0), 20)
    .option('--json', 'print one JSON object')
    .action(cli.act(async (userspace: string, opts: { limit: number; json?: boolean }) => {
      const { listRuns, runCounts } = await import('../../db/runs');
      await cli.withDatabase(async (ds) => {
        const domain = await cli.requireDomain(ds, userspace);
        const runs = await listRuns(ds, domain.id, opts.limit);
        if (opts.json) {
          cli.json({
            domain: userspace,
            runs: runs.map((r) => ({
              runId: r.id, status: r.status, mode: r.mode, forced: r.forced, source: r.source, file: r.fileName, sha256: r.sha256,
              sizeBytes: r.sizeBytes, startedAt: r.startedAt?.toISOString() ?? null, finishedAt: r.finishedAt?.toISOString() ?? null,
              durationMs: r.durationMs, issueTotals: { error: r.errorCount, warning: r.warningCount, info: r.infoCount },
              counts: runCounts(r), message: r.message,
              decision: r.decidedBy ? { by: r.decidedBy, at: r.decidedAt?.toISOString() ?? null, approved: r.approved } : null,
            })),
          });
          return;
        }
        if (!runs.length) { cli.out(`no syncs for ${userspace} yet`); return; }
        cli.out(table(['run', 'started', 'source', 'mode', 'status', 'file', 'errors', 'warnings', 'took', 'message'],
          runs.map((r) => [r.id, formatInstant(r.startedAt ?? r.createdAt), r.source, r.mode + (r.forced ? ' (forced)' : ''),
            statusWithDecision(r), r.fileName, r.errorCount, r.warningCount, formatDuration(r.durationMs), truncate(oneLine(r.message), 80)]),
        [0, 6, 7]));
      });
    }));
}

/** `held`, `succeeded (approved by x)`, `discarded by x` */
function statusWithDecision(r: { status: string; decidedBy: string | null; approved: boolean }): string {
  if (!r.decidedBy) return r.status;
  if (r.status === 'discarded') return `discarded by ${r.decidedBy}`;
  return r.approved ? `${r.status} (approved by ${r.decidedBy})` : r.status;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
