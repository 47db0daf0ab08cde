/**
 * The sync engine: upload → read (stage) → validate → plan → apply → report. One call runs one
 * sync of one zip for one domain. Everything it changes in the LMS happens in one transaction:
 * a failure, a refusal or a crash leaves the database as it was. Callers (CLI, daemon, bench) only
 * hand in a SyncRequest and get a SyncResult back.
 */
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { Domain, type SyncRun } from '../db/entities';
import { loadSettings } from '../db/settings-store';
import { analyze, openSession, type LockRelease, type SqlSession } from '../db/sql-session';
import { IssueSink, StructuralError } from '../oneroster/issues';
import type { ZipLimits } from '../oneroster/types';
import { DEFAULT_ZIP_LIMITS } from '../oneroster/zip-reader';
import { silentLogger, type Logger } from '../util/logger';
import { plural } from '../util/plural';
import { applyCourses, deriveCourses, plannedCourseRemovals } from './apply/courses';
import { type ApplyContext, count, IN_SCOPE, MANAGED, refreshScope } from './apply/context';
import { applyDomains } from './apply/domains';
import { type DuplicateId, duplicateMessage, findDuplicateIds } from './apply/duplicate-ids';
import { applyEnrollments, plannedEnrollmentRemovals, prepareEnrollments } from './apply/enrollments';
import { applyObservers } from './apply/observers';
import { applyKeptRecords } from './apply/kept-records';
import { applyUsers, plannedUserRemovals, prepareUsers } from './apply/users';
import { ZonedDates } from './dates';
import { interruptible, interruptReason, SyncInterrupted } from './interrupt';
import { resumePasswords, type ResumeOutcome } from './password-resume';
import { hashNewPasswords, pendingPasswords } from './passwords';
import { heldListDiffers, planHeldList, spoolHeldList } from './held-list';
import { readUpload } from './read-phase';
import { ReferenceChecker } from './reference-checks';
import { fileDigest, finishRun, markPasswordsDone, recordFinish, startRun } from './run-store';
import { checkSafety, type PlannedRemovals } from './safety';
import { createStageTables, explodeLists, indexStageTables } from './stage-tables';
import { emptyCounts, ENTITY_KINDS, type SyncCounts, type SyncRequest, type SyncResult, type SyncStatus } from './types';

export interface EngineOptions {
  logger?: Logger;
  zipLimits?: ZipLimits;
  /** issues kept in full per run (all are counted) */
  issueLimit?: number;
  /** hash new users' passwords after commit (default true; the bench measures hashing apart) */
  hashPasswords?: boolean;
}

/**
 * Uploads from this size on get work tables PostgreSQL can read in parallel; smaller ones get TEMP
 * tables, which are cheaper to create. Measured, no-change syncs: 1k enrollments (60 KB zip)
 * 0.44 → 0.31 s with TEMP tables, 10k (0.6 MB) 0.82 → 0.63 s, 100k (5.7 MB) 3.5 s either way; at 1M
 * the parallel joins win (README, "Work tables that PostgreSQL can read in parallel").
 */
const PARALLEL_WORK_MIN_BYTES = 2 * 1024 * 1024;

interface Outcome { status: SyncStatus; message: string; firstNewUserId: number | null }

export class SyncEngine {
  private readonly log: Logger;

  constructor(private readonly ds: DataSource, private readonly opts: EngineOptions = {}) {
    this.log = opts.logger ?? silentLogger();
  }

  async run(req: SyncRequest): Promise<SyncResult> {
    const startedAt = new Date();
    const domain = await this.ds.getRepository(Domain).findOneBy({ id: req.domainId });
    if (!domain) throw new Error(`domain ${req.domainId} does not exist`);
    const settings = await loadSettings(this.ds, domain.id);
    const digest = await fileDigest(req.zipPath);
    const run = await startRun(this.ds, req, digest, startedAt);
    const log = this.log.child({ runId: run.id, domain: domain.userspace });
    log.info('sync started', { file: run.fileName, sha256: digest.sha256, bytes: digest.size, mode: run.mode, source: req.source });

    const issues = new IssueSink(this.opts.issueLimit ?? 10_000);
    const counts = emptyCounts();
    const timings: Record<string, number> = {};
    const held: { removals?: number } = {};
    const db = await openSession(this.ds, { parallelWork: digest.size >= PARALLEL_WORK_MIN_BYTES });
    let passwordsPending = 0;
    // taken before the commit makes the run's pending passwords visible, so that a daemon resuming
    // cut-short hashing (runner.ts) never starts on this run's users while this sync is to hash them
    let hashingLock: LockRelease | null = null;
    let hashingDone = false;
    const unlockHashing = async (): Promise<void> => {
      const release = hashingLock;
      hashingLock = null;
      await release?.(hashingDone);
    };
    const end = async (): Promise<void> => {
      await unlockHashing();
      await db.release(); // drops the work tables too (sql-session.ts)
    };
    /** builds the result and records it on the session: inside the transaction of a sync that commits */
    const record = async (o: Outcome): Promise<SyncResult> => {
      passwordsPending = o.firstNewUserId !== null ? await pendingPasswords(db, o.firstNewUserId) : 0;
      const finishedAt = new Date();
      const result: SyncResult = {
        runId: run.id, domainId: domain.id, status: o.status, mode: run.mode, fileName: run.fileName, sha256: digest.sha256,
        counts, issues: issues.kept, issueTotals: { ...issues.counts }, issuesDropped: issues.dropped,
        message: o.message || summary(o.status, counts, issues), startedAt, finishedAt,
        durationMs: finishedAt.getTime() - startedAt.getTime(), timings, passwordsPending,
      };
      if (o.status === 'held') result.heldRemovals = held.removals ?? 0;
      if (passwordsPending && o.firstNewUserId !== null) hashingLock ??= await db.tryLock('hashing', run.id);
      // durable before any hashing: a stop or a crash from here on is resumed (password-resume.ts)
      await finishRun(db, result, !!req.reportPending, passwordsPending && o.firstNewUserId !== null
        ? { pending: passwordsPending, fromUserId: o.firstNewUserId, source: path.resolve(req.zipPath) } : undefined);
      return result;
    };
    let outcome: Outcome;
    const committed: { result?: SyncResult } = {};
    try {
      outcome = await this.sync(req.signal ? interruptible(db, req.signal) : db, req, { domain, settings, issues, counts, log, timings, runId: run.id, held },
        async (o) => { committed.result = await record(o); });
    } catch (err) {
      delete committed.result; // recorded in a transaction that then failed: rolled back with it
      if (req.signal?.aborted && (err instanceof SyncInterrupted || !(err instanceof StructuralError))) {
        // a cancelled PostgreSQL statement fails with its own error: the signal says what it was
        const text = `interrupted (${interruptReason(req.signal)}) before it finished; the sync was rolled back and changed nothing`;
        issues.error('apply.failed', {}, text);
        log.warn('sync interrupted', { reason: interruptReason(req.signal) });
        outcome = { status: 'failed', message: `failed: ${text}`, firstNewUserId: null };
      } else if (err instanceof StructuralError) {
        outcome = { status: 'failed', message: `rejected: ${err.message}`, firstNewUserId: null };
      } else {
        const text = err instanceof Error ? err.message : String(err);
        issues.error('apply.failed', {}, `the sync failed and changed nothing: ${text}`);
        log.error('sync failed', { error: text, stack: err instanceof Error ? err.stack : undefined });
        outcome = { status: 'failed', message: `failed: ${text}`, firstNewUserId: null };
      }
    }

    let sessionHandedOff = false;
    try {
      let final: SyncResult;
      if (committed.result) {
        // the outcome committed with the sync; this adds the commit's time, and cannot fail the sync
        final = committed.result;
        final.finishedAt = new Date();
        final.durationMs = final.finishedAt.getTime() - startedAt.getTime();
        await recordFinish(this.ds, final).catch((err: unknown) => log.warn('could not record the commit time', { error: String(err) }));
      } else {
        final = await record(outcome);
      }
      const firstNewUserId = outcome.firstNewUserId;
      log.info('sync finished', { status: final.status, durationMs: final.durationMs, counts, issues: final.issueTotals });
      req.onResult?.(final);
      if (passwordsPending && this.opts.hashPasswords !== false && firstNewUserId !== null) {
        const hash = async (signal: AbortSignal | undefined): Promise<number> => {
          const t0 = Date.now();
          const hashed = hashingLock ? await hashNewPasswords(db, firstNewUserId, (done) =>
            req.onProgress?.({ phase: 'passwords', done, total: passwordsPending }), signal) : null;
          const left = await pendingPasswords(db, firstNewUserId);
          log.info('passwords hashed', { hashed: hashed ?? 0, ms: Date.now() - t0 });
          if (left === 0) {
            await markPasswordsDone(this.ds, run.id);
            hashingDone = true;
          }
          else log.warn('password hashing stopped; a running daemon resumes it within a minute, else at its next start', { hashed: hashed ?? 0, left });
          return left;
        };
        if (req.hashInBackground) {
          // the session (its staged passwords) goes with the hashing, and is released after it
          const { signal, started } = req.hashInBackground;
          // hashing needs stage_users (a TEMP table) and the domain scope: the rest of the staged
          // file can go now rather than hours later
          await db.clearScratch(['scope_domain']).catch(() => undefined); // else they go at release
          sessionHandedOff = true;
          started(hash(signal).finally(end));
        } else {
          final.passwordsLeft = await hash(req.signal);
        }
      }
      req.onProgress?.({ phase: 'done', done: 1, total: 1 });
      return final;
    } finally {
      if (!sessionHandedOff) await end();
    }
  }

  /** Hashes what a stop or a crash left of a run's new users' passwords (see password-resume.ts). */
  resumePasswords(run: SyncRun, signal?: AbortSignal): Promise<ResumeOutcome> {
    return resumePasswords(this.ds, run, { limits: this.opts.zipLimits ?? DEFAULT_ZIP_LIMITS, signal });
  }

  private async sync(db: SqlSession, req: SyncRequest, s: {
    domain: Domain; settings: Awaited<ReturnType<typeof loadSettings>>; issues: IssueSink; counts: SyncCounts; log: Logger;
    timings: Record<string, number>; runId: number; held: { removals?: number };
  }, recordBeforeCommit: (outcome: Outcome) => Promise<void>): Promise<Outcome> {
    const { domain, settings, issues, counts, log } = s;
    const dates = new ZonedDates(settings.timeZone, (d) => db.instant(d));
    const timer = phaseTimer(log, s.timings);

    await createStageTables(db);
    const manifest = await readUpload(db, req.zipPath, { dates, settings }, issues,
      { limits: this.opts.zipLimits ?? DEFAULT_ZIP_LIMITS, displayName: req.fileName ?? path.basename(req.zipPath), onProgress: req.onProgress });
    timer('read');
    await explodeLists(db);
    await indexStageTables(db);
    await refreshScope(db, domain.id);
    req.onProgress?.({ phase: 'validate', done: 0, total: 1 });
    const checker = new ReferenceChecker(db, issues, manifest.modes, dates);
    await checker.run();
    const duplicates = await findDuplicateIds(db);
    timer('validate');
    if (duplicates.length) return failOnDuplicates(duplicates, issues, log);

    const ctx: ApplyContext = {
      db, issues, modes: manifest.modes, settings, dates, counts, now: db.instant(new Date()),
      root: { id: domain.id, userspace: domain.userspace, externalId: domain.externalId },
    };
    req.onProgress?.({ phase: 'plan', done: 0, total: 1 });
    await db.begin();
    try {
      await applyDomains(ctx);
      // a second pass over the enrollments only when users were rejected here
      if (await prepareUsers(ctx)) await checker.afterUserRejections();
      await deriveCourses(ctx);
      timer('plan');

      // Held syncs (prepare → review → commit): over the threshold, or with autoCommit off, a sync is
      // planned and applied in full (its counts are what approving would do), rolled back, and kept
      // as `held` with the list of its removals. An approved one is applied unless its removals
      // changed since (something else was applied to the domain): then it is held again.
      const approved = !!req.approved && !req.validateOnly;
      const verdict = checkSafety(await this.plannedRemovals(ctx), settings.safetyThresholdPercent, !!req.force || approved);
      const review = !req.validateOnly && !req.force && !approved;
      let hold: string | null = null;
      // the list is planned only where a hold is possible: before the apply changes what it reads
      if ((review && (verdict.refused || !settings.autoCommit)) || approved) {
        const listed = await planHeldList(ctx);
        if (review && verdict.refused) hold = `${verdict.message}${decide(s.runId)}`;
        else if (approved && await heldListDiffers(db, s.runId)) {
          hold = `held again: the removals changed since the run was held (something else was applied to the domain in between); ` +
            `it would now remove or deactivate ${plural(listed, 'entity', 'entities')}. Nothing was changed: check the new list.${decide(s.runId)}`;
        }
      }
      if (verdict.over.length) {
        const text = verdict.refused && req.validateOnly ? verdict.message.replace(/^held: /, 'an apply would be held: ').replace(/ Nothing was changed:.*$/, '')
          : approved ? verdict.message.replace(/^forced/, 'approved') : verdict.message;
        issues.warning('apply.safety_threshold', {}, text);
      }

      req.onProgress?.({ phase: 'apply', done: 0, total: 1 });
      const firstNewUserId = (await count(db, 'SELECT coalesce(max(id), 0) AS n FROM lms_user')) + 1;
      await applyUsers(ctx);
      await analyze(db, ['lms_user']);
      await applyObservers(ctx);
      await applyCourses(ctx);
      await analyze(db, ['course', 'enrollment']);
      const twins = await prepareEnrollments(ctx);
      if (twins.length) {
        await db.rollback();
        return failOnDuplicates(twins, issues, log);
      }
      await applyEnrollments(ctx);
      await applyKeptRecords(ctx);
      timer('apply');
      if (req.validateOnly) {
        await db.rollback();
        return { status: 'validated', message: '', firstNewUserId: null };
      }
      if (!hold && review && !settings.autoCommit && changesSomething(counts)) {
        hold = `held for review: autoCommit is off for ${domain.userspace}, so a sync that would change something waits for approval; ` +
          `${summary('validated', counts, issues).replace(/^validated: an apply would change /, 'it would change ')}. Nothing was changed.${decide(s.runId)}`;
      }
      if (hold) {
        const spool = await spoolHeldList(db);
        await db.rollback();
        try {
          // the list and the run's record commit together: a held run always has its whole list
          const outcome: Outcome = { status: 'held', message: hold, firstNewUserId: null };
          await db.begin();
          s.held.removals = await spool.store(db, s.runId);
          await recordBeforeCommit(outcome);
          await db.commit();
          log.warn('sync held for review', { removals: s.held.removals, over: verdict.over, autoCommit: settings.autoCommit, approved });
          return outcome;
        } finally {
          await spool.remove().catch(() => undefined);
        }
      }
      const outcome: Outcome = { status: issues.counts.error ? 'completed_with_errors' : 'succeeded', message: '', firstNewUserId };
      await recordBeforeCommit(outcome);
      await db.commit();
      timer('commit');
      return outcome;
    } catch (err) {
      await db.rollback().catch(() => undefined);
      throw err;
    }
  }

  private async plannedRemovals(ctx: ApplyContext): Promise<PlannedRemovals[]> {
    const managed = (table: string) => count(ctx.db, `SELECT count(*) AS n FROM ${table} WHERE ${MANAGED} AND domain_id IN ${IN_SCOPE}`);
    return [
      { kind: 'users', managed: await managed('lms_user'), removals: await plannedUserRemovals(ctx) },
      { kind: 'courses', managed: await managed('course'), removals: await plannedCourseRemovals(ctx) },
      { kind: 'enrollments', managed: await managed('enrollment'), removals: await plannedEnrollmentRemovals(ctx) },
    ];
  }
}

/** Managed entities that share an external ID: the sync cannot tell which is the SIS's record. */
function failOnDuplicates(duplicates: DuplicateId[], issues: IssueSink, log: Logger): Outcome {
  for (const d of duplicates) issues.error('apply.duplicate_external_id', {}, duplicateMessage(d));
  log.warn('sync failed: managed entities share an external ID', { duplicates: duplicates.length });
  return { status: 'failed', message: `failed: ${duplicates.length === 1 ? 'an external ID is' : 'external IDs are'} used by more than one ` +
    'managed entity of this district (see the issues); nothing was changed', firstNewUserId: null };
}

function phaseTimer(log: Logger, timings: Record<string, number>): (phase: string) => void {
  let last = Date.now();
  return (phase) => {
    const now = Date.now();
    timings[phase] = now - last;
    const m = process.memoryUsage();
    log.debug('phase done', { phase, ms: now - last, rssMb: Math.round(m.rss / 1048576), heapMb: Math.round(m.heapUsed / 1048576), externalMb: Math.round(m.external / 1048576) });
    last = now;
  };
}

/** `succeeded: users 3 created, 1 updated; enrollments 40 created; 0 errors, 1 warning` */
function summary(status: SyncStatus, counts: SyncCounts, issues: IssueSink): string {
  const changes = ENTITY_KINDS.flatMap((kind) => {
    const c = counts[kind];
    const done = CHANGES.filter((a) => c[a] > 0).map((a) => `${c[a].toLocaleString('en-US')} ${a}`);
    return done.length ? [`${kind} ${done.join(', ')}`] : [];
  });
  const validated = status === 'validated';
  const what = changes.length ? `${validated ? 'an apply would change ' : ''}${changes.join('; ')}` : validated ? 'an apply would change nothing' : 'nothing changed';
  return `${status.replace(/_/g, ' ')}: ${what}; ${plural(issues.counts.error, 'error')}, ${plural(issues.counts.warning, 'warning')}`;
}

const CHANGES = ['created', 'updated', 'removed', 'restored'] as const;

function changesSomething(counts: SyncCounts): boolean {
  return ENTITY_KINDS.some((kind) => CHANGES.some((a) => counts[kind][a] > 0));
}

/** how a held run is decided, in its message */
function decide(runId: number): string {
  return ` Approve it (\`rosterdrop run approve ${runId}\`, or on its page) or discard it (\`rosterdrop run discard ${runId}\`).`;
}
