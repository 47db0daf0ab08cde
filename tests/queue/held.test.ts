/**
 * Held runs through the daemon's queue, on both databases: a held upload is kept in the held folder
 * (not archived), its report mail (real SMTP on loopback) says why and links to the run's page;
 * approveHeldRun queues the same run, the runner applies it past the threshold and archives the
 * file, and the mail of the applied run names who approved it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { makeReporter } from '../../src/daemon/reporter';
import { SyncRun } from '../../src/db/entities';
import { Notifier } from '../../src/notify/mailer';
import { domainLocks } from '../../src/queue/domain-lock';
import { UploadIntake } from '../../src/queue/intake';
import { SyncRunner } from '../../src/queue/runner';
import { approveHeldRun, discardHeldRun } from '../../src/services/held-runs';
import { SyncEngine } from '../../src/sync/engine';
import { silentLogger } from '../../src/util/logger';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { mustUser, newRoot, setSettings } from '../helpers/lms';
import { leaves, parseMime } from '../helpers/mime';
import { standardRoster } from '../helpers/roster';
import { startSmtp, type TestSmtp } from '../helpers/smtp';
import { tempDir } from '../helpers/zip';

/** Polls the database until the run reaches a status (the runner works in the background). */
async function statusOf(ds: DataSource, runId: number, want: string, timeoutMs = 60_000): Promise<SyncRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
    if (run.status === want && !run.reportPending) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is ${run.status}, not ${want}`);
    await sleep(50);
  }
}

async function mailsFor(smtp: TestSmtp, count: number, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (smtp.received.length < count) {
    if (Date.now() > deadline) throw new Error(`${smtp.received.length} mails, expected ${count}`);
    await sleep(50);
  }
  return smtp.received.map((m) => leaves(parseMime(m.raw)).filter((p) => p.contentType === 'text/plain').map((p) => p.body).join('\n'));
}

for (const kind of databaseKinds()) {
  describe(`held runs through the queue [${kind}]`, () => {
    let db: TestDatabase;
    let smtp: TestSmtp;
    let tmp: { dir: string; cleanup: () => void };
    before(async () => { db = await openTestDatabase(kind); smtp = await startSmtp(); tmp = tempDir('rosterdrop-held-'); });
    after(async () => { await smtp?.close(); await db?.close(); tmp?.cleanup(); });

    it('keeps a held upload, mails the link, and applies the same run once approved', async () => {
      const dir = tmp.dir;
      const paths = { dropRoot: path.join(dir, 'drop'), queueDir: path.join(dir, 'queue') };
      const heldDir = path.join(dir, 'held');
      const notifier = new Notifier({
        transport: 'smtp', outboxDir: path.join(dir, 'outbox'), from: 'rosterdrop@test.invalid', retries: 0, retryDelayMs: 0,
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, requireTLS: false, user: null, password: null, rejectUnauthorized: false },
      }, silentLogger());
      const reporter = makeReporter(db.ds, paths.dropRoot, notifier, silentLogger(), { publicUrl: 'https://lms.example:8443', heldDays: 7 });
      const runner = new SyncRunner(db.ds, new SyncEngine(db.ds), domainLocks(db.ds), {
        concurrency: 1, ...paths, archiveDir: path.join(dir, 'archive'), failedDir: path.join(dir, 'failed'), heldDir, pollMs: 60_000,
      }, reporter.report, silentLogger());
      const intake = new UploadIntake(db.ds, paths, silentLogger(), () => runner.wake());
      try {
        const root = await newRoot(db.ds, { unsharedUsers: 'inactive', notificationEmails: ['ops@district.test'] });
        const roster = standardRoster(16);
        const seed = await new SyncEngine(db.ds).run({ domainId: root.id, zipPath: await roster.zip(dir, 'seed.zip'), source: 'test' });
        assert.equal(seed.status, 'succeeded');
        await runner.start();

        const smaller = roster.clone();
        for (const s of ['s1', 's2', 's3']) smaller.dropUser(s);
        const drop = path.join(paths.dropRoot, root.userspace);
        fs.mkdirSync(drop, { recursive: true });
        fs.copyFileSync(await smaller.zip(dir, 'smaller.zip'), path.join(drop, 'roster.zip'));
        const queued = await intake.accept(path.join(drop, 'roster.zip'), { source: 'ftps', uploadedBy: `${root.userspace}/admin` });
        assert.ok(queued);
        const held = await statusOf(db.ds, queued.id, 'held');
        assert.ok(held.heldPath && held.heldPath.startsWith(heldDir + path.sep), `kept in the held folder: ${held.heldPath}`);
        assert.ok(fs.existsSync(held.heldPath));
        assert.equal(fs.existsSync(held.queuedPath!), false, 'moved out of the queue area');
        assert.equal(fs.existsSync(path.join(dir, 'archive')) && fs.readdirSync(path.join(dir, 'archive')).length > 0, false, 'not archived');
        const [heldMail] = await mailsFor(smtp, 1);
        assert.match(heldMail, /held for review/);
        assert.match(heldMail, /would remove or deactivate \d+ entities/);
        assert.ok(heldMail.includes(`https://lms.example:8443/runs/${queued.id}`), heldMail);
        assert.match(heldMail, /expires in 7 days/);
        assert.match(parseMime(smtp.received[0].raw).header('subject') ?? '', /— held for review/);

        // a fixed file under the same name can be uploaded while one is held (the pending-upload index)
        fs.copyFileSync(await smaller.zip(dir, 'smaller.zip'), path.join(drop, 'roster.zip'));
        const second = await intake.accept(path.join(drop, 'roster.zip'), { source: 'ftps', uploadedBy: `${root.userspace}/admin` });
        assert.ok(second && second.id !== queued.id);
        await statusOf(db.ds, second.id, 'held');
        await mailsFor(smtp, 2);
        assert.equal((await discardHeldRun(db.ds, second.id, `${root.userspace}/admin`)).status, 'discarded');

        const approved = await approveHeldRun(db.ds, queued.id, `${root.userspace}/admin`);
        assert.equal(approved.status, 'queued');
        assert.equal(approved.approved, true);
        runner.wake();
        const done = await statusOf(db.ds, queued.id, 'succeeded');
        assert.equal(done.decidedBy, `${root.userspace}/admin`);
        assert.equal(done.heldPath, null);
        assert.equal(fs.existsSync(held.heldPath), false, 'moved on from the held folder');
        for (const s of ['s1', 's2', 's3']) assert.equal((await mustUser(db.ds, root.id, s)).status, 'inactive');
        assert.equal(await db.ds.getRepository(SyncRun).count({ where: { domainId: root.id } }), 3, 'seed, held and discarded: approving made no new run');
        const mails = await mailsFor(smtp, 3);
        assert.match(mails[2], new RegExp(`Approved by: +${root.userspace}/admin`));
        await setSettings(db.ds, root.id, {});
      } finally {
        await runner.stop(10_000);
        await reporter.drain(5000);
        notifier.close();
      }
    });
  });
}
