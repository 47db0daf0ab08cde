/**
 * The Notifier against a real SMTP server (smtp-server on 127.0.0.1, a random port) and the outbox
 * transport: what arrives (envelope, subject, text and HTML parts, issues.csv), retries after 4xx
 * replies, a server that is down, a 5xx that is final, credentials kept out of the logs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issuesCsv } from '../../src/cli/output';
import { Notifier, type MailSettings } from '../../src/notify/mailer';
import { composeMail } from '../../src/report/run-report';
import { memoryLogger } from '../helpers/memory-logger';
import { leaves, parseMime, type MimePart } from '../helpers/mime';
import { startSmtp } from '../helpers/smtp';
import { sampleReport } from './fixtures';

const problems: string[] = [];
process.on('unhandledRejection', (err) => { problems.push(`unhandled rejection: ${String(err)}`); });


/** A loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function smtpSettings(port: number, over: Partial<MailSettings['smtp']> = {}, top: Partial<MailSettings> = {}): MailSettings {
  return {
    transport: 'smtp', outboxDir: '/nonexistent-outbox',
    smtp: { host: '127.0.0.1', port, secure: false, requireTLS: false, user: null, password: null, rejectUnauthorized: true, ...over },
    from: 'rosterdrop <rosterdrop@lms.test>', retries: 3, retryDelayMs: 20, ...top,
  };
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

function attachment(msg: MimePart): MimePart | undefined {
  return leaves(msg).find((p) => p.param('content-disposition', 'filename') === 'issues.csv');
}

const RECIPIENTS = ['admin@district.test', 'it@district.test'];
let tmp: string;
before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rosterdrop-mail-')); });
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

describe('Notifier over SMTP', () => {
  it('delivers the report to every address: subject, text and HTML parts, issues.csv', async () => {
    const smtp = await startSmtp();
    const log = memoryLogger();
    const notifier = new Notifier(smtpSettings(smtp.port), log.logger);
    try {
      const report = sampleReport();
      const outcome = await notifier.send(report, [...RECIPIENTS, ' admin@district.test ', '']);
      assert.deepEqual(outcome, { delivered: true, attempts: 1 });
      assert.equal(smtp.received.length, 1);
      const [got] = smtp.received;
      assert.deepEqual(got.to, RECIPIENTS, 'each address once');
      assert.equal(got.from, 'rosterdrop@lms.test');
      const expected = composeMail(report);
      const msg = parseMime(got.raw);
      assert.equal(msg.header('subject'), expected.subject);
      assert.equal(msg.header('to'), 'admin@district.test, it@district.test');
      assert.equal(msg.header('auto-submitted'), 'auto-generated');
      assert.equal(msg.header('x-rosterdrop-run'), '42');
      assert.equal(msg.contentType, 'multipart/mixed');
      const parts = leaves(msg);
      const text = parts.find((p) => p.contentType === 'text/plain');
      const html = parts.find((p) => p.contentType === 'text/html');
      assert.equal(text?.body.replace(/\r\n/g, '\n'), expected.text);
      assert.equal(html?.body.replace(/\r\n/g, '\n'), expected.html);
      const csv = attachment(msg);
      assert.ok(csv, 'issues.csv attached');
      assert.equal(csv.contentType, 'text/csv');
      assert.match(csv.header('content-disposition') ?? '', /^attachment/);
      assert.equal(csv.body, issuesCsv(report.issues));
      const sent = log.entries.find((e) => e.message === 'report mail sent');
      assert.ok(sent);
      assert.equal(sent.level, 'info');
      assert.equal(sent.runId, 42);
      assert.equal(sent.recipients, 2);
    } finally {
      notifier.close();
      await smtp.close();
    }
  });

  it('authenticates with the configured user; a wrong password is final, and never logged', async () => {
    const password = 'S3cret-p@ss/word';
    const smtp = await startSmtp({
      authOptional: false, allowInsecureAuth: true, authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, cb) {
        // a careless server that echoes what it was sent
        if (auth.username === 'mailer' && auth.password === password) return cb(null, { user: auth.username });
        cb(smtpError(`bad credentials ${auth.username}:${auth.password} ${Buffer.from(`\u0000mailer\u0000${auth.password ?? ''}`).toString('base64')}`, 535));
      },
    });
    try {
      const good = new Notifier(smtpSettings(smtp.port, { user: 'mailer', password }), memoryLogger().logger);
      assert.deepEqual(await good.send(sampleReport(), RECIPIENTS), { delivered: true, attempts: 1 });
      good.close();
      assert.equal(smtp.received[0].user, 'mailer');

      const log = memoryLogger();
      const wrongPassword = 'Wr0ng-p@ss';
      const bad = new Notifier(smtpSettings(smtp.port, { user: 'mailer', password: wrongPassword }), log.logger);
      const outcome = await bad.send(sampleReport(), RECIPIENTS);
      bad.close();
      assert.equal(outcome.delivered, false);
      assert.equal(outcome.attempts, 1, 'a 5xx reply is not retried');
      assert.match(outcome.error ?? '', /535/);
      const everything = log.raw.join('') + (outcome.error ?? '');
      assert.ok(!everything.includes(wrongPassword), 'the password is not in the logs');
      assert.ok(!everything.includes(Buffer.from(`\u0000mailer\u0000${wrongPassword}`).toString('base64')), 'nor its AUTH PLAIN form');
      assert.ok(!everything.includes(password));
      assert.equal(smtp.received.length, 1);
    } finally {
      await smtp.close();
    }
  });

  it('retries after 4xx replies with a doubling delay and then delivers', async () => {
    let refusals = 2;
    const smtp = await startSmtp({
      onMailFrom(_address, _session, cb) {
        if (refusals-- > 0) return cb(smtpError('Greylisted, try again later', 451));
        cb();
      },
    });
    const log = memoryLogger();
    const notifier = new Notifier(smtpSettings(smtp.port, {}, { retries: 3, retryDelayMs: 50 }), log.logger);
    try {
      const started = Date.now();
      const outcome = await notifier.send(sampleReport(), RECIPIENTS);
      const elapsed = Date.now() - started;
      assert.deepEqual(outcome, { delivered: true, attempts: 3 });
      assert.ok(elapsed >= 50 + 100 - 10, `waited 50 ms, then 100 ms (took ${elapsed} ms)`);
      assert.equal(smtp.received.length, 1);
      assert.equal(smtp.sessions, 3);
      const failures = log.entries.filter((e) => e.message === 'report mail attempt failed');
      assert.deepEqual(failures.map((e) => [e.level, e.attempt, e.of, e.responseCode, e.retryInMs]), [['warn', 1, 4, 451, 50], ['warn', 2, 4, 451, 100]]);
      assert.match(String(failures[0].error), /Greylisted/);
      assert.equal(log.entries.filter((e) => e.level === 'error').length, 0);
    } finally {
      notifier.close();
      await smtp.close();
    }
  });

  it('gives up after the last retry when the server keeps answering 4xx', async () => {
    const smtp = await startSmtp({ onRcptTo(_a, _s, cb) { cb(smtpError('Mailbox busy', 450)); } });
    const log = memoryLogger();
    const notifier = new Notifier(smtpSettings(smtp.port, {}, { retries: 2, retryDelayMs: 10 }), log.logger);
    try {
      const outcome = await notifier.send(sampleReport(), RECIPIENTS);
      assert.equal(outcome.delivered, false);
      assert.equal(outcome.attempts, 3);
      assert.match(outcome.error ?? '', /450/);
      assert.equal(log.entries.filter((e) => e.message === 'report mail attempt failed').length, 3);
      assert.equal(log.entries.filter((e) => e.message === 'report mail not delivered' && e.level === 'error').length, 1);
    } finally {
      notifier.close();
      await smtp.close();
    }
  });

  it('does not retry a 5xx reply', async () => {
    const smtp = await startSmtp({ onRcptTo(_a, _s, cb) { cb(smtpError('No such user', 550)); } });
    const log = memoryLogger();
    const notifier = new Notifier(smtpSettings(smtp.port), log.logger);
    try {
      const outcome = await notifier.send(sampleReport(), RECIPIENTS);
      assert.equal(outcome.delivered, false);
      assert.equal(outcome.attempts, 1);
      assert.equal(smtp.sessions, 1);
      const [failure] = log.entries.filter((e) => e.message === 'report mail attempt failed');
      assert.equal(failure.permanent, true);
    } finally {
      notifier.close();
      await smtp.close();
    }
  });

  it('delivers to the addresses a server accepts when it rejects some, and logs how many were rejected', async () => {
    const smtp = await startSmtp({ onRcptTo(a, _s, cb) { cb(a.address.startsWith('gone') ? smtpError('No such user', 550) : null); } });
    const log = memoryLogger();
    const notifier = new Notifier(smtpSettings(smtp.port), log.logger);
    try {
      assert.deepEqual(await notifier.send(sampleReport(), ['gone@district.test', 'admin@district.test']), { delivered: true, attempts: 1 });
      assert.deepEqual(smtp.received[0].to, ['admin@district.test']);
      assert.equal(log.entries.find((e) => e.message === 'report mail sent')?.rejectedRecipients, 1);
    } finally {
      notifier.close();
      await smtp.close();
    }
  });

  it('a server that is down: not delivered, every attempt logged, no throw', async () => {
    const port = await deadPort();
    const log = memoryLogger();
    const notifier = new Notifier(smtpSettings(port, {}, { retries: 2, retryDelayMs: 10 }), log.logger);
    try {
      const outcome = await notifier.send(sampleReport(), RECIPIENTS);
      assert.equal(outcome.delivered, false);
      assert.equal(outcome.attempts, 3);
      assert.match(outcome.error ?? '', /ECONNREFUSED/);
      const failures = log.entries.filter((e) => e.message === 'report mail attempt failed');
      assert.equal(failures.length, 3);
      assert.ok(failures.every((e) => e.level === 'warn' && e.runId === 42 && e.domain === 'district'));
      const final = log.entries.find((e) => e.message === 'report mail not delivered');
      assert.equal(final?.level, 'error');
      assert.equal(final?.attempts, 3);
    } finally {
      notifier.close();
    }
  });

  it('close() ends a send that waits for its next retry', async () => {
    const port = await deadPort();
    const notifier = new Notifier(smtpSettings(port, {}, { retries: 5, retryDelayMs: 60_000 }), memoryLogger().logger);
    const started = Date.now();
    const pending = notifier.send(sampleReport(), RECIPIENTS);
    setTimeout(() => notifier.close(), 200);
    const outcome = await pending;
    assert.ok(Date.now() - started < 5_000, 'did not wait a minute');
    assert.equal(outcome.delivered, false);
    assert.equal(outcome.attempts, 1);
    assert.deepEqual(await notifier.send(sampleReport(), RECIPIENTS), { delivered: false, attempts: 0, error: 'notifier closed' });
  });

  it('without recipients sends nothing and logs, at info, that no mail was sent and why', async () => {
    const smtp = await startSmtp();
    const log = memoryLogger();
    const notifier = new Notifier(smtpSettings(smtp.port), log.logger);
    try {
      assert.deepEqual(await notifier.send(sampleReport(), []), { delivered: false, attempts: 0 });
      assert.deepEqual(await notifier.send(sampleReport(), ['  ']), { delivered: false, attempts: 0 });
      assert.equal(smtp.sessions, 0);
      assert.equal(log.entries.length, 2);
      for (const e of log.entries) {
        assert.equal(e.level, 'info');
        assert.match(e.message, /^no report mail sent: the domain has no notification addresses \(`rosterdrop settings set \S+ notificationEmails /);
      }
    } finally {
      notifier.close();
      await smtp.close();
    }
  });
});

describe('Notifier outbox', () => {
  it('writes one parseable RFC 5322 .eml per message, named <timestamp>-run<id>.eml, atomically', async () => {
    const dir = path.join(tmp, 'outbox');
    const log = memoryLogger();
    const settings: MailSettings = { ...smtpSettings(1), transport: 'outbox', outboxDir: dir };
    const notifier = new Notifier(settings, log.logger);
    try {
      const report = sampleReport({ fileName: 'rostér ✓.zip' });
      assert.deepEqual(await notifier.send(report, RECIPIENTS), { delivered: true, attempts: 1 });
      assert.deepEqual(await notifier.send(report, RECIPIENTS), { delivered: true, attempts: 1 });
      const files = fs.readdirSync(dir).sort();
      assert.equal(files.length, 2, 'one file per message, no temp files left');
      for (const f of files) assert.match(f, /^\d{8}T\d{9}Z-run42(-\d+)?\.eml$/);
      const raw = fs.readFileSync(path.join(dir, files[0]), 'utf8');
      assert.ok(!/[^\r]\n/.test(raw), 'CRLF line ends');
      assert.ok(raw.split('\r\n').every((l) => l.length <= 998), 'no line over 998 characters');
      const msg = parseMime(raw);
      const expected = composeMail(report);
      assert.equal(msg.header('subject'), expected.subject);
      assert.equal(msg.header('from'), 'rosterdrop <rosterdrop@lms.test>');
      assert.equal(msg.header('to'), 'admin@district.test, it@district.test');
      assert.ok(msg.header('message-id'));
      assert.ok(msg.header('date'));
      assert.equal(msg.header('mime-version'), '1.0');
      assert.equal(leaves(msg).find((p) => p.contentType === 'text/plain')?.body.replace(/\r\n/g, '\n'), expected.text);
      assert.equal(attachment(msg)?.body, issuesCsv(report.issues));
      const sent = log.entries.find((e) => e.message === 'report mail sent');
      assert.equal(sent?.file, files[0]);
    } finally {
      notifier.close();
    }
  });
});
