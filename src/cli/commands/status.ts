/**
 * `rosterdrop status`: what the daemon is doing, read from the database (so it works while the
 * daemon runs, and for every daemon sharing a PostgreSQL): queued and running syncs in order, held
 * runs waiting for a decision, and each domain's last finished run.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { formatDuration, formatInstant, table } from '../output';

export function registerStatus(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('the queue, running syncs and each domain\'s last run')
    .option('--json', 'print one JSON object')
    .action(cli.act(async (opts: { json?: boolean }) => {
      const { In, Not } = await import('typeorm');
      const { Domain, SyncRun } = await import('../../db/entities');
      await cli.withDatabase(async (ds) => {
        const domains = new Map((await ds.getRepository(Domain).find()).map((d) => [d.id, d.userspace]));
        const open = await ds.getRepository(SyncRun).find({ where: { status: In(['queued', 'running']) }, order: { id: 'ASC' } });
        // The newest finished run per domain: one query per domain stays cheap at district scale.
        const last = [];
        for (const [id, userspace] of [...domains].sort((a, b) => (a[1] < b[1] ? -1 : 1))) {
          const run = await ds.getRepository(SyncRun).findOne({ where: { domainId: id, status: Not(In(['queued', 'running'])) }, order: { id: 'DESC' } });
          if (run) last.push({ userspace, run });
        }
        const heldRuns = await ds.getRepository(SyncRun).find({ where: { status: 'held' }, order: { id: 'ASC' } });
        const openRuns = open.map((r) => ({
          runId: r.id, domain: domains.get(r.domainId) ?? String(r.domainId), status: r.status, mode: r.mode, file: r.fileName,
          uploadedBy: r.uploadedBy, queuedAt: r.createdAt.toISOString(), startedAt: r.startedAt?.toISOString() ?? null, attempts: r.attempts,
        }));
        if (opts.json) {
          cli.json({
            queue: openRuns.filter((r) => r.status === 'queued'),
            running: openRuns.filter((r) => r.status === 'running'),
            held: heldRuns.map((r) => ({
              runId: r.id, domain: domains.get(r.domainId) ?? String(r.domainId), file: r.fileName, uploadedBy: r.uploadedBy,
              heldAt: r.finishedAt?.toISOString() ?? null, message: r.message,
            })),
            lastRuns: last.map(({ userspace, run }) => ({
              domain: userspace, runId: run.id, status: run.status, mode: run.mode, file: run.fileName,
              finishedAt: run.finishedAt?.toISOString() ?? null, durationMs: run.durationMs,
            })),
          });
          return;
        }
        const running = open.filter((r) => r.status === 'running');
        const queued = open.filter((r) => r.status === 'queued');
        cli.out(running.length
          ? `running:\n${table(['run', 'domain', 'file', 'mode', 'started', 'attempt'], running.map((r) => [r.id, domains.get(r.domainId) ?? '', r.fileName, r.mode, formatInstant(r.startedAt), r.attempts]), [0, 5])}`
          : 'running: none');
        cli.out(queued.length
          ? `queued (in the order they will run, one per domain at a time):\n${table(['run', 'domain', 'file', 'mode', 'queued', 'by'], queued.map((r) => [r.id, domains.get(r.domainId) ?? '', r.fileName, r.mode, formatInstant(r.createdAt), r.uploadedBy ?? '']), [0])}`
          : 'queued: none');
        cli.out(heldRuns.length
          ? `held for review (\`rosterdrop run approve <run>\` or \`run discard <run>\`):\n${table(['run', 'domain', 'file', 'held since', 'by'], heldRuns.map((r) => [r.id, domains.get(r.domainId) ?? '', r.fileName, formatInstant(r.finishedAt), r.uploadedBy ?? '']), [0])}`
          : 'held: none');
        cli.out(last.length
          ? `last runs:\n${table(['domain', 'run', 'status', 'mode', 'file', 'finished', 'took'], last.map(({ userspace, run }) => [userspace, run.id, run.status, run.mode, run.fileName, formatInstant(run.finishedAt), formatDuration(run.durationMs)]), [1])}`
          : 'last runs: none yet');
      });
    }));
}
