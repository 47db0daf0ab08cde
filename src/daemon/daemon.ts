/**
 * The daemon: FTPS server → intake (durable queue) → runner (syncs, one per domain) → reporter
 * (result files, email). The watcher catches uploads that did not come through our FTPS server.
 * `stop()` closes the doors first (FTPS, watcher), then lets running syncs finish within the grace
 * period; whatever is cut rolls back and is queued again on the next start.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { DaemonSettings } from '../config/daemon';
import { createDomain } from '../db/domains';
import { Domain } from '../db/entities';
import { saveSettings } from '../db/settings-store';
import { administratorsWhoCanLogIn, createUser } from '../db/users';
import { Notifier } from '../notify/mailer';
import { domainLocks } from '../queue/domain-lock';
import { pruneOlderThan } from '../queue/files';
import { UploadIntake } from '../queue/intake';
import { WorkerEngine } from '../queue/engine-worker/client';
import { SyncRunner, type RunEngine } from '../queue/runner';
import { expireHeldRuns } from '../services/held-runs';
import { DEFAULT_SETTINGS } from '../sync/settings';
import type { Logger } from '../util/logger';
import { UploadWatcher } from '../watcher/upload-watcher';
import { startFtpsService, type FtpsService } from './ftps-service';
import { makeReporter } from './reporter';
import { startWebService } from './web-service';
import type { WebServer } from '../web/server';

export interface Daemon {
  ftps: FtpsService;
  /** null when ROSTERDROP_HTTP_PORT=0 */
  web: WebServer | null;
  /** SIGHUP: the certificate of FTPS and the web admin */
  reloadTls(): Promise<boolean>;
  runner: SyncRunner;
  intake: UploadIntake;
  /** true when every running sync finished within the grace period */
  stop(): Promise<boolean>;
}

const HELD_EXPIRY_CHECK_MS = 3_600_000;

/** Where the demo domain's report mails go: a reserved name (RFC 2606) that no mail server delivers to. */
export const DEMO_NOTIFICATION_EMAIL = 'admin@demo.example';

/**
 * A database without any domain gets `demo` and an administrator with a random password, so a
 * first FTPS upload works at once, and a notification address, so its first report mail shows up
 * (in the outbox folder unless SMTP is set). The password goes to `announce` (the terminal), never
 * to the log.
 */
export async function ensureDemoDomain(ds: DataSource, announce: (text: string) => void): Promise<void> {
  if (await ds.getRepository(Domain).count() > 0) return;
  const domain = await createDomain(ds, { userspace: 'demo', name: 'Demo district' });
  const password = randomBytes(15).toString('base64url');
  await createUser(ds, { domainId: domain.id, username: 'admin', admin: true, password, email: DEMO_NOTIFICATION_EMAIL });
  await saveSettings(ds, domain.id, { ...DEFAULT_SETTINGS, notificationEmails: [DEMO_NOTIFICATION_EMAIL] });
  announce([
    'No domain existed: created domain "demo" with the administrator demo/admin.',
    `Its password, shown only now: ${password}`,
    'Change it with `rosterdrop user passwd demo/admin`.',
  ].join('\n'));
}

/**
 * Says so when no one can log in over FTPS (no active administrator with a password), e.g. after
 * `domain add` on a fresh database, which stops the demo domain from being made: every login would
 * get `530` with nothing in the log to say why.
 */
export async function warnIfNoAdministrator(ds: DataSource, log: Logger): Promise<void> {
  if (await administratorsWhoCanLogIn(ds) > 0) return;
  log.warn('no administrator can log in: every FTPS login will be refused. Create one with ' +
    '`rosterdrop user add <userspace>/<username> --admin --password-stdin` (or `user passwd` / `user grant-admin` for an existing user)');
}

/**
 * `engine`: what runs the syncs, by default a worker thread per run (engine-worker/client.ts), so
 * that FTPS and the queue stay responsive; the bench passes the engine itself to compare.
 */
export async function startDaemon(ds: DataSource, settings: DaemonSettings, logger: Logger, engine: RunEngine = new WorkerEngine(ds, logger)): Promise<Daemon> {
  const notifier = new Notifier(settings.mail, logger.child({ component: 'mail' }));
  const reporter = makeReporter(ds, settings.dropRoot, notifier, logger, { publicUrl: settings.publicUrl, heldDays: settings.heldDays });
  const runner = new SyncRunner(ds, engine, domainLocks(ds), {
    concurrency: settings.concurrency, queueDir: settings.queueDir,
    archiveDir: settings.archiveDir, failedDir: settings.failedDir, heldDir: settings.heldDir, pollMs: settings.pollMs,
  }, reporter.report, logger.child({ component: 'queue' }));
  const intake = new UploadIntake(ds, { dropRoot: settings.dropRoot, queueDir: settings.queueDir }, logger.child({ component: 'intake' }), () => runner.wake());
  const take = (file: string, meta: Parameters<UploadIntake['accept']>[1]) => {
    intake.accept(file, meta).catch((err: unknown) => logger.error('could not queue an upload', { file, error: (err as Error).message }));
  };
  let watcher: UploadWatcher | null = null;
  let ftps: FtpsService | null = null;
  let web: WebServer | null = null;
  try {
    await runner.start();
    watcher = new UploadWatcher({ dropRoot: settings.dropRoot, stableMs: settings.stableMs, sweepMs: settings.sweepMs },
      (file) => take(file, { source: 'watcher' }), logger.child({ component: 'watcher' }));
    await watcher.start();
    ftps = await startFtpsService(ds, settings.ftps, {
      // Complete when handed over (fsynced and renamed): queued at once, no wait for stability. If that
      // fails (database down), the file is safe in the folder and the next sweep queues it.
      accept: (u) => take(u.path, { source: 'ftps', uploadedBy: u.login, sha256: u.sha256, size: u.size }),
    }, logger);
    web = await startWebService(ds, settings, { ftps, intake, wake: () => runner.wake(), syncing: () => runner.busy }, logger.child({ component: 'web' }));
  } catch (err) {
    // a half-started daemon must not go on working on a database its caller is about to close
    await ftps?.stop().catch(() => undefined);
    await watcher?.stop().catch(() => undefined);
    await runner.stop(0);
    throw err;
  }
  const [openFtps, openWatcher, openWeb] = [ftps, watcher, web];
  const prune = async () => {
    const n = await pruneOlderThan(settings.archiveDir, settings.archiveDays).catch(() => 0);
    if (n) logger.info('pruned archived uploads', { files: n, olderThanDays: settings.archiveDays });
  };
  await prune();
  const pruneTimer = setInterval(() => { void prune(); }, 86_400_000);
  pruneTimer.unref();
  // held runs nobody decided on expire (hourly: a day late would be a day more of a stale file)
  const expire = async () => {
    const n = await expireHeldRuns(ds, settings.heldDir, settings.heldDays)
      .catch((err: unknown) => { logger.error('could not expire held runs', { error: (err as Error).message }); return 0; });
    if (n) logger.info('held runs expired', { runs: n, afterDays: settings.heldDays });
  };
  await expire();
  const expireTimer = setInterval(() => { void expire(); }, HELD_EXPIRY_CHECK_MS);
  expireTimer.unref();
  logger.info('rosterdrop is running', { dropRoot: settings.dropRoot, concurrency: settings.concurrency, mail: settings.mail.transport });
  return {
    ftps: openFtps, web: openWeb, runner, intake,
    async reloadTls() {
      const ok = await openFtps.reloadTls();
      if (ok) openWeb?.reloadTls(openFtps.tls());
      return ok;
    },
    async stop() {
      clearInterval(pruneTimer);
      clearInterval(expireTimer);
      await openWeb?.stop();
      await openFtps.stop();
      await openWatcher.stop();
      const finished = await runner.stop(settings.shutdownGraceMs);
      if (!finished) logger.warn('the grace period ended with syncs still running; they roll back and run again at the next start');
      await reporter.drain(finished ? settings.shutdownGraceMs : 0);
      notifier.close();
      return finished;
    },
  };
}
