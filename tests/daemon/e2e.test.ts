/**
 * The whole daemon as a child process (`rosterdrop serve`): PostgreSQL (SQLite outside CI when no
 * PostgreSQL runs), a real SMTP server on loopback, uploads with curl and lftp. Checked: the
 * database, the email (recipients, subject, counts, issues.csv), the result files fetched back over
 * FTPS, a skipped identical re-upload, a validate/ upload; and a SIGKILL in the middle of a sync,
 * after which the run completes exactly once with nothing half-applied.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { generateRoster } from '../../bench/generate';
import { createDomain } from '../../src/db/domains';
import { Domain, SyncRun, User } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { childEnv, runCli } from '../cli/harness';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { freePort, startServe, type Daemon } from '../helpers/daemon';
import { run } from '../helpers/ftps';
import { setSettings } from '../helpers/lms';
import { leaves, parseMime, type MimePart } from '../helpers/mime';
import { standardRoster } from '../helpers/roster';
import { startSmtp, type TestSmtp } from '../helpers/smtp';
import { tempDir } from '../helpers/zip';

const PASSWORD = 'E2e-Admin-Pass1';
const LOGIN = 'district/admin';
const kind = databaseKinds().includes('postgres') ? 'postgres' : 'sqlite';

describe(`the daemon end to end [${kind}]`, { concurrency: 1 }, () => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let tmp: { dir: string; cleanup: () => void };
  let env: NodeJS.ProcessEnv;
  let port: number;
  let domain: Domain;
  let daemon: Daemon | null = null;

  before(async () => {
    db = await openTestDatabase(kind);
    smtp = await startSmtp();
    tmp = tempDir('rosterdrop-e2e-');
    port = await freePort();
    const pasv = 43000 + (process.pid % 400) * 10;
    env = childEnv({
      ...(db.url ? { DATABASE_URL: db.url } : {}), ROSTERDROP_DATA_DIR: path.join(tmp.dir, 'data'), NODE_ENV: 'production',
      ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(port), ROSTERDROP_HTTP_PORT: '0', ROSTERDROP_FTPS_PASV_MIN: String(pasv), ROSTERDROP_FTPS_PASV_MAX: String(pasv + 9),
      ROSTERDROP_SMTP_HOST: '127.0.0.1', ROSTERDROP_SMTP_PORT: String(smtp.port), ROSTERDROP_SMTP_REQUIRE_TLS: 'false',
      ROSTERDROP_MAIL_FROM: 'rosterdrop@test.invalid', ROSTERDROP_MAIL_RETRY_DELAY_MS: '200',
    });
    if (db.sqlitePath) env.ROSTERDROP_DATA_DIR = path.dirname(db.sqlitePath); // the test's database is the daemon's
    domain = await createDomain(db.ds, { userspace: 'district', name: 'District' });
    await createUser(db.ds, { domainId: domain.id, username: 'admin', admin: true, password: PASSWORD });
    await setSettings(db.ds, domain.id, { notificationEmails: ['ops@district.test', 'it@district.test'] });
  });
  // a test that fails with its daemon up must not leave it holding the port (the next test's) or
  // keeping this process alive
  afterEach(async () => {
    if (!daemon) return;
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    daemon = null;
  });
  after(async () => {
    await smtp?.close();
    await db?.close();
    tmp?.cleanup();
  });

  const start = async (): Promise<Daemon> => {
    daemon = startServe(env);
    await daemon.waitFor(/^rosterdrop is running$/);
    return daemon;
  };
  const stop = async (): Promise<void> => {
    daemon?.child.kill('SIGTERM');
    assert.equal(await daemon?.exited, 0);
    daemon = null;
  };
  const curl = (args: string[]) => run('curl', ['-sS', '--ssl-reqd', '-k', '--fail-early', '-u', `${LOGIN}:${PASSWORD}`, ...args]);
  const mailsFor = (runId: number): MimePart[] => smtp.received.map((m) => parseMime(m.raw)).filter((m) => m.header('x-rosterdrop-run') === String(runId));
  async function until<T>(what: string, probe: () => Promise<T | null | undefined> | T | null | undefined, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${daemon?.lines.map((l) => JSON.stringify(l)).join('\n')}`);
      await sleep(100);
    }
  }
  const runNamed = (fileName: string) => until(`the run of ${fileName}`, async () => {
    const r = await db.ds.getRepository(SyncRun).findOne({ where: { domainId: domain.id, fileName }, order: { id: 'DESC' } });
    return r && !['queued', 'running'].includes(r.status) ? r : null;
  });

  it('an FTPS upload becomes a sync, an email and result files; an identical re-upload is skipped; validate/ only validates', async () => {
    await start();
    const zip = await standardRoster(3).zip(tmp.dir, 'roster.zip');
    const up = await curl(['-T', zip, `ftp://127.0.0.1:${port}/`]);
    assert.equal(up.code, 0, up.stderr);

    const first = await runNamed('roster.zip');
    assert.equal(first.status, 'succeeded', first.message);
    assert.equal(first.uploadedBy, LOGIN);
    assert.equal(first.source, 'ftps');
    assert.ok(await db.ds.getRepository(User).count({ where: { externalId: 'or-s1' } }) === 1, 'the roster is in the LMS');

    const [mail] = await until('the report mail', () => { const m = mailsFor(first.id); return m.length ? m : null; });
    const envelope = smtp.received.find((m) => parseMime(m.raw).header('x-rosterdrop-run') === String(first.id));
    assert.deepEqual(envelope?.to.sort(), ['it@district.test', 'ops@district.test']);
    assert.match(mail.header('subject') ?? '', /^\[rosterdrop\] district: roster\.zip — succeeded \(/);
    const text = leaves(mail).find((p) => p.contentType === 'text/plain')?.body ?? '';
    assert.match(text, /district/);
    assert.match(text, /users\s+\|?\s*7\b/i, 'seven users created (3 students, s2-1, 2 teachers, 1 parent)');
    assert.ok(leaves(mail).some((p) => p.contentType === 'text/html'));

    // the result, fetched back over FTPS like an SIS script would
    const json = await curl([`ftp://127.0.0.1:${port}/results/roster.zip.json`]);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as { runId: number; status: string; counts: { users: { created: number } }; uploadedBy: string };
    assert.deepEqual([result.runId, result.status, result.counts.users.created, result.uploadedBy], [first.id, 'succeeded', 7, LOGIN]);
    const txt = await curl([`ftp://127.0.0.1:${port}/results/roster.zip.txt`]);
    assert.match(txt.stdout.split('\n')[0], /^succeeded: roster\.zip \(run \d+\)/);

    // byte-identical again, under another name: skipped, and reported
    assert.equal((await curl(['-T', zip, `ftp://127.0.0.1:${port}/again.zip`])).code, 0);
    const again = await runNamed('again.zip');
    assert.equal(again.status, 'skipped');
    await until('the skipped run\'s mail', () => mailsFor(again.id).length === 1);

    // lftp into validate/: validated, nothing applied
    const changed = standardRoster(5);
    const changedZip = await changed.zip(tmp.dir, 'bigger.zip');
    const lftp = await run('lftp', ['-c', `set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; set net:max-retries 1; open --env-password -u "${LOGIN}" ftp://127.0.0.1:${port}; put ${changedZip} -o validate/bigger.zip; bye`],
      { env: { LFTP_PASSWORD: PASSWORD } });
    assert.equal(lftp.code, 0, lftp.stderr);
    const check = await runNamed('bigger.zip');
    assert.equal(check.status, 'validated');
    assert.equal(await db.ds.getRepository(User).count({ where: { externalId: 'or-s5' } }), 0, 'validation applied nothing');

    // a validation of a file named like the applied one has results of its own, beside the applied one's
    assert.equal((await curl(['-T', changedZip, `ftp://127.0.0.1:${port}/validate/roster.zip`])).code, 0);
    const checkSameName = await until('the validation of roster.zip', async () => {
      const r = await db.ds.getRepository(SyncRun).findOne({ where: { domainId: domain.id, fileName: 'roster.zip', mode: 'validate' } });
      return r && r.status === 'validated' ? r : null;
    });
    const validatedTxt = await until('results/validate/roster.zip.txt', async () => {
      const r = await curl([`ftp://127.0.0.1:${port}/results/validate/roster.zip.txt`]);
      return r.code === 0 ? r.stdout : null;
    });
    assert.equal(validatedTxt.split('\n')[0], `validated: roster.zip (run ${checkSameName.id})`);
    assert.equal((await curl([`ftp://127.0.0.1:${port}/results/roster.zip.txt`])).stdout.split('\n')[0], `succeeded: roster.zip (run ${first.id})`,
      'the applied upload keeps its results');
    const listing = await curl(['--list-only', `ftp://127.0.0.1:${port}/results/`]);
    assert.ok(listing.stdout.split(/\r?\n/).includes('validate'), `results/ lists validate/: ${listing.stdout}`);
    assert.equal(JSON.stringify(daemon?.lines).includes(PASSWORD), false, 'no password in the log');
    const ofRun = daemon?.lines.filter((l) => l.runId === first.id) ?? [];
    assert.ok(ofRun.length >= 3 && ofRun.every((l) => l.domain === 'district'), `every line of a run names its domain: ${JSON.stringify(ofRun)}`);

    const status = await runCli(env, ['status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as { queue: unknown[]; running: unknown[]; lastRuns: Array<{ domain: string; runId: number; status: string }> };
    assert.deepEqual([shown.queue, shown.running], [[], []]);
    assert.deepEqual(shown.lastRuns.find((r) => r.domain === 'district'), { ...shown.lastRuns.find((r) => r.domain === 'district'), runId: checkSameName.id, status: 'validated' });
    await stop();
  });

  it('files copied in while no daemon runs are synced at start; two daemons on one database run each upload once', async () => {
    const more: Domain[] = [];
    for (const name of ['north', 'south']) {
      const d = await createDomain(db.ds, { userspace: name, name: `${name} district` });
      await createUser(db.ds, { domainId: d.id, username: 'admin', admin: true, password: PASSWORD });
      more.push(d);
    }
    // placed by "another transfer service" (plain file copies) while nothing runs
    const dropRoot = path.join(env.ROSTERDROP_DATA_DIR as string, 'drop');
    const placed: string[] = [];
    for (const [i, d] of more.entries()) {
      for (const n of [1, 2]) {
        fs.mkdirSync(path.join(dropRoot, d.userspace), { recursive: true });
        const zip = await standardRoster(n + i).zip(tmp.dir, `${d.userspace}-${n}.zip`);
        fs.copyFileSync(zip, path.join(dropRoot, d.userspace, `copied-${n}.zip`));
        placed.push(`copied-${n}.zip`);
      }
    }
    const one = startServe(env);
    const port2 = await freePort();
    const two = startServe({ ...env, ROSTERDROP_FTPS_PORT: String(port2), ROSTERDROP_HTTP_PORT: '0', ROSTERDROP_FTPS_PASV_MIN: String(Number(env.ROSTERDROP_FTPS_PASV_MAX) + 1), ROSTERDROP_FTPS_PASV_MAX: String(Number(env.ROSTERDROP_FTPS_PASV_MAX) + 10) });
    try {
      await Promise.all([one.waitFor(/^rosterdrop is running$/), two.waitFor(/^rosterdrop is running$/)]);
      // and two uploads for one domain back to back, through the second daemon
      for (const n of [3, 4]) {
        const zip = await standardRoster(n).zip(tmp.dir, `north-ftp-${n}.zip`);
        const up = await run('curl', ['-sS', '--ssl-reqd', '-k', '-u', `north/admin:${PASSWORD}`, '-T', zip, `ftp://127.0.0.1:${port2}/ftp-${n}.zip`]);
        assert.equal(up.code, 0, up.stderr);
      }
      let seen: SyncRun[] = [];
      const runs = await until('six finished runs', async () => {
        const rs = await db.ds.getRepository(SyncRun).find({ where: more.map((d) => ({ domainId: d.id })), order: { id: 'ASC' } });
        seen = rs;
        return rs.length === 6 && rs.every((r) => !['queued', 'running'].includes(r.status)) ? rs : null;
      }, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\nruns: ${JSON.stringify(seen.map((r) => [r.id, r.fileName, r.status, r.attempts]))}\none: ${one.lines.map((l) => JSON.stringify(l)).join('\n')}\ntwo: ${two.lines.map((l) => JSON.stringify(l)).join('\n')}`);
      });
      assert.deepEqual(runs.map((r) => r.status), runs.map(() => 'succeeded'), runs.map((r) => r.message).join('; '));
      assert.ok(runs.every((r) => r.attempts === 1), 'each run started once');
      assert.deepEqual(runs.map((r) => r.fileName).sort(), [...placed, 'ftp-3.zip', 'ftp-4.zip'].sort());
      for (const d of more) {
        // files that arrive together may start in either order; they must never overlap
        const mine = runs.filter((r) => r.domainId === d.id).sort((x, y) => (x.startedAt as Date).getTime() - (y.startedAt as Date).getTime());
        for (let i = 1; i < mine.length; i++) assert.ok((mine[i - 1].finishedAt as Date) <= (mine[i].startedAt as Date), `${d.userspace}: one sync at a time`);
      }
      // a run is finished in the database a moment before its log line reaches us through the pipe
      const finishedLines = () => [one, two].reduce((n, dmn) => n + dmn.lines.filter((l) => l.message === 'sync finished').length, 0);
      await until('six "sync finished" log lines', () => finishedLines() >= 6, 5_000);
      await sleep(200);
      assert.equal(finishedLines(), 6, 'each upload synced once, by one of the two daemons');
    } finally {
      for (const dmn of [one, two]) dmn.child.kill('SIGKILL');
      await Promise.all([one.exited, two.exited]);
    }
  });

  it('SIGKILL in the middle of a sync: after a restart the run completes exactly once, nothing half-applied before', async () => {
    const big = await generateRoster({ enrollments: 60_000, passwords: false, dir: path.join(tmp.dir, 'big') });
    const managedUsers = () => db.ds.getRepository(User).createQueryBuilder('u').where('u.external_id LIKE :p', { p: 'or-%' }).getCount();
    const baseline = await managedUsers();
    await start();
    const up = await curl(['-T', big.zipPath, `ftp://127.0.0.1:${port}/big.zip`]);
    assert.equal(up.code, 0, up.stderr);
    const starting = await (daemon as Daemon).waitFor(/^sync starting$/);
    const runId = Number(starting.runId);
    await sleep(300); // inside the sync (staging, checks or the apply transaction)
    const killed = daemon as Daemon;
    killed.child.kill('SIGKILL');
    await killed.exited;
    daemon = null;
    const mid = await db.ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
    assert.equal(mid.status, 'running', 'killed before it finished (make the roster bigger if this fails)');
    assert.equal(await managedUsers(), baseline, 'nothing of the killed sync is in the LMS');

    await start();
    const done = await until('the interrupted run to finish', async () => {
      const r = await db.ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
      return ['queued', 'running'].includes(r.status) ? null : r;
    }, 120_000);
    assert.equal(done.status, 'succeeded', done.message);
    assert.equal(done.attempts, 2);
    await until('its one mail', () => mailsFor(runId).length >= 1);
    await sleep(500);
    assert.equal(mailsFor(runId).length, 1, 'reported once');
    assert.equal(await db.ds.getRepository(SyncRun).count({ where: { fileName: 'big.zip' } }), 1, 'queued once');
    assert.equal(await managedUsers(), baseline + big.rows.users, 'every user of the roster is in, once');
    await stop();
  });
});
