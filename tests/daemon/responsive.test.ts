/**
 * Issue 17 #6: a large sync must not freeze the daemon for the other tenants. The real daemon
 * (`rosterdrop serve`) syncs a generated roster for one domain while another domain's FTPS client
 * sends NOOP after NOOP and uploads a file of its own; on both databases.
 *
 * The 1 s bound is the requirement (no reply to another tenant slower than 1 s during any
 * sync), not a hope about this machine's speed: a NOOP costs the server microseconds, so a slow
 * reply can only mean that the daemon's event loop was held, which is the defect. The calibration
 * shows that the roster is big enough for the defect to show: synced on this test's own thread, as
 * the daemon did before its syncs moved to worker threads, it holds the loop for longer than that.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { generateRoster, type GeneratedRoster } from '../../bench/generate';
import { openDatabase } from '../../src/db/data-source';
import { createDomain } from '../../src/db/domains';
import { SyncRun } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { SyncEngine } from '../../src/sync/engine';
import { childEnv } from '../cli/harness';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { freePort, startServe, type Daemon } from '../helpers/daemon';
import { loggedIn, type RawFtp } from '../helpers/ftp-raw';
import { run } from '../helpers/ftps';
import { standardRoster } from '../helpers/roster';
import { tempDir } from '../helpers/zip';

const ENROLLMENTS = 100_000;
const PASSWORD = 'Responsive-Pass1';
const REQUIRED_MS = 1000;
/** How often the other tenant asks: a sampling rate, so that its NOOPs do not load the machine. */
const NOOP_EVERY_MS = 20;

describe('a large sync leaves the daemon responsive to other tenants', { concurrency: 1 }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let roster: GeneratedRoster;
  before(async () => {
    tmp = tempDir('rosterdrop-responsive-');
    roster = await generateRoster({ enrollments: ENROLLMENTS, dir: tmp.dir, passwords: false });
  });
  after(() => tmp?.cleanup());

  it(`calibration: synced on the calling thread (SQLite), ${ENROLLMENTS.toLocaleString('en-US')} enrollments hold the event loop for over ${REQUIRED_MS} ms`, async () => {
    const ds = await openDatabase({ sqlitePath: path.join(tmp.dir, 'calibration', 'rosterdrop.sqlite'), migrate: true });
    try {
      const d = await createDomain(ds, { userspace: 'calibration', name: 'Calibration' });
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const result = await new SyncEngine(ds, { hashPasswords: false }).run({ domainId: d.id, zipPath: roster.zipPath, source: 'test' });
      // a sync that never yields is only seen by the monitor's next tick, after it
      await sleep(50);
      delay.disable();
      assert.equal(result.status, 'succeeded', result.message);
      const maxMs = delay.max / 1e6;
      process.stderr.write(`calibration: in-thread sync ${result.durationMs} ms, event-loop delay max ${maxMs.toFixed(0)} ms\n`);
      assert.ok(maxMs > REQUIRED_MS, `the roster is too small to show the defect: the loop was held for ${maxMs.toFixed(0)} ms at most`);
    } finally {
      await ds.destroy();
    }
  });

  for (const kind of databaseKinds()) {
    describe(kind, { concurrency: 1 }, () => {
      let db: TestDatabase;
      let daemon: Daemon | null = null;
      let ftp: RawFtp | null = null;
      before(async () => { db = await openTestDatabase(kind); });
      afterEach(async () => {
        ftp?.raw.destroy();
        if (!daemon) return;
        daemon.child.kill('SIGKILL');
        await daemon.exited;
        daemon = null;
      });
      after(async () => { await db?.close(); });

      it(`another domain's NOOPs are answered within ${REQUIRED_MS} ms and its upload is accepted and queued during the sync`, async () => {
        const dataDir = db.sqlitePath ? path.dirname(db.sqlitePath) : path.join(tmp.dir, `data-${kind}`);
        const port = await freePort();
        const pasv = 44000 + (process.pid % 400) * 10;
        const env = childEnv({
          ...(db.url ? { DATABASE_URL: db.url } : {}), ROSTERDROP_DATA_DIR: dataDir, NODE_ENV: 'production',
          ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(port), ROSTERDROP_HTTP_PORT: '0', ROSTERDROP_FTPS_PASV_MIN: String(pasv), ROSTERDROP_FTPS_PASV_MAX: String(pasv + 9),
        });
        for (const userspace of ['big', 'other']) {
          const d = await createDomain(db.ds, { userspace, name: userspace });
          await createUser(db.ds, { domainId: d.id, username: 'admin', admin: true, password: PASSWORD });
        }
        daemon = startServe(env);
        const d = daemon;
        await d.waitFor(/^rosterdrop is running$/);
        const curl = (login: string, file: string) => run('curl', ['-sS', '--ssl-reqd', '-k', '-u', `${login}:${PASSWORD}`, '-T', file, `ftp://127.0.0.1:${port}/`]);
        const line = async (message: string, domain: string): Promise<Record<string, unknown>> => {
          for (;;) {
            const found = d.lines.find((l) => l.message === message && l.domain === domain);
            if (found) return found;
            if (d.child.exitCode !== null) throw new Error(`the daemon exited:\n${d.lines.map((l) => JSON.stringify(l)).join('\n')}`);
            await sleep(50);
          }
        };

        const other = await loggedIn(port, 'other/admin', PASSWORD);
        ftp = other;
        assert.equal((await curl('big/admin', roster.zipPath)).code, 0);
        await line('sync started', 'big');

        // the other tenant, from the start of the big sync to its end
        const latencies: number[] = [];
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const t0 = performance.now();
            assert.equal((await other.cmd('NOOP')).code, 200);
            latencies.push(performance.now() - t0);
            await sleep(NOOP_EVERY_MS);
          }
        })();
        await turn();
        const small = await standardRoster(3).zip(tmp.dir, `small-${kind}.zip`);
        const uploadStart = Date.now();
        const upload = await curl('other/admin', small);
        const uploadMs = Date.now() - uploadStart;
        assert.equal(upload.code, 0, `the upload got its 226: ${upload.stderr}`);

        const bigDone = await line('sync finished', 'big');
        const bigFinishedAt = Date.now();
        sampling = false;
        await sampler;

        const rows = await db.ds.getRepository(SyncRun).find({ order: { id: 'ASC' } });
        const [bigRun, otherRun] = rows;
        assert.equal(bigDone.status, 'succeeded', JSON.stringify(bigDone));
        assert.ok(otherRun, 'the other upload was queued');
        const max = Math.max(...latencies);
        process.stderr.write(`[${kind}] ${latencies.length} NOOPs during the sync (${String(bigDone.durationMs)} ms): max ${max.toFixed(0)} ms; ` +
          `other upload ${uploadMs} ms to 226, queued ${otherRun.createdAt.getTime() - uploadStart} ms after it began ` +
          `(big sync finished ${bigFinishedAt - uploadStart} ms after it began)\n`);
        assert.ok(latencies.length >= 10, `the other tenant asked throughout the sync (${latencies.length} NOOPs)`);
        assert.ok(max < REQUIRED_MS, `the slowest NOOP reply took ${max.toFixed(0)} ms`);
        assert.ok(uploadMs < REQUIRED_MS * 10, `the upload took ${uploadMs} ms`);
        assert.equal(bigRun.domainId !== otherRun.domainId, true);
        // queued while the big sync ran, not after it
        assert.ok(otherRun.createdAt.getTime() <= bigFinishedAt, 'the other upload was queued during the big sync');
        for (;;) {
          const r = await db.ds.getRepository(SyncRun).findOneByOrFail({ id: otherRun.id });
          if (!['queued', 'running'].includes(r.status)) {
            assert.equal(r.status, 'succeeded', r.message);
            break;
          }
          await sleep(100);
        }
        await other.cmd('QUIT').catch(() => undefined);
        d.child.kill('SIGTERM');
        assert.equal(await d.exited, 0);
        daemon = null;
      });
    });
  }
});
