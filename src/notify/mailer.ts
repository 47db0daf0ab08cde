/**
 * Sends a run's report mail to the domain's notification addresses. A report is a courtesy: a
 * broken mail server must never fail or hold up a sync, so send() never throws, retries with a
 * doubling delay (transient failures: connection problems, 4xx replies; a 5xx reply is final),
 * and logs every failed attempt. Two transports: `smtp`, and `outbox` (the default: one RFC 5322
 * .eml file per message in a folder, written atomically) for machines without a mail server and
 * for tests. Credentials never reach a log line: errors are logged by message and code only, with
 * the password scrubbed from them.
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createTransport, type SendMailOptions, type SMTPSentMessageInfo, type SMTPTransportOptions, type StreamSentMessageInfo,
  type StreamTransportOptions, type Transporter,
} from 'nodemailer';
import { composeMail, type RunReport } from '../report/run-report';
import type { Logger } from '../util/logger';

export interface MailSettings {
  transport: 'outbox' | 'smtp';
  /** .eml files, one per message, named <timestamp>-run<id>.eml */
  outboxDir: string;
  smtp: { host: string; port: number; secure: boolean; requireTLS: boolean; user: string | null; password: string | null; rejectUnauthorized: boolean };
  from: string;
  /** attempts after the first */
  retries: number;
  /** doubled each retry */
  retryDelayMs: number;
}

export interface SendOutcome {
  delivered: boolean;
  attempts: number;
  error?: string;
}

/** SMTP timeouts: a hung server gives up an attempt in about a minute instead of nodemailer's ten. */
const CONNECTION_TIMEOUT_MS = 30_000;
const GREETING_TIMEOUT_MS = 30_000;
const SOCKET_TIMEOUT_MS = 60_000;

export class Notifier {
  private readonly smtp: Transporter<SMTPSentMessageInfo, SMTPTransportOptions> | null = null;
  private readonly outbox: Transporter<StreamSentMessageInfo, StreamTransportOptions> | null = null;
  private readonly closing = new AbortController();
  private readonly retries: number;
  private readonly retryDelayMs: number;

  constructor(private readonly settings: MailSettings, private readonly logger: Logger) {
    this.retries = Math.max(0, Math.floor(settings.retries));
    this.retryDelayMs = Math.max(0, settings.retryDelayMs);
    if (settings.transport === 'smtp') {
      const s = settings.smtp;
      this.smtp = createTransport({
        host: s.host, port: s.port, secure: s.secure, requireTLS: s.requireTLS,
        auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
        tls: { rejectUnauthorized: s.rejectUnauthorized, minVersion: 'TLSv1.2' },
        connectionTimeout: CONNECTION_TIMEOUT_MS, greetingTimeout: GREETING_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS,
        logger: false, debug: false, disableFileAccess: true, disableUrlAccess: true,
      });
    } else {
      this.outbox = createTransport({ streamTransport: true, buffer: true, newline: 'windows', disableFileAccess: true, disableUrlAccess: true });
    }
  }

  /** never throws; logs every failed attempt (never the SMTP password) */
  async send(report: RunReport, recipients: string[]): Promise<SendOutcome> {
    const log = this.logger.child({ runId: report.runId, domain: report.domain.userspace });
    const to = [...new Set(recipients.map((a) => a.trim()).filter(Boolean))];
    if (!to.length) {
      const setting = `rosterdrop settings set ${report.domain.userspace} notificationEmails a@example.org,b@example.org`;
      log.info(`no report mail sent: the domain has no notification addresses (\`${setting}\`)`);
      return { delivered: false, attempts: 0 };
    }
    if (this.closing.signal.aborted) {
      log.warn('report mail not sent: the notifier is closed');
      return { delivered: false, attempts: 0, error: 'notifier closed' };
    }
    let message: SendMailOptions;
    try {
      const mail = composeMail(report);
      message = {
        from: this.settings.from, to, subject: mail.subject, text: mail.text, html: mail.html, attachments: mail.attachments,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Rosterdrop-Run': String(report.runId) },
      };
    } catch (err) {
      const error = this.describe(err);
      log.error('report mail not composed', { error });
      return { delivered: false, attempts: 0, error };
    }

    const total = 1 + this.retries;
    let attempts = 0;
    let lastError = '';
    while (attempts < total && !this.closing.signal.aborted) {
      attempts++;
      try {
        const where = await this.deliver(message, report.runId);
        log.info('report mail sent', { transport: this.settings.transport, recipients: to.length, attempts, ...where });
        return { delivered: true, attempts };
      } catch (err) {
        lastError = this.describe(err);
        const final = isPermanent(err);
        const retryInMs = !final && attempts < total && !this.closing.signal.aborted ? this.retryDelayMs * 2 ** (attempts - 1) : null;
        log.warn('report mail attempt failed', {
          transport: this.settings.transport, attempt: attempts, of: total, error: lastError, ...errorFields(err),
          ...(retryInMs !== null ? { retryInMs } : final ? { permanent: true } : {}),
        });
        if (retryInMs === null) break;
        await delay(retryInMs, undefined, { signal: this.closing.signal }).catch(() => undefined);
      }
    }
    if (!lastError) lastError = 'notifier closed';
    log.error('report mail not delivered', { transport: this.settings.transport, recipients: to.length, attempts, error: lastError });
    return { delivered: false, attempts, error: lastError };
  }

  /** Stops: pending retries give up, a transfer in progress is aborted, later sends do nothing. */
  close(): void {
    this.closing.abort();
    this.smtp?.close();
    this.outbox?.close();
  }

  /** One attempt; resolves with what to log about where the message went. */
  private async deliver(message: SendMailOptions, runId: number): Promise<Record<string, unknown>> {
    const signal = this.closing.signal;
    if (this.smtp) {
      const info = await this.smtp.sendMail({ ...message, signal });
      return { messageId: info.messageId, ...(info.rejected.length ? { rejectedRecipients: info.rejected.length } : {}) };
    }
    const info = await this.outbox!.sendMail({ ...message, signal });
    const raw = info.message;
    if (!Buffer.isBuffer(raw)) throw new Error('the outbox transport returned a stream, not a buffer');
    const file = await writeEml(this.settings.outboxDir, `${fileStamp(new Date())}-run${runId}`, raw);
    return { messageId: info.messageId, file };
  }

  /** An error as one line, with the SMTP password (plain and as AUTH PLAIN/LOGIN would send it) removed. */
  private describe(err: unknown): string {
    const e = err as { message?: unknown; code?: unknown };
    const message = typeof e?.message === 'string' ? e.message : String(err);
    const code = typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ` : '';
    return scrub(`${code}${message}`.replace(/\s*[\r\n]+\s*/g, ' '), this.secrets());
  }

  private secrets(): string[] {
    const { user, password } = this.settings.smtp;
    if (!password) return [];
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    return [password, b64(password), b64(`\u0000${user ?? ''}\u0000${password}`)].filter((s) => s.length >= 3);
  }
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** The nodemailer fields worth a log line (never `response` bodies with credentials: there are none, but be sure). */
function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; responseCode?: unknown; command?: unknown };
  const out: Record<string, unknown> = {};
  if (typeof e?.code === 'string') out.code = e.code;
  if (typeof e?.responseCode === 'number') out.responseCode = e.responseCode;
  if (typeof e?.command === 'string') out.command = e.command.split(' ').slice(0, 2).join(' '); // "AUTH PLAIN", never its argument
  return out;
}

/** A 5xx reply, a bad configuration or an address nodemailer refuses: retrying cannot help. */
function isPermanent(err: unknown): boolean {
  const e = err as { code?: unknown; responseCode?: unknown };
  if (typeof e?.responseCode === 'number') return e.responseCode >= 500 && e.responseCode < 600;
  return e?.code === 'ECONFIG' || e?.code === 'EENVELOPE' || e?.code === 'EMAXRECIPIENTS';
}

/** 20250131T140509123Z: sorts by time, safe in any file system */
function fileStamp(d: Date): string {
  return d.toISOString().replace(/[-:.]/g, '');
}

/**
 * Writes one .eml into the outbox: a hidden temp file, fsynced, then hard-linked to its final
 * name (link never replaces: a name already taken gets a -2, -3 … suffix), then the temp removed.
 * A reader of the outbox never sees a partial message.
 */
async function writeEml(dir: string, base: string, content: Buffer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.eml-${randomUUID()}.tmp`);
  const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
  try {
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    for (let n = 1; ; n++) {
      const name = `${base}${n > 1 ? `-${n}` : ''}.eml`;
      try {
        await link(temp, path.join(dir, name));
        return name;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw err;
      }
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
