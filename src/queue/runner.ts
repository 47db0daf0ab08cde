/**
 * Runs queued syncs: p-queue bounds how many run at once, a domain lock keeps it to one per domain,
 * and runs start in arrival order (oldest queued run of a free domain first). Each run is claimed in
 * the database before it starts; on start-up, runs a dead daemon left `running` are queued again.
 * A byte-identical re-upload of the domain's last applied file is recorded as skipped, unless forced.
 * On PostgreSQL, new users' passwords are hashed after the run has ended, so that the hours a large
 * first sync needs for them do not hold its domain's queue or a slot.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import type { DataSource } from 'typeorm';
import { Domain, SyncRun } from '../db/entities';
import type { SyncEngine } from '../sync/engine';
import { failAbandonedRuns, movePasswordSource, runsWithPasswordsLeft } from '../sync/run-store';
import type { SyncResult } from '../sync/types';
import type { Logger } from '../util/logger';
import type { DomainLock, DomainLocks } from './domain-lock';
import { exists, moveFile } from './files';
import { claimRun, domainsWithRunning, finishWithoutSync, lastAppliedSha256, queuedRuns, requeueInterrupted, strandedRuns } from './job-store';
import { writeWithoutPasswords } from './password-scrub';
import { markReported, unreportedRuns } from './report-state';
import { keepHeldUpload } from '../services/held-runs';

/**
 * What the runner needs of the sync engine: SyncEngine itself (in this thread), or the daemon's
 * WorkerEngine (engine-worker/client.ts), which runs each call in a worker thread.
 */
export type RunEngine = Pick<SyncEngine, 'run' | 'resumePasswords'>;

export interface RunnerOptions {
  /** syncs at once, over all domains */
  concurrency: number;
  queueDir: string;
  archiveDir: string;
  failedDir: string;
  /** where held runs' uploads wait for a decision (default: `held/` beside the queue area) */
  heldDir?: string;
  /** how often to look for work queued by others (another daemon, a restart) */
  pollMs: number;
  /**
   * how often to look for password hashing that was cut short and nobody is doing: a stopped or
   * killed `rosterdrop sync`, another daemon's crash (default 60 s; also done at start); and for
   * reports a crash or a full disk left unfinished
   */
  resumeEveryMs?: number;
}

/** What happened to a run that reached an end: a sync result, or a reason it did not sync. */
export type RunOutcome = { result: SyncResult } | { skipped: string } | { failed: string };

/**
 * Makes a run's report (daemon/reporter.ts): `stored` rebuilds it from the run's row, `parts` says
 * which parts are still to do; false when the result files could not be written.
 */
export type Reporter = (run: SyncRun, outcome: RunOutcome | 'stored', parts?: { files: boolean; mail: boolean }) => Promise<boolean>;

const KEEP_AS_FAILED = new Set(['failed', 'refused']);

/**
 * Syncs whose new users' passwords may be hashed after their run has ended, at once. Each holds a
 * database connection until it is done; beyond this, a run hashes inside its slot as before.
 */
const BACKGROUND_HASHING = 2;

export class SyncRunner {
  private readonly queue: PQueue;
  private readonly running = new Set<number>();
  private stopping = false;
  private pumping: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  /** password hashing that outlives its run (PostgreSQL only: SQLite has one connection) */
  private readonly hashing = new Set<Promise<void>>();
  /** background hashings running or promised to a running sync (at most BACKGROUND_HASHING) */
  private hashingSlots = 0;
  private readonly stopHashing = new AbortController();
  /** a resume of cut-short hashing is under way (resumeHashing) */
  private resuming = false;
  private nextResumeAt = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly engine: RunEngine,
    private readonly locks: DomainLocks,
    private readonly opts: RunnerOptions,
    private readonly report: Reporter,
    private readonly logger: Logger,
  ) {
    // The embedded database has one connection, and a sync holds a transaction on it: one at a time.
    this.concurrency = ds.options.type === 'postgres' ? opts.concurrency : 1;
    this.queue = new PQueue({ concurrency: this.concurrency });
  }

  private readonly concurrency: number;

  async start(): Promise<void> {
    for (const domainId of await domainsWithRunning(this.ds)) {
      const lock = await this.locks.tryAcquire(domainId);
      if (!lock) continue; // a sync of it is running right now (another daemon, or `rosterdrop sync`)
      try {
        const n = await requeueInterrupted(this.ds, domainId);
        if (n) this.logger.warn('queued interrupted runs again', { domainId, runs: n });
        const abandoned = await failAbandonedRuns(this.ds, domainId);
        if (abandoned) this.logger.warn('marked failed the runs of a `rosterdrop sync` that died before finishing', { domainId, runs: abandoned });
      } finally {
        await lock.release();
      }
    }
    await this.failStranded();
    await this.finishReports();
    await this.purgePasswordFiles();
    await this.resumeHashing(true);
    this.timer = setInterval(() => this.wake(), this.opts.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Look for work now (an upload was queued, a run ended). */
  /** a sync (or its password hashing) is running in this daemon */
  get busy(): boolean {
    return this.running.size > 0 || this.hashing.size > 0;
  }

  wake(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err: unknown) => { this.logger.error('queue scan failed', { error: (err as Error).message }); })
      .finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops starting runs; waits up to `graceMs` for running ones (their transactions roll back if cut). */
  async stop(graceMs: number): Promise<boolean> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.pumping;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.queue.onIdle().then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), graceMs); }),
    ]);
    clearTimeout(timer);
    // hashing stops after its current batch; users it did not reach are logged, without a password
    this.stopHashing.abort('the daemon is stopping');
    await Promise.all(this.hashing);
    return finished;
  }

  /** Keeps track of a run's password hashing after the run itself has ended. */
  private hashAfterRun(left: Promise<number>, log: Logger): void {
    const done: Promise<void> = left
      .then((n) => { if (n) log.warn('password hashing stopped with the daemon; it resumes when the daemon next starts', { left: n }); })
      .catch((err: unknown) => { log.error('password hashing failed', { error: (err as Error).message }); })
      .finally(() => { this.hashing.delete(done); this.hashingSlots--; });
    this.hashing.add(done);
  }

  /**
   * Hashing that a stop or a crash cut short resumes from the runs' files, one run after another:
   * in the background on PostgreSQL (one place among the background hashings), in the queue's only
   * slot on SQLite, whose one connection cannot serve a sync and the hashing at once. Runs that
   * someone is hashing right now hold their hashing lock and are skipped ('busy'). At start this
   * always runs; later, every `resumeEveryMs`, when nothing else is resuming and a place is free.
   */
  private async resumeHashing(atStart = false): Promise<void> {
    this.nextResumeAt = Date.now() + (this.opts.resumeEveryMs ?? 60_000);
    const postgres = this.ds.options.type === 'postgres';
    if (this.resuming || (!atStart && postgres && this.hashingSlots >= BACKGROUND_HASHING)) return;
    const runs = await runsWithPasswordsLeft(this.ds);
    if (!runs.length) return;
    this.resuming = true;
    const resumeAll = async (): Promise<number> => {
      let left = 0;
      try {
        for (const run of runs) {
          if (this.stopHashing.signal.aborted) break;
          const log = await this.runLogger(run);
          const r = await this.engine.resumePasswords(run, this.stopHashing.signal)
            .catch((err: unknown) => { log.error('resuming password hashing failed', { error: (err as Error).message }); return null; });
          if (r?.status === 'impossible') log.error('cannot resume password hashing: the users it had not reached stay without a password', { reason: r.reason, pendingAtCommit: r.pending });
          else if (r?.status === 'busy') log.debug('another process is hashing these passwords');
          else if (r) log.info('resumed password hashing', { pendingAtCommit: run.passwordsPending, hashed: r.hashed, left: r.left });
          left += r?.status === 'hashed' ? r.left : 0;
        }
      } finally {
        this.resuming = false;
      }
      return left;
    };
    if (postgres) {
      this.hashingSlots++;
      this.hashAfterRun(resumeAll(), this.logger);
    } else {
      void this.queue.add(async () => { await resumeAll(); });
    }
  }

  private async pump(): Promise<void> {
    if (!this.stopping && Date.now() >= this.nextResumeAt) {
      await this.finishReports();
      await this.purgePasswordFiles();
      await this.resumeHashing();
    }
    for (const run of await queuedRuns(this.ds)) {
      if (this.stopping || this.queue.pending + this.queue.size >= this.concurrency) return;
      if (this.running.has(run.domainId)) continue; // arrival order within a domain: wait for it
      const lock = await this.locks.tryAcquire(run.domainId);
      if (!lock) continue;
      if (!(await claimRun(this.ds, run.id).catch(() => false))) {
        await lock.release();
        continue;
      }
      this.running.add(run.domainId);
      void this.queue.add(() => this.execute(run, lock));
    }
  }

  /** A run's log context: the same `domain` (userspace) the engine's own lines carry. */
  private async runLogger(run: SyncRun): Promise<Logger> {
    const domain = await this.ds.getRepository(Domain).findOne({ select: { userspace: true }, where: { id: run.domainId } }).catch(() => null);
    return this.logger.child({ runId: run.id, domainId: run.domainId, domain: domain?.userspace ?? null });
  }

  private async execute(run: SyncRun, lock: DomainLock): Promise<void> {
    const log = await this.runLogger(run);
    let slot = false;
    let handedOff = false;
    try {
      const file = await this.locate(run);
      if (!file) {
        await this.end(run, { failed: 'the uploaded file is gone; nothing was synced' }, log);
        return;
      }
      if (run.mode === 'apply' && run.sha256 && !run.forced && !run.approved) {
        const last = await lastAppliedSha256(this.ds, run.domainId, run.id);
        if (last?.sha256 === run.sha256) {
          const written = await this.end(run, { skipped: `identical to the file of run ${last.runId}, which was applied; nothing to do` }, log);
          if (await this.archive(run, file, 'skipped') && written) await markReported(this.ds, run.id);
          return;
        }
      }
      log.info('sync starting', { file: run.fileName, mode: run.mode, attempt: run.attempts + 1 });
      let reported: Promise<boolean> = Promise.resolve(false);
      // a place among the background hashings is taken now and given back if this run needs none
      const background = this.ds.options.type === 'postgres' && this.hashingSlots < BACKGROUND_HASHING
        ? { signal: this.stopHashing.signal, started: (left: Promise<number>) => { handedOff = true; this.hashAfterRun(left, log); } }
        : undefined;
      if (background) { this.hashingSlots++; slot = true; }
      const result = await this.engine.run({
        domainId: run.domainId, zipPath: file, fileName: run.fileName, source: run.source,
        validateOnly: run.mode === 'validate', force: run.forced, approved: run.approved, runId: run.id, hashInBackground: background, reportPending: true,
        // reported as soon as it is recorded: password hashing after a first sync can take long
        onResult: (r) => { reported = this.report(run, { result: r }).catch((err: unknown) => { log.error('report failed', { error: (err as Error).message }); return false; }); },
      });
      const written = await reported;
      const archived = await this.archive(run, file, result.status, result.passwordsPending > 0);
      if (archived && written) await markReported(this.ds, run.id);
    } catch (err) {
      log.error('sync crashed', { error: (err as Error).message });
      await this.end(run, { failed: `internal error: ${(err as Error).message}` }, log).catch(() => undefined);
    } finally {
      if (slot && !handedOff) this.hashingSlots--;
      this.running.delete(run.domainId);
      await lock.release();
      this.wake();
    }
  }

  /** The queued file, or null when it is gone. */
  private async locate(run: SyncRun): Promise<string | null> {
    return run.queuedPath && (await exists(run.queuedPath)) ? run.queuedPath : null;
  }

  /** Fails queued runs whose upload vanished before it reached the queue area. */
  private async failStranded(): Promise<void> {
    for (const run of await strandedRuns(this.ds, new Date(Date.now() - 60_000))) {
      if (run.uploadPath && (await exists(run.uploadPath))) continue; // the watcher's sweep will finish it
      const lock = await this.locks.tryAcquire(run.domainId);
      if (!lock) continue;
      try {
        if (await claimRun(this.ds, run.id)) await this.end(run, { failed: 'the upload was removed before it was queued; nothing was synced' }, await this.runLogger(run));
      } finally {
        await lock.release();
      }
    }
  }

  /** Ends a run that did not sync, and reports it; true when its result files were written. */
  private async end(run: SyncRun, outcome: Exclude<RunOutcome, { result: SyncResult }>, log: Logger): Promise<boolean> {
    const [status, message] = 'skipped' in outcome ? ['skipped', outcome.skipped] as const : ['failed', outcome.failed] as const;
    await finishWithoutSync(this.ds, run.id, status, message);
    log.info(`run ${status}`, { message });
    const written = await this.report(run, outcome).catch((err: unknown) => { log.error('report failed', { error: (err as Error).message }); return false; });
    // a run with its file still queued is archived (and marked reported) by its caller
    if (written && !(run.queuedPath && await exists(run.queuedPath))) await markReported(this.ds, run.id);
    return written;
  }

  /**
   * Reports that a crash (between a run's commit and its report), a stop or a full disk left
   * unfinished: the result files again, the mail if it is still to go and nobody else has it, and
   * the file into the archive. Each run under its domain's lock, so that nothing else of it runs.
   */
  private async finishReports(): Promise<void> {
    for (const run of await unreportedRuns(this.ds)) {
      if (this.stopping) return;
      if (this.running.has(run.domainId)) continue;
      const lock = await this.locks.tryAcquire(run.domainId);
      if (!lock) continue;
      try {
        const log = await this.runLogger(run);
        const fresh = await this.ds.getRepository(SyncRun).findOneBy({ id: run.id });
        if (!fresh || (!fresh.reportPending && !fresh.mailPending)) continue;
        log.info('finishing a report that was cut short', { files: fresh.reportPending, mail: fresh.mailPending });
        const written = await this.report(fresh, 'stored', { files: fresh.reportPending, mail: fresh.mailPending });
        if (!fresh.reportPending) continue;
        const file = await this.locate(fresh);
        const archived = file ? await this.archive(fresh, file, fresh.status, fresh.passwordsPending > 0) : null;
        if (written && (archived || !file)) await markReported(this.ds, fresh.id);
      } catch (err) {
        this.logger.error('could not finish a report', { runId: run.id, error: (err as Error).message });
      } finally {
        await lock.release();
      }
    }
  }

  /**
   * Processed files go to the archive (pruned by age); failed and refused ones are kept apart, and
   * held ones wait whole in the held folder for their decision (services/held-runs.ts).
   * Neither keeps passwords: what goes there is a copy without users.csv's password column, and
   * the original, while hashing may still read it, waits under `passwords/` (password-scrub.ts).
   * Returns where the file went, or null when it could not be moved.
   */
  private async archive(run: SyncRun, file: string, status: string, hashing = false): Promise<string | null> {
    if (status === 'held') {
      // kept whole (passwords included: approving applies it) until approved, discarded or expired
      try {
        return await keepHeldUpload(this.ds, run, file, this.heldDir, 'move');
      } catch (err) {
        this.logger.warn('could not keep a held upload', { runId: run.id, error: (err as Error).message });
        return null;
      }
    }
    const base = KEEP_AS_FAILED.has(status) ? this.opts.failedDir : this.opts.archiveDir;
    const day = new Date().toISOString().slice(0, 10);
    const rel = path.relative(this.opts.queueDir, file);
    const target = path.join(base, day, rel.startsWith('..') ? path.basename(file) : rel);
    try {
      if (!await writeWithoutPasswords(file, target)) {
        await moveFile(file, target);
        return target;
      }
      const needed = hashing && !(await this.ds.getRepository(SyncRun).findOneBy({ id: run.id }))?.passwordsDoneAt;
      if (!needed) {
        await fs.unlink(file);
        return target;
      }
      const kept = path.join(this.passwordsDir, path.basename(file));
      await fs.mkdir(this.passwordsDir, { recursive: true, mode: 0o700 });
      await moveFile(file, kept);
      await movePasswordSource(this.ds, run.id, kept);
      return target;
    } catch (err) {
      this.logger.warn('could not archive an upload', { runId: run.id, error: (err as Error).message });
      return null;
    }
  }

  private get heldDir(): string {
    return this.opts.heldDir ?? path.join(path.dirname(this.opts.queueDir), 'held');
  }

  private get passwordsDir(): string {
    return path.join(path.dirname(this.opts.queueDir), 'passwords');
  }

  /** Originals that password hashing no longer needs (it finished, or gave up): deleted. */
  private async purgePasswordFiles(): Promise<void> {
    for (const name of await fs.readdir(this.passwordsDir).catch(() => [] as string[])) {
      const full = path.join(this.passwordsDir, name);
      const runId = Number(/^(\d+)-/.exec(name)?.[1]);
      const run = Number.isSafeInteger(runId) ? await this.ds.getRepository(SyncRun).findOneBy({ id: runId }) : null;
      if (run?.passwordSource === full) {
        if (!run.passwordsDoneAt) continue;
      } else {
        // just moved here, its run not pointed at it yet: left for a later sweep
        const stat = await fs.stat(full).catch(() => null);
        if (!stat || Date.now() - stat.ctimeMs < 60_000) continue;
      }
      await fs.unlink(full).catch(() => undefined);
      this.logger.info('deleted an upload kept for its passwords: hashing no longer needs it', { runId: run?.id, file: name });
    }
  }
}
