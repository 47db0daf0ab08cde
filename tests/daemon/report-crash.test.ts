/**
 * A crash between a run's commit and its report (SIGKILL the moment the report starts): the next
 * daemon writes the result files, sends the mail once and archives the file; a later start sends
 * nothing again. The crashing daemon is the real one (crash-at-report-child.ts), the restarted one
 * is `rosterdrop serve`; mail goes to a real SMTP server on loopback.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createDomain } from '../../src/db/domains';
import { SyncRun } from '../../src/db/entities';
import { childEnv } from '../cli/harness';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { freePort, startServe } from '../helpers/daemon';
import { setSettings } from '../helpers/lms';
import { parseMime } from '../helpers/mime';
import { REPO_ROOT } from '../helpers/paths';
import { standardRoster } from '../helpers/roster';
import { startSmtp, type TestSmtp } from '../helpers/smtp';
import { tempDir } from '../helpers/zip';

async function until<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function filesUnder(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : [];
}

for (const kind of databaseKinds()) {
  describe(`a report cut short by a crash is finished by the next daemon [${kind}]`, { concurrency: 1 }, () => {
    let db: TestDatabase;
    let smtp: TestSmtp;
    let tmp: { dir: string; cleanup: () => void };
    let env: NodeJS.ProcessEnv;
    let dataDir: string;

    before(async () => {
      db = await openTestDatabase(kind);
      smtp = await startSmtp();
      tmp = tempDir('rosterdrop-crash-');
      dataDir = db.sqlitePath ? path.dirname(db.sqlitePath) : path.join(tmp.dir, 'data');
      env = childEnv({
        ...(db.url ? { DATABASE_URL: db.url } : {}), ROSTERDROP_DATA_DIR: dataDir, NODE_ENV: 'production',
        ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(await freePort()), ROSTERDROP_HTTP_PORT: '0', ROSTERDROP_WATCH_STABLE_MS: '200',
        ROSTERDROP_SMTP_HOST: '127.0.0.1', ROSTERDROP_SMTP_PORT: String(smtp.port), ROSTERDROP_SMTP_REQUIRE_TLS: 'false',
        ROSTERDROP_MAIL_FROM: 'rosterdrop@test.invalid', ROSTERDROP_MAIL_RETRY_DELAY_MS: '200',
      });
    });
    after(async () => {
      await smtp?.close();
      await db?.close();
      tmp?.cleanup();
    });

    it('result files, one mail and the archive after the restart; nothing twice on the start after', async () => {
      const domain = await createDomain(db.ds, { userspace: 'crashy', name: 'Crashy' });
      await setSettings(db.ds, domain.id, { notificationEmails: ['ops@crashy.test'] });
      const drop = path.join(dataDir, 'drop', 'crashy');
      fs.mkdirSync(drop, { recursive: true });

      const crashing = spawn(process.execPath, [path.join(__dirname, 'crash-at-report-child.js')], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      crashing.stderr.setEncoding('utf8').on('data', (s: string) => { log += s; });
      const died = new Promise<NodeJS.Signals | null>((resolve) => crashing.on('exit', (_code, signal) => resolve(signal)));
      let exited = false;
      void died.then(() => { exited = true; });
      await until('the daemon to run', async () => {
        if (exited) throw new Error(`the daemon died before it ran:\n${log}`);
        return log.includes('rosterdrop is running');
      });
      fs.copyFileSync(await standardRoster(3).zip(tmp.dir, 'roster.zip'), path.join(drop, 'roster.zip'));
      assert.equal(await died, 'SIGKILL', `the daemon was to die at the report:\n${log}`);

      const run = await db.ds.getRepository(SyncRun).findOneOrFail({ where: { domainId: domain.id }, order: { id: 'DESC' } });
      assert.equal(run.status, 'succeeded', 'the run was committed before the crash');
      assert.equal(run.reportPending, true);
      assert.equal(run.mailPending, true);
      const results = path.join(drop, 'results');
      assert.deepEqual(filesUnder(results), [], 'no result file yet');
      assert.equal(smtp.received.length, 0, 'no mail yet');
      assert.equal(filesUnder(path.join(dataDir, 'queue')).length, 1, 'the file is still in the queue area');

      const mailsOfRun = () => smtp.received.filter((m) => parseMime(m.raw).header('x-rosterdrop-run') === String(run.id));
      const restarted = startServe(env);
      try {
        await restarted.waitFor(/^finishing a report that was cut short$/);
        await until('the report mail', async () => mailsOfRun().length > 0);
        await until('the run marked reported', async () => {
          const r = await db.ds.getRepository(SyncRun).findOneByOrFail({ id: run.id });
          return !r.reportPending && !r.mailPending;
        });
        assert.deepEqual(filesUnder(results).sort(), ['roster.zip.issues.csv', 'roster.zip.json', 'roster.zip.txt']);
        const json = JSON.parse(fs.readFileSync(path.join(results, 'roster.zip.json'), 'utf8')) as { runId: number; status: string; counts: unknown };
        assert.equal(json.runId, run.id);
        assert.equal(json.status, 'succeeded');
        assert.ok(json.counts, 'the counts come from the stored run');
        assert.deepEqual(filesUnder(path.join(dataDir, 'queue')), [], 'the file left the queue area');
        assert.equal(filesUnder(path.join(dataDir, 'archive')).length, 1, 'and is archived');
      } finally {
        restarted.child.kill('SIGTERM');
        assert.equal(await restarted.exited, 0);
      }

      // the start after finds nothing to finish (its sweep runs before "running" is logged)
      const third = startServe(env);
      try {
        await third.waitFor(/^rosterdrop is running$/);
        assert.equal(third.lines.some((l) => l.message === 'finishing a report that was cut short'), false);
      } finally {
        third.child.kill('SIGTERM');
        assert.equal(await third.exited, 0);
      }
      assert.equal(mailsOfRun().length, 1, 'the report mail went exactly once');
    });
  });
}
