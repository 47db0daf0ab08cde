/**
 * After every run: the result files in the user's FTPS folder (`results/<upload>.json` and `.txt`)
 * and the email to the domain's notification addresses. Neither can fail the sync: problems are
 * logged (the mailer retries on its own).
 */
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { Domain, type SyncRun } from '../db/entities';
import { loadSettings } from '../db/settings-store';
import type { Notifier } from '../notify/mailer';
import type { RunOutcome } from '../queue/runner';
import { reportFromResult, type RunReport } from '../report/run-report';
import { writeResultFiles } from '../report/result-files';
import type { Logger } from '../util/logger';

export function runReport(run: SyncRun, outcome: RunOutcome, domain: Domain): RunReport {
  const ctx = { domain: { userspace: domain.userspace, name: domain.name }, uploadedBy: run.uploadedBy };
  if ('result' in outcome) return reportFromResult(outcome.result, ctx);
  const finishedAt = new Date();
  return {
    runId: run.id, ...ctx, fileName: run.fileName, sha256: run.sha256,
    status: 'skipped' in outcome ? 'skipped' : 'failed', validateOnly: run.mode === 'validate',
    message: 'skipped' in outcome ? outcome.skipped : outcome.failed,
    counts: null, issues: [], issueTotals: { error: 0, warning: 0, info: 0 }, issuesDropped: 0,
    startedAt: run.startedAt, finishedAt, durationMs: run.startedAt ? finishedAt.getTime() - run.startedAt.getTime() : null,
  };
}

export function makeReporter(ds: DataSource, dropRoot: string, notifier: Notifier, logger: Logger) {
  return async (run: SyncRun, outcome: RunOutcome): Promise<void> => {
    const domain = await ds.getRepository(Domain).findOneByOrFail({ id: run.domainId });
    const report = runReport(run, outcome, domain);
    const log = logger.child({ runId: run.id, domain: domain.userspace });
    try {
      await writeResultFiles(path.join(dropRoot, domain.userspace, 'results'), run.fileName, report);
    } catch (err) {
      log.error('could not write the result files', { error: (err as Error).message });
    }
    const { notificationEmails } = await loadSettings(ds, domain.id);
    const sent = await notifier.send(report, notificationEmails);
    if (notificationEmails.length) log.info(sent.delivered ? 'report mailed' : 'report not mailed', { recipients: notificationEmails.length, attempts: sent.attempts });
  };
}
