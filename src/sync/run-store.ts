/**
 * The sync history: one sync_run row per sync and its issues. The row is written before the sync
 * starts; its result commits with an applied sync's changes, and is written after the rollback of
 * any other sync, so a failed or refused sync is still recorded.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { In, IsNull, MoreThan, type DataSource } from 'typeorm';
import { SyncIssueRow, SyncRun } from '../db/entities';
import type { SqlSession } from '../db/sql-session';
import type { SyncIssue } from '../oneroster/issues';
import { shorten } from '../oneroster/shorten';
import type { SyncRequest, SyncResult } from './types';

export async function fileDigest(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function startRun(ds: DataSource, req: SyncRequest, digest: { sha256: string; size: number }, startedAt: Date): Promise<SyncRun> {
  const repo = ds.getRepository(SyncRun);
  const fields = {
    domainId: req.domainId, source: req.source, fileName: (req.fileName ?? path.basename(req.zipPath)).slice(0, 255),
    sha256: digest.sha256, sizeBytes: digest.size, mode: req.validateOnly ? 'validate' as const : 'apply' as const,
    forced: !!req.force, status: 'running' as const, startedAt,
  };
  if (req.runId) {
    await repo.update({ id: req.runId }, fields);
    return repo.findOneByOrFail({ id: req.runId });
  }
  return repo.save(repo.create({ ...fields, message: '' }));
}

/** the most of a run's one-line message its row keeps (TEXT; the message may quote the upload) */
const RUN_MESSAGE_CHARS = 10_000;

/**
 * Records a run's result and its issues on the sync's own session. An applied sync calls this
 * inside its transaction, just before the commit: the LMS changes and the record of them commit
 * together, so a run still `running` after its process died changed nothing (see failAbandonedRuns).
 * `passwords` says what is left to hash after the commit and where its passwords can be read again.
 */
export async function finishRun(db: SqlSession, result: SyncResult, reportPending: boolean,
  passwords?: { pending: number; fromUserId: number; source: string }): Promise<void> {
  const pending = reportPending ? 'TRUE' : 'FALSE'; // both databases take the keywords
  await db.run(`UPDATE sync_run SET status = $1, message = $2, counts = $3, timings = $4, error_count = $5, warning_count = $6,
      info_count = $7, finished_at = $8, duration_ms = $9, report_pending = ${pending}, mail_pending = ${pending}${passwords ? ', passwords_pending = $11, passwords_from_user_id = $12, password_source = $13' : ''}
    WHERE id = $10`, [
    result.status, shorten(result.message, RUN_MESSAGE_CHARS), JSON.stringify(result.counts), JSON.stringify(result.timings),
    result.issueTotals.error, result.issueTotals.warning, result.issueTotals.info, db.instant(result.finishedAt), result.durationMs, result.runId,
    ...(passwords ? [passwords.pending, passwords.fromUserId, passwords.source] : []),
  ]);
  await saveIssues(db, result.runId, result.issues);
}

/** The end time and phase timings again, once the commit that finishRun's record went with is done. */
export async function recordFinish(ds: DataSource, result: SyncResult): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: result.runId }, {
    timings: JSON.stringify(result.timings), finishedAt: result.finishedAt, durationMs: result.durationMs,
  });
}

const ABANDONED = 'interrupted: the process running this sync ended before the sync did (killed, or a second Ctrl-C); ' +
  'nothing of it was committed';

/**
 * Runs left `running` by a `rosterdrop sync` whose process died. Call it only while holding the
 * domain's lock: then no sync of the domain is running anywhere, and since a run's result commits
 * with its changes, each of these changed nothing. The queue's runs (with a queued file) are not
 * touched: the daemon queues those again when it starts (job-store.ts).
 */
export async function failAbandonedRuns(ds: DataSource, domainId: number): Promise<number> {
  const now = new Date();
  const result = await ds.createQueryBuilder().update(SyncRun)
    .set({ status: 'failed', message: ABANDONED, finishedAt: now })
    .where('domain_id = :domainId AND status = :running AND queued_path IS NULL', { domainId, running: 'running' })
    .execute();
  return result.affected ?? 0;
}

async function saveIssues(db: SqlSession, runId: number, issues: readonly SyncIssue[]): Promise<void> {
  const BATCH = 1000;
  async function* rows() {
    for (let i = 0; i < issues.length; i += BATCH) {
      yield issues.slice(i, i + BATCH).map((x, j) => [runId, i + j + 1, x.severity, x.code, x.file, x.line, x.column, x.sourcedId, x.message]);
    }
  }
  await db.load('sync_issue', ['run_id', 'seq', 'severity', 'code', 'file', 'line', 'column_name', 'sourced_id', 'message'], rows());
}

export async function loadIssues(ds: DataSource, runId: number): Promise<SyncIssue[]> {
  const rows = await ds.getRepository(SyncIssueRow).find({ where: { runId }, order: { seq: 'ASC' } });
  return rows.map((r) => ({ severity: r.severity, code: r.code as SyncIssue['code'], file: r.file, line: r.line, column: r.column, sourcedId: r.sourcedId, message: r.message }));
}

/** The file moved (to the archive): resuming reads it there. */
export async function movePasswordSource(ds: DataSource, runId: number, source: string): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: runId, passwordsDoneAt: IsNull() }, { passwordSource: source });
}

/** Hashing of the run's new users ended: every one got its hash, or resuming is not possible. */
export async function markPasswordsDone(ds: DataSource, runId: number): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: runId }, { passwordsDoneAt: new Date() });
}

/** Runs whose new users may still wait for their hashes (a stop or a crash cut hashing short). */
export async function runsWithPasswordsLeft(ds: DataSource): Promise<SyncRun[]> {
  return ds.getRepository(SyncRun).find({
    where: { passwordsPending: MoreThan(0), passwordsDoneAt: IsNull(), status: In(['succeeded', 'completed_with_errors']) },
    order: { id: 'ASC' },
  });
}
