/**
 * The durable queue: queued runs are sync_run rows (status `queued`), written before the upload is
 * touched, so a crash or restart loses nothing. Claiming is a conditional UPDATE, so two daemons
 * sharing a database never start the same run.
 */
import { In, IsNull, LessThan, Not, type DataSource } from 'typeorm';
import { SyncRun } from '../db/entities';
import type { SyncSource } from '../sync/types';

export interface NewQueuedRun {
  domainId: number;
  source: SyncSource;
  fileName: string;
  uploadPath: string;
  validateOnly: boolean;
  forced: boolean;
  uploadedBy: string | null;
  sha256: string | null;
  size: number | null;
}

export async function enqueueRun(ds: DataSource, run: NewQueuedRun): Promise<SyncRun> {
  const repo = ds.getRepository(SyncRun);
  return repo.save(repo.create({
    domainId: run.domainId, source: run.source, fileName: run.fileName.slice(0, 255), uploadPath: run.uploadPath,
    queuedPath: null, uploadedBy: run.uploadedBy, sha256: run.sha256, sizeBytes: run.size,
    mode: run.validateOnly ? 'validate' : 'apply', forced: run.forced, status: 'queued', message: '', attempts: 0,
  }));
}

export async function setQueuedPath(ds: DataSource, runId: number, queuedPath: string): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: runId }, { queuedPath });
}

/** Queued runs whose file is in the queue area, oldest first: arrival order per domain. */
export async function queuedRuns(ds: DataSource): Promise<SyncRun[]> {
  return ds.getRepository(SyncRun).find({ where: { status: 'queued', queuedPath: Not(IsNull()) }, order: { id: 'ASC' } });
}

/**
 * Queued runs whose file never reached the queue area (a crash mid-intake): the next sighting of the
 * file finishes their intake. Those whose file is gone too are failed here, so nothing waits forever.
 */
export async function strandedRuns(ds: DataSource, olderThan: Date): Promise<SyncRun[]> {
  return ds.getRepository(SyncRun).find({ where: { status: 'queued', queuedPath: IsNull(), createdAt: LessThan(olderThan) } });
}

/** Marks a queued run as started; false when another daemon (or an earlier claim) took it. */
export async function claimRun(ds: DataSource, runId: number): Promise<boolean> {
  const result = await ds.createQueryBuilder().update(SyncRun)
    .set({ status: 'running', attempts: () => 'attempts + 1', startedAt: new Date() })
    .where('id = :id AND status = :queued', { id: runId, queued: 'queued' })
    .execute();
  return (result.affected ?? 0) === 1;
}

/** Runs left `running` by a daemon that died: their transaction never committed, so they start over. */
export async function requeueInterrupted(ds: DataSource, domainId: number): Promise<number> {
  const result = await ds.getRepository(SyncRun).update({ domainId, status: 'running', queuedPath: Not(IsNull()) }, { status: 'queued', message: 'interrupted; queued again' });
  return result.affected ?? 0;
}

/** Domains with runs left `running`: the queue's, or a `rosterdrop sync`'s. */
export async function domainsWithRunning(ds: DataSource): Promise<number[]> {
  const rows = await ds.getRepository(SyncRun).find({ select: { domainId: true }, where: { status: 'running' } });
  return [...new Set(rows.map((r) => r.domainId))];
}

/** The sha256 of the domain's last applied upload, for skipping byte-identical re-uploads. */
export async function lastAppliedSha256(ds: DataSource, domainId: number, beforeRunId: number): Promise<{ runId: number; sha256: string } | null> {
  const run = await ds.getRepository(SyncRun).createQueryBuilder('r')
    .where('r.domain_id = :domainId AND r.mode = :mode AND r.id < :before', { domainId, mode: 'apply', before: beforeRunId })
    .andWhere({ status: In(['succeeded', 'completed_with_errors']) })
    .orderBy('r.id', 'DESC').limit(1).getOne();
  return run?.sha256 ? { runId: run.id, sha256: run.sha256 } : null;
}

/** Ends a run that did not sync; its report is still to be made (report-state.ts). */
export async function finishWithoutSync(ds: DataSource, runId: number, status: 'skipped' | 'failed', message: string): Promise<void> {
  const now = new Date();
  const run = await ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
  await ds.getRepository(SyncRun).update({ id: runId }, {
    status, message, finishedAt: now, durationMs: run.startedAt ? now.getTime() - run.startedAt.getTime() : 0,
    reportPending: true, mailPending: true,
  });
}
