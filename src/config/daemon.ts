/**
 * Everything `rosterdrop serve` needs, from the environment (README "Configuration" lists it all):
 * the FTPS server, the folders, the queue, the watcher and mail. Bad values stop the start with the
 * variable's name.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import type { MailSettings } from '../notify/mailer';
import { bool, ConfigError, int, loadFtpsSettings, str, type FtpsSettings } from './ftps';
import { loadWebSettings, type WebSettings } from './web';

export interface DaemonSettings {
  ftps: FtpsSettings;
  web: WebSettings;
  dataDir: string;
  dropRoot: string;
  queueDir: string;
  archiveDir: string;
  failedDir: string;
  /** held runs' uploads, waiting for a decision */
  heldDir: string;
  /** held runs nobody decided on expire after this many days (ROSTERDROP_HELD_DAYS) */
  heldDays: number;
  /**
   * the web admin's address as users reach it (ROSTERDROP_HTTP_PUBLIC_URL, e.g. https://lms.example:8443),
   * for links in report mails; null: the mails name the CLI command instead
   */
  publicUrl: string | null;
  /** syncs at once over all domains (one per domain at most) */
  concurrency: number;
  /** archived uploads older than this are deleted; 0 keeps them (failed ones are always kept) */
  archiveDays: number;
  /** a file placed by other means counts as complete when unchanged this long */
  stableMs: number;
  sweepMs: number;
  pollMs: number;
  /** SIGTERM: how long a running sync may take to finish */
  shutdownGraceMs: number;
  mail: MailSettings;
}

export function loadDaemonSettings(env: NodeJS.ProcessEnv): DaemonSettings {
  const ftps = loadFtpsSettings(env);
  const dataDir = ftps.dataDir;
  const smtpHost = str(env, 'ROSTERDROP_SMTP_HOST');
  const secure = bool(env, 'ROSTERDROP_SMTP_SECURE', false);
  const settings: DaemonSettings = {
    ftps, web: loadWebSettings(env), dataDir, dropRoot: ftps.dropRoot,
    queueDir: path.join(dataDir, 'queue'),
    archiveDir: path.join(dataDir, 'archive'),
    failedDir: path.join(dataDir, 'failed'),
    heldDir: path.join(dataDir, 'held'),
    heldDays: int(env, 'ROSTERDROP_HELD_DAYS', 7, 1, 3650),
    publicUrl: publicUrl(env),
    concurrency: int(env, 'ROSTERDROP_SYNC_CONCURRENCY', 2, 1, 64),
    archiveDays: int(env, 'ROSTERDROP_ARCHIVE_DAYS', 30, 0, 36_500),
    stableMs: int(env, 'ROSTERDROP_WATCH_STABLE_MS', 2000, 100, 600_000),
    sweepMs: int(env, 'ROSTERDROP_WATCH_SWEEP_S', 60, 1, 86_400) * 1000,
    pollMs: int(env, 'ROSTERDROP_QUEUE_POLL_S', 5, 1, 3600) * 1000,
    shutdownGraceMs: int(env, 'ROSTERDROP_SHUTDOWN_GRACE_S', 300, 0, 86_400) * 1000,
    mail: {
      transport: smtpHost ? 'smtp' : 'outbox',
      outboxDir: path.resolve(str(env, 'ROSTERDROP_MAIL_OUTBOX') ?? path.join(dataDir, 'outbox')),
      smtp: {
        host: smtpHost ?? '', port: int(env, 'ROSTERDROP_SMTP_PORT', secure ? 465 : 587, 1, 65535), secure,
        requireTLS: bool(env, 'ROSTERDROP_SMTP_REQUIRE_TLS', !secure),
        user: str(env, 'ROSTERDROP_SMTP_USER'), password: str(env, 'ROSTERDROP_SMTP_PASSWORD'),
        rejectUnauthorized: bool(env, 'ROSTERDROP_SMTP_VERIFY_CERT', true),
      },
      from: str(env, 'ROSTERDROP_MAIL_FROM') ?? `rosterdrop@${hostname()}`,
      retries: int(env, 'ROSTERDROP_MAIL_RETRIES', 3, 0, 20),
      retryDelayMs: int(env, 'ROSTERDROP_MAIL_RETRY_DELAY_MS', 5000, 0, 3_600_000),
    },
  };
  // read by each sync's PostgreSQL session (src/db/sql-session.ts); checked here so a typo stops the start
  if (env.ROSTERDROP_PG_PARALLEL_WORKERS !== undefined) int(env, 'ROSTERDROP_PG_PARALLEL_WORKERS', 0, 0, 999);
  if (!/^[^\s@]+@[^\s@]+$/.test(settings.mail.from)) throw new ConfigError(`ROSTERDROP_MAIL_FROM=${settings.mail.from}: expected an email address`);
  return settings;
}

/** ROSTERDROP_HTTP_PUBLIC_URL: an http(s) URL without query or fragment; kept without its trailing slash. */
function publicUrl(env: NodeJS.ProcessEnv): string | null {
  const raw = str(env, 'ROSTERDROP_HTTP_PUBLIC_URL');
  if (raw === null) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`ROSTERDROP_HTTP_PUBLIC_URL=${raw}: expected the web admin's address, such as https://lms.example:8443`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`ROSTERDROP_HTTP_PUBLIC_URL=${raw}: expected an http(s) address without user, query or fragment, such as https://lms.example:8443`);
  }
  return url.toString().replace(/\/+$/, '');
}

/**
 * PostgreSQL connections the daemon may hold at once: each running sync holds its session and its
 * domain lock, up to two password hashings outlive their runs (queue/runner.ts), and the intake,
 * the runner's scans, the reports, FTPS logins and the sync history need a few more. With a fixed
 * pool of 10, six syncs at once each waited for a connection the others held, forever.
 */
export function daemonPoolSize(concurrency: number): number {
  return 2 * concurrency + 2 + 6;
}
