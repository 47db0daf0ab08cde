/**
 * What is left of a run's report, kept in its sync_run row: `report_pending` (the result files and
 * the archiving of its file) and `mail_pending` (the report mail). Both are set in the commit that
 * ends the run and cleared once each part is done, so a crash between the commit and the report
 * loses nothing: the daemon finishes every run that still has a part to do, at its start and while
 * it runs (runner.ts). The result files and the archive move can be made again harmlessly; a mail
 * cannot, so a daemon first claims it, and another leaves a claimed mail alone for MAIL_CLAIM_MS
 * (longer than the mailer's whole retry schedule), which keeps two daemons from sending it twice.
 */
import { In, Not, type DataSource } from 'typeorm';
import { SyncRun } from '../db/entities';

export const MAIL_CLAIM_MS = 10 * 60_000;

/** Runs that ended with a part of their report still to do, oldest first. */
export async function unreportedRuns(ds: DataSource): Promise<SyncRun[]> {
  return ds.getRepository(SyncRun).find({
    where: [
      { reportPending: true, status: Not(In(['queued', 'running'])) },
      { mailPending: true, status: Not(In(['queued', 'running'])) },
    ],
    order: { id: 'ASC' },
  });
}

export async function markReported(ds: DataSource, runId: number): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: runId }, { reportPending: false });
}

/** Takes the run's mail on; false when it is sent already, or claimed by someone within MAIL_CLAIM_MS. */
export async function claimMail(ds: DataSource, runId: number, now = new Date()): Promise<boolean> {
  const result = await ds.createQueryBuilder().update(SyncRun)
    .set({ mailClaimedAt: now })
    .where('id = :id AND mail_pending = :yes AND (mail_claimed_at IS NULL OR mail_claimed_at < :expired)',
      { id: runId, yes: true, expired: new Date(now.getTime() - MAIL_CLAIM_MS) })
    .execute();
  return (result.affected ?? 0) === 1;
}

/** The mail was handed over (or given up after its retries, which the mailer logged). */
export async function markMailed(ds: DataSource, runId: number): Promise<void> {
  await ds.getRepository(SyncRun).update({ id: runId }, { mailPending: false });
}
