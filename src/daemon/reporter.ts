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
  const ctx = { domain: { userspace: domain.userspace, name: domain.name }, uploadedBy: run.uploadedBy, forced: run.forced };
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

/**
 * `results/` of the domain's folder; a validation-only upload's go to `results/validate/`, so that
 * checking a file never replaces the results of the real upload of the same name.
 */
export function resultsDir(dropRoot: string, userspace: string, mode: SyncRun['mode']): string {
  return path.join(dropRoot, userspace, 'results', ...(mode === 'validate' ? ['validate'] : []));
}

export interface Reporter {
  /** writes the result files, then starts the mail without waiting for it */
  report(run: SyncRun, outcome: RunOutcome): Promise<void>;
  /** waits up to `ms` for mails still being sent (at shutdown) */
  drain(ms: number): Promise<void>;
}

/**
 * The result files are written inside the run's slot (quick, and in order per domain). The mail is
 * not awaited there: an unreachable mail server, retried for a minute, must not hold up the queue.
 */
export function makeReporter(ds: DataSource, dropRoot: string, notifier: Notifier, logger: Logger): Reporter {
  const sending = new Set<Promise<unknown>>();
  return {
    async report(run, outcome) {
      const domain = await ds.getRepository(Domain).findOneByOrFail({ id: run.domainId });
      const report = runReport(run, outcome, domain);
      const log = logger.child({ runId: run.id, domain: domain.userspace });
      try {
        await writeResultFiles(resultsDir(dropRoot, domain.userspace, run.mode), run.fileName, report);
      } catch (err) {
        log.error('could not write the result files', { error: (err as Error).message });
      }
      const { notificationEmails } = await loadSettings(ds, domain.id);
      const mail = notifier.send(report, notificationEmails); // never rejects; logs its own outcome
      sending.add(mail);
      void mail.finally(() => sending.delete(mail));
    },
    async drain(ms) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(sending), new Promise((resolve) => { timer = setTimeout(resolve, ms); })]);
      clearTimeout(timer);
    },
  };
}
