/**
 * The sync history: one sync_run row per sync and its issues. Written outside the sync's
 * transaction (before it starts and after it ends), so a failed or refused sync is still recorded.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { In, IsNull, MoreThan, type DataSource } from 'typeorm';
import { SyncIssueRow, SyncRun } from '../db/entities';
import type { SqlSession } from '../db/sql-session';
import type { SyncIssue } from '../oneroster/issues';
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

export async function finishRun(ds: DataSource, db: SqlSession, result: SyncResult): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: result.runId }, {
    status: result.status, message: result.message.slice(0, 10_000), counts: JSON.stringify(result.counts),
    timings: JSON.stringify(result.timings),
    errorCount: result.issueTotals.error, warningCount: result.issueTotals.warning, infoCount: result.issueTotals.info,
    finishedAt: result.finishedAt, durationMs: result.durationMs,
  });
  await saveIssues(db, result.runId, result.issues);
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

/** What is left to hash after the run committed, and where its passwords can be read again. */
export async function recordPendingPasswords(ds: DataSource, runId: number, p: { pending: number; fromUserId: number; source: string }): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: runId }, { passwordsPending: p.pending, passwordsFromUserId: p.fromUserId, passwordSource: p.source });
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
