/**
 * Held syncs (prepare → review → commit): the decisions on a run the engine held (over the safety
 * threshold, or autoCommit off), shared by the CLI and the web. A held run keeps its upload in
 * `<dataDir>/held/` and its removals in held_removal.
 *
 * Approval goes through the durable queue, so that whoever decides (the web inside the daemon, or
 * the CLI) never runs a sync in the request: approveHeldRun turns the row back into a queued run
 * (`approved`, its file the held one) in one conditional UPDATE, and the daemon's runner applies
 * it like any queued run (under the domain lock, past the threshold, re-planning: see
 * SyncRequest.approved). The caller wakes the runner (`runner.wake()`); without one, the next
 * daemon's poll finds it. The CLI, which must work with no daemon running, claims the run instead
 * (claimHeldRunForApproval: held → running, under the domain lock it holds, as `rosterdrop sync`
 * does) and applies it in its own process. Both are the same conditional UPDATE from `held`, so a
 * run is approved, discarded or expired once, whoever comes first.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { In, LessThan, type DataSource } from 'typeorm';
import { HeldRemoval, SyncRun } from '../db/entities';
import { moveFile } from '../queue/files';
import { writeWithoutPasswords } from '../queue/password-scrub';

/** Why a decision cannot be made: `unknown` (no such run, or not the caller's: 404), `not_held` (409). */
export class HeldRunError extends Error {
  constructor(message: string, readonly reason: 'unknown' | 'not_held') {
    super(message);
    this.name = 'HeldRunError';
  }
}

export interface DecisionOptions {
  /** the domains the caller may act on (the web's tenant rule); another's run answers `unknown` */
  visible?: (domainId: number) => boolean;
  now?: Date;
}

export function heldDirOf(dataDir: string): string {
  return path.join(dataDir, 'held');
}

/** The run, if the caller may see it, else `unknown`; `not_held` unless it is held with its file. */
async function heldRun(ds: DataSource, runId: number, opts: DecisionOptions): Promise<SyncRun> {
  const run = await ds.getRepository(SyncRun).findOneBy({ id: runId });
  if (!run || (opts.visible && !opts.visible(run.domainId))) throw new HeldRunError(`unknown run ${runId}`, 'unknown');
  if (run.status !== 'held') throw new HeldRunError(`run ${runId} is not held for review (it is ${run.status.replace(/_/g, ' ')}): there is nothing to decide`, 'not_held');
  if (!run.heldPath) throw new HeldRunError(`run ${runId} is held, but its upload is not kept: upload the file again`, 'not_held');
  return run;
}

/** A conditional UPDATE from `held`: false when someone else decided first. */
async function decide(ds: DataSource, run: SyncRun, set: Partial<SyncRun>): Promise<boolean> {
  const result = await ds.createQueryBuilder().update(SyncRun).set(set)
    .where('id = :id AND status = :held', { id: run.id, held: 'held' }).execute();
  return (result.affected ?? 0) === 1;
}

function raced(runId: number): HeldRunError {
  return new HeldRunError(`run ${runId} was decided by someone else just now`, 'not_held');
}

/**
 * Approves a held run: queued again, as the same run, for the runner to apply past the threshold
 * (the caller wakes it). Records who and when. Returns the run as queued.
 */
export async function approveHeldRun(ds: DataSource, runId: number, actorLogin: string, opts: DecisionOptions = {}): Promise<SyncRun> {
  const run = await heldRun(ds, runId, opts);
  const now = opts.now ?? new Date();
  const set: Partial<SyncRun> = {
    status: 'queued', approved: true, decidedBy: actorLogin.slice(0, 320), decidedAt: now, queuedPath: run.heldPath, heldPath: null,
    // the applied run's report is a new one: its mail must not look claimed by the held one's
    message: `approved by ${actorLogin}; queued`, reportPending: false, mailPending: false, mailClaimedAt: null,
  };
  if (!(await decide(ds, run, set))) throw raced(runId);
  return ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
}

/**
 * The CLI's approval: the run is claimed for this process (held → running) while the caller holds
 * the domain's lock, and applied in it (`zipPath` is the kept upload). Its queued_path is the kept
 * upload: if the process dies, the next daemon start queues the approved run again and applies it
 * (requeueInterrupted), as for a daemon's own run cut short.
 */
export async function claimHeldRunForApproval(ds: DataSource, runId: number, actorLogin: string, opts: DecisionOptions = {}): Promise<{ run: SyncRun; zipPath: string }> {
  const run = await heldRun(ds, runId, opts);
  const now = opts.now ?? new Date();
  if (!(await decide(ds, run, {
    status: 'running', approved: true, decidedBy: actorLogin.slice(0, 320), decidedAt: now, queuedPath: run.heldPath, startedAt: now,
    attempts: run.attempts + 1, message: `approved by ${actorLogin}; applying`, reportPending: false, mailPending: false, mailClaimedAt: null,
  }))) throw raced(runId);
  return { run: await ds.getRepository(SyncRun).findOneByOrFail({ id: runId }), zipPath: run.heldPath! };
}

/** Discards a held run: `discarded`, its upload deleted, who and when recorded. */
export async function discardHeldRun(ds: DataSource, runId: number, actorLogin: string, opts: DecisionOptions = {}): Promise<SyncRun> {
  const run = await heldRun(ds, runId, opts);
  const now = opts.now ?? new Date();
  if (!(await decide(ds, run, { status: 'discarded', decidedBy: actorLogin.slice(0, 320), decidedAt: now, heldPath: null, message: `discarded by ${actorLogin}; nothing was changed` }))) {
    throw raced(runId);
  }
  await fs.unlink(run.heldPath!).catch(() => undefined); // else the expiry sweep's orphan check deletes it
  return ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
}

export interface HeldRemovalRow {
  entity: string;
  /** the LMS external ID */
  externalId: string;
  /** the SIS sourcedId, for records of the file (not for the base courses a sync derives) */
  sourcedId: string | null;
  name: string;
}

/** A page of what a held run would remove, in the order it was planned, and how many in all. */
export async function listHeldRemovals(ds: DataSource, runId: number, page: { offset: number; limit: number; entity?: string },
  opts: Pick<DecisionOptions, 'visible'> = {}): Promise<{ total: number; rows: HeldRemovalRow[] }> {
  const run = await ds.getRepository(SyncRun).findOne({ select: { id: true, domainId: true }, where: { id: runId } });
  if (!run || (opts.visible && !opts.visible(run.domainId))) throw new HeldRunError(`unknown run ${runId}`, 'unknown');
  const where = { runId, ...(page.entity ? { entity: page.entity } : {}) };
  const repo = ds.getRepository(HeldRemoval);
  const [total, rows] = await Promise.all([
    repo.count({ where }),
    repo.find({ where, order: { id: 'ASC' }, skip: Math.max(0, page.offset), take: Math.max(1, Math.min(page.limit, 10_000)) }),
  ]);
  return { total, rows: rows.map((r) => ({ entity: r.entity, externalId: r.externalId, sourcedId: sourcedIdOf(r.externalId), name: r.name })) };
}

export async function countHeldRemovals(ds: DataSource, runId: number): Promise<number> {
  return ds.getRepository(HeldRemoval).count({ where: { runId } });
}

/** `or-` + sourcedId; a derived base course's key (`or-base:…`) has none */
export function sourcedIdOf(externalId: string): string | null {
  return externalId.startsWith('or-') && !externalId.startsWith('or-base:') ? externalId.slice(3) : null;
}

/**
 * Keeps a held run's upload in the held folder (`<heldDir>/<runId>-<name>`) and records where:
 * moved from the queue area (the daemon), or copied (`rosterdrop sync`: the file is the caller's).
 */
export async function keepHeldUpload(ds: DataSource, run: Pick<SyncRun, 'id' | 'fileName'>, file: string, heldDir: string, how: 'move' | 'copy'): Promise<string> {
  const base = path.basename(file);
  const target = path.join(heldDir, base.startsWith(`${run.id}-`) ? base : `${run.id}-${path.basename(run.fileName) || 'upload.zip'}`);
  if (path.resolve(file) !== path.resolve(target)) {
    if (how === 'move') await moveFile(file, target);
    else {
      await fs.mkdir(heldDir, { recursive: true, mode: 0o750 });
      await fs.copyFile(file, target);
    }
  }
  // queued_path stays set: a run with an upload_path and none counts as one still waiting for its
  // intake (uq_sync_run_pending_upload), and would block a new upload of the same name
  await ds.getRepository(SyncRun).update({ id: run.id }, { heldPath: target });
  return target;
}

/**
 * Held runs older than `days` (since they were held) expire: `expired`, their upload deleted.
 * Files of the held folder whose run is no longer waiting for anything (a discard or a dead CLI
 * approval left them) go too. Returns how many runs expired.
 */
export async function expireHeldRuns(ds: DataSource, heldDir: string, days: number, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  const repo = ds.getRepository(SyncRun);
  let expired = 0;
  for (const run of await repo.find({ where: { status: 'held', finishedAt: LessThan(cutoff) }, order: { id: 'ASC' } })) {
    if (!(await decide(ds, run, { status: 'expired', decidedAt: now, heldPath: null, message: `expired: nobody approved it within ${days} days; nothing was changed` }))) continue;
    if (run.heldPath) await fs.unlink(run.heldPath).catch(() => undefined);
    expired++;
  }
  for (const name of await fs.readdir(heldDir).catch(() => [] as string[])) {
    const full = path.join(heldDir, name);
    const runId = Number(/^(\d+)-/.exec(name)?.[1]);
    const run = Number.isSafeInteger(runId) ? await repo.findOneBy({ id: runId }) : null;
    if (run && (['held', 'queued', 'running'].includes(run.status) || (run.passwordSource === full && !run.passwordsDoneAt))) continue;
    const stat = await fs.stat(full).catch(() => null);
    if (!stat?.isFile() || now.getTime() - stat.mtimeMs < 60_000) continue; // just arriving: its run is not recorded yet
    await fs.unlink(full).catch(() => undefined);
  }
  return expired;
}

/** Held runs waiting for a decision, oldest first (the overview, metrics); of some domains when given. */
export async function heldRuns(ds: DataSource, domainIds?: number[]): Promise<SyncRun[]> {
  return ds.getRepository(SyncRun).find({ where: { status: 'held', ...(domainIds ? { domainId: In(domainIds) } : {}) }, order: { id: 'ASC' } });
}

/**
 * After an in-process approval (the CLI) ended: a run held again keeps its upload; otherwise it
 * goes to the archive (without passwords), as the daemon's runner does, unless password hashing
 * was stopped and may still read it (the daemon resumes from it; the expiry sweep leaves it).
 */
export async function finishApprovedUpload(ds: DataSource, runId: number, file: string, archiveDir: string, status: string, passwordsLeft: number): Promise<string | null> {
  if (status === 'held') return file;
  await ds.getRepository(SyncRun).update({ id: runId }, { heldPath: null });
  if (passwordsLeft > 0) return file;
  const target = path.join(archiveDir, new Date().toISOString().slice(0, 10), path.basename(file));
  if (!(await writeWithoutPasswords(file, target))) await moveFile(file, target);
  else await fs.unlink(file);
  return target;
}
