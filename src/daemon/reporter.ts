/**
 * After every run: the result files in the user's FTPS folder (`results/<upload>.json` and `.txt`)
 * and the email to the domain's notification addresses. Neither can fail the sync: problems are
 * logged (the mailer retries on its own), and what is not done yet stays recorded in the run, for
 * the runner to finish later (after a crash, or once the disk takes the files again).
 */
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { Domain, type SyncRun } from '../db/entities';
import { loadSettings } from '../db/settings-store';
import type { Notifier } from '../notify/mailer';
import { runCounts } from '../db/runs';
import { claimMail, markMailed } from '../queue/report-state';
import type { RunOutcome } from '../queue/runner';
import { countHeldRemovals } from '../services/held-runs';
import { loadIssues } from '../sync/run-store';
import { reportFromResult, type RunReport } from '../report/run-report';
import { issuesFileName, writeResultFiles } from '../report/result-files';
import type { Logger } from '../util/logger';

export function runReport(run: SyncRun, outcome: RunOutcome, domain: Domain): RunReport {
  const ctx = { domain: { userspace: domain.userspace, name: domain.name }, uploadedBy: run.uploadedBy, forced: run.forced };
  if ('result' in outcome) {
    const report = reportFromResult(outcome.result, ctx);
    if (outcome.result.status === 'held') report.held = { removals: outcome.result.heldRemovals ?? 0, link: null };
    return report;
  }
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
  return path.join(dropRoot, userspace, ...resultsArea(mode).split('/'));
}

/** the results folder as the uploader sees it over FTPS */
function resultsArea(mode: SyncRun['mode']): string {
  return mode === 'validate' ? 'results/validate' : 'results';
}

/** Which parts of a run's report to make: both after a run, what is left of them after a crash. */
export interface ReportParts {
  files: boolean;
  mail: boolean;
}

export interface Reporter {
  /**
   * Writes the result files, then starts the mail (if this daemon gets its claim) without waiting
   * for it. `outcome` 'stored' rebuilds the report from the run's row and issues (a report a crash
   * cut short). Resolves with false when the result files could not be written.
   */
  report(run: SyncRun, outcome: RunOutcome | 'stored', parts?: ReportParts): Promise<boolean>;
  /** waits up to `ms` for mails still being sent (at shutdown) */
  drain(ms: number): Promise<void>;
}

/** A finished run's report as its row and issues recorded it. */
async function storedReport(ds: DataSource, run: SyncRun, domain: Domain): Promise<RunReport> {
  const ctx = { domain: { userspace: domain.userspace, name: domain.name }, uploadedBy: run.uploadedBy, forced: run.forced };
  const issues = await loadIssues(ds, run.id);
  const issueTotals = { error: run.errorCount, warning: run.warningCount, info: run.infoCount };
  return {
    runId: run.id, ...ctx, fileName: run.fileName, sha256: run.sha256, status: run.status, validateOnly: run.mode === 'validate',
    message: run.message, counts: run.counts ? runCounts(run) : null, issues, issueTotals,
    issuesDropped: Math.max(0, issueTotals.error + issueTotals.warning + issueTotals.info - issues.length),
    startedAt: run.startedAt, finishedAt: run.finishedAt ?? new Date(), durationMs: run.durationMs,
  };
}

/**
 * The result files are written inside the run's slot (quick, and in order per domain). The mail is
 * not awaited there: an unreachable mail server, retried for a minute, must not hold up the queue.
 * What each part has done is recorded in the run (queue/report-state.ts).
 */
export interface ReporterOptions {
  /** the web admin's address (ROSTERDROP_HTTP_PUBLIC_URL): a held run's mail links to its page */
  publicUrl?: string | null;
  /** ROSTERDROP_HELD_DAYS, said in a held run's mail */
  heldDays?: number;
}

/** What a held run's report adds, and who decided on an approved one. */
async function addDecision(ds: DataSource, run: SyncRun, report: RunReport, opts: ReporterOptions): Promise<void> {
  if (report.status === 'held') {
    const removals = report.held?.removals ?? await countHeldRemovals(ds, run.id);
    report.held = { removals, link: opts.publicUrl ? `${opts.publicUrl}/runs/${run.id}` : null, expiresInDays: opts.heldDays };
  }
  if (run.approved && run.decidedBy) report.decision = { by: run.decidedBy, at: run.decidedAt, approved: true };
}

export function makeReporter(ds: DataSource, dropRoot: string, notifier: Notifier, logger: Logger, opts: ReporterOptions = {}): Reporter {
  const sending = new Set<Promise<unknown>>();
  return {
    async report(run, outcome, parts = { files: true, mail: true }) {
      const domain = await ds.getRepository(Domain).findOneByOrFail({ id: run.domainId });
      const report = outcome === 'stored' ? await storedReport(ds, run, domain) : runReport(run, outcome, domain);
      await addDecision(ds, run, report, opts);
      // written with the result files; a part written later (after a crash or a full disk) writes it too
      report.issuesFile = `${resultsArea(run.mode)}/${issuesFileName(run.fileName)}`;
      const log = logger.child({ runId: run.id, domain: domain.userspace });
      let written = true;
      if (parts.files) {
        try {
          await writeResultFiles(resultsDir(dropRoot, domain.userspace, run.mode), run.fileName, report);
        } catch (err) {
          written = false;
          log.error('could not write the result files; the daemon tries again within a minute', { error: (err as Error).message });
        }
      }
      if (parts.mail && await claimMail(ds, run.id)) {
        const { notificationEmails } = await loadSettings(ds, domain.id);
        const mail = notifier.send(report, notificationEmails) // never rejects; logs its own outcome
          .then(async (sent) => {
            // a notifier closed by a stop sent nothing: the mail stays to do, for the next start
            if (sent.attempts === 0 && sent.error) return;
            await markMailed(ds, run.id);
          })
          .catch((err: unknown) => log.error('could not record that the report mail went', { error: (err as Error).message }));
        sending.add(mail);
        void mail.finally(() => sending.delete(mail));
      }
      return written;
    },
    async drain(ms) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(sending), new Promise((resolve) => { timer = setTimeout(resolve, ms); })]);
      clearTimeout(timer);
    },
  };
}
