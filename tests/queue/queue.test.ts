/**
 * The durable queue, on both databases: uploads become queued runs before their files move; runs
 * start in arrival order, one per domain at a time; identical re-uploads are skipped; validate/
 * changes nothing; failed files are kept apart; runs a crash left behind start over exactly once;
 * and (PostgreSQL) two daemons sharing a database never run one domain twice at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { In, type DataSource } from 'typeorm';
import { generateRoster } from '../../bench/generate';
import { daemonPoolSize } from '../../src/config/daemon';
import { openDatabase } from '../../src/db/data-source';
import { SyncRun, User } from '../../src/db/entities';
import { domainLocks } from '../../src/queue/domain-lock';
import { WorkerEngine } from '../../src/queue/engine-worker/client';
import { UploadIntake } from '../../src/queue/intake';
import { classifyUpload } from '../../src/queue/intake-path';
import { claimRun, enqueueRun } from '../../src/queue/job-store';
import { markMailed } from '../../src/queue/report-state';
import { SyncRunner, type RunOutcome } from '../../src/queue/runner';
import { SyncEngine } from '../../src/sync/engine';
import { silentLogger } from '../../src/util/logger';
import { hashPassword, verifyPassword } from '../../src/util/password-hash';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { newRoot, scopeIds, snapshot } from '../helpers/lms';
import { standardRoster } from '../helpers/roster';
import { tempDir, zipContents } from '../helpers/zip';

describe('which files are uploads', () => {
  it('takes <userspace>/<name>.zip, <userspace>/validate/<name>.zip and <userspace>/force/<name>.zip only', () => {
    const root = '/drop';
    assert.deepEqual(classifyUpload(root, '/drop/d/roster.zip'), { userspace: 'd', name: 'roster.zip', validateOnly: false, forced: false });
    assert.deepEqual(classifyUpload(root, '/drop/d/validate/x.ZIP'), { userspace: 'd', name: 'x.ZIP', validateOnly: true, forced: false });
    assert.deepEqual(classifyUpload(root, '/drop/d/force/y.zip'), { userspace: 'd', name: 'y.zip', validateOnly: false, forced: true });
    for (const p of ['/drop/d/.upload-1.part', '/drop/d/results/r.zip', '/drop/d/a.csv', '/drop/roster.zip', '/drop/d/x/y/z.zip', '/elsewhere/d/a.zip', '/drop/.d/a.zip', '/drop/d/validate/.a.zip']) {
      assert.equal(classifyUpload(root, p), null, p);
    }
  });
});

interface Seen { runId: number; kind: 'result' | 'skipped' | 'failed' | 'stored'; status: string }

class Harness {
  readonly seen: Seen[] = [];
  readonly intake: UploadIntake;
  constructor(readonly ds: DataSource, readonly dir: string) {
    this.intake = new UploadIntake(ds, this.paths, silentLogger(), () => undefined);
  }

  get paths() {
    return { dropRoot: path.join(this.dir, 'drop'), queueDir: path.join(this.dir, 'queue') };
  }

  /** with the daemon's engine: each run in a worker thread of its own */
  runner(ds = this.ds, concurrency = 2, resumeEveryMs?: number): SyncRunner {
    return new SyncRunner(ds, new WorkerEngine(ds, silentLogger()), domainLocks(ds), {
      concurrency, ...this.paths, archiveDir: path.join(this.dir, 'archive'), failedDir: path.join(this.dir, 'failed'), pollMs: 200, resumeEveryMs,
    }, async (run, outcome: RunOutcome | 'stored', parts = { files: true, mail: true }) => {
      const kind = outcome === 'stored' ? 'stored' : 'result' in outcome ? 'result' : 'skipped' in outcome ? 'skipped' : 'failed';
      this.seen.push({ runId: run.id, kind, status: outcome !== 'stored' && 'result' in outcome ? outcome.result.status : kind });
      if (parts.mail) await markMailed(ds, run.id); // as the daemon's reporter does once its mail is handed over
      return true;
    }, silentLogger());
  }

  /** Writes a file into a domain's drop folder (or its validate/ folder). */
  place(userspace: string, name: string, content: Buffer | string, validate = false, area?: 'force'): string {
    const dir = path.join(this.paths.dropRoot, userspace, ...(validate ? ['validate'] : area ? [area] : []));
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  }

  async drained(expectedReports: number, timeoutMs = 60_000): Promise<SyncRun[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = await this.ds.getRepository(SyncRun).count({ where: [{ status: 'queued' }, { status: 'running' }] });
      if (open === 0 && this.seen.length >= expectedReports) break;
      if (Date.now() > deadline) throw new Error(`queue not drained: ${open} open runs, ${this.seen.length} reports`);
      await sleep(100);
    }
    return this.ds.getRepository(SyncRun).find({ order: { id: 'ASC' } });
  }
}

const archived = (dir: string, sub: 'archive' | 'failed'): string[] => {
  const out: string[] = [];
  const walk = (d: string) => { for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) e.isDirectory() ? walk(path.join(d, e.name)) : out.push(e.name); };
  walk(path.join(dir, sub));
  return out.sort();
};

/** Retries an assertion for a while: files are archived just after a run is reported. */
async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

describe('upload queue', { concurrency: true }, () => {
  for (const kind of databaseKinds()) {
    describe(kind, { concurrency: 1 }, () => {
      let db: TestDatabase;
      let tmp: { dir: string; cleanup: () => void };
      before(async () => { db = await openTestDatabase(kind); tmp = tempDir('rosterdrop-queue-'); });
      after(async () => { await db?.close(); tmp?.cleanup(); });

      it('queues before moving; runs in arrival order per domain; skips identical re-uploads; validate/ changes nothing; failures kept apart', async () => {
        const dir = fs.mkdtempSync(path.join(tmp.dir, 'a-'));
        const h = new Harness(db.ds, dir);
        const a = await newRoot(db.ds, {}, 'qa');
        const b = await newRoot(db.ds, {}, 'qb');
        const first = await standardRoster(2).zip(dir, 'first.zip');
        const second = await standardRoster(3).zip(dir, 'second.zip');
        const queued = [];
        for (const [userspace, name, src] of [[a.userspace, 'a1.zip', first], [a.userspace, 'a2.zip', second], [b.userspace, 'b1.zip', first]] as const) {
          const file = h.place(userspace, name, fs.readFileSync(src));
          const run = await h.intake.accept(file, { source: 'test', uploadedBy: `${userspace}/admin` });
          assert.ok(run, name);
          assert.equal(run.status, 'queued');
          assert.equal(fs.existsSync(file), false, 'moved out of the drop folder');
          assert.ok(run.queuedPath && fs.existsSync(run.queuedPath));
          queued.push(run);
        }
        assert.equal(await h.intake.accept(path.join(h.paths.dropRoot, a.userspace, 'a1.zip'), { source: 'test' }), null, 'a second event for a moved file is ignored');

        const runner = h.runner();
        await runner.start();
        let runs = await h.drained(3);
        const [a1, a2, b1] = runs;
        assert.deepEqual(runs.map((r) => r.status), ['succeeded', 'succeeded', 'succeeded']);
        assert.deepEqual(runs.map((r) => r.uploadedBy), [`${a.userspace}/admin`, `${a.userspace}/admin`, `${b.userspace}/admin`]);
        assert.ok((a1.finishedAt as Date).getTime() <= (a2.startedAt as Date).getTime(), 'one domain: one run at a time, in arrival order');
        assert.ok(b1.id > a2.id);
        await eventually(() => assert.deepEqual(archived(dir, 'archive'), [`${a1.id}-a1.zip`, `${a2.id}-a2.zip`, `${b1.id}-b1.zip`]));

        // a byte-identical re-upload of the last applied file is skipped
        const again = await h.intake.accept(h.place(a.userspace, 'again.zip', fs.readFileSync(second)), { source: 'test' });
        // validate/ only validates; a non-zip fails and is kept apart
        const before = await snapshot(db.ds);
        const check = await h.intake.accept(h.place(a.userspace, 'check.zip', fs.readFileSync(first), true), { source: 'test' });
        const broken = await h.intake.accept(h.place(b.userspace, 'broken.zip', 'this is no zip'), { source: 'test' });
        runner.wake();
        runs = await h.drained(6);
        const byId = new Map(runs.map((r) => [r.id, r]));
        assert.equal(byId.get(again!.id)?.status, 'skipped');
        assert.match(byId.get(again!.id)?.message ?? '', new RegExp(`run ${a2.id}`));
        assert.equal(byId.get(check!.id)?.status, 'validated');
        assert.equal(byId.get(check!.id)?.mode, 'validate');
        assert.equal(byId.get(broken!.id)?.status, 'failed');
        // named as uploaded, not as the queue area's `<run>-broken.zip`
        assert.match(byId.get(broken!.id)?.message ?? '', /^rejected: broken\.zip is not a readable zip archive/);
        assert.deepEqual(await snapshot(db.ds), before, 'a validate-only run and a failed run change nothing');
        await eventually(() => assert.deepEqual(archived(dir, 'failed'), [`${broken!.id}-broken.zip`]));
        await eventually(() => assert.ok(archived(dir, 'archive').includes(`${again!.id}-again.zip`)));
        assert.deepEqual(h.seen.map((s) => [s.runId, s.kind, s.status]).sort((x, y) => Number(x[0]) - Number(y[0])),
          [[a1.id, 'result', 'succeeded'], [a2.id, 'result', 'succeeded'], [b1.id, 'result', 'succeeded'],
            [again!.id, 'skipped', 'skipped'], [check!.id, 'result', 'validated'], [broken!.id, 'result', 'failed']]);
        // the same identical file in force/ is applied, not skipped
        const forced = await h.intake.accept(h.place(a.userspace, 'again.zip', fs.readFileSync(second), false, 'force'), { source: 'test' });
        runner.wake();
        const afterForce = await h.drained(7);
        const forcedRun = afterForce.find((r) => r.id === forced?.id);
        assert.deepEqual([forcedRun?.status, forcedRun?.forced], ['succeeded', true]);
        assert.equal(await runner.stop(5000), true);
      });

      it('after a crash: a run left running starts over once; a run queued before its file moved is not queued twice', async () => {
        const dir = fs.mkdtempSync(path.join(tmp.dir, 'b-'));
        const h = new Harness(db.ds, dir);
        const d = await newRoot(db.ds, {}, 'qc');
        const zip = await standardRoster(2).zip(dir, 'r.zip');
        // crash mid-sync: claimed (running), never finished
        const interrupted = await h.intake.accept(h.place(d.userspace, 'mid.zip', fs.readFileSync(zip)), { source: 'test' });
        assert.ok(interrupted && await claimRun(db.ds, interrupted.id));
        // crash mid-intake: the run row exists, the file never moved
        const file = h.place(d.userspace, 'half.zip', fs.readFileSync(zip));
        const half = await enqueueRun(db.ds, { domainId: d.id, source: 'test', fileName: 'half.zip', uploadPath: file, validateOnly: true, forced: false, uploadedBy: null, sha256: null, size: null });
        const retaken = await h.intake.accept(file, { source: 'test' });
        assert.equal(retaken?.id, half.id, 'the sweep after the restart finishes the same run');
        // a `rosterdrop sync` killed mid-sync: no queued file to run again
        const killedCli = await db.ds.getRepository(SyncRun).save({ domainId: d.id, source: 'cli', fileName: 'cli.zip', mode: 'apply', status: 'running', message: '' });

        const runner = h.runner();
        await runner.start();
        const runs = (await h.drained(2)).filter((r) => r.domainId === d.id);
        assert.deepEqual(runs.map((r) => [r.id, r.status, r.attempts]),
          [[interrupted!.id, 'succeeded', 2], [half.id, 'validated', 1], [killedCli.id, 'failed', 0]]);
        assert.match(runs[2].message, /^interrupted: the process running this sync ended before the sync did .*nothing of it was committed$/);
        assert.ok(runs[2].finishedAt);
        assert.equal(h.seen.filter((s) => s.runId === interrupted!.id).length, 1);
        await runner.stop(5000);
      });

      it('no password is kept at rest: archive and failed/ get copies without the password column; the original goes once hashing is done', async () => {
        const dir = fs.mkdtempSync(path.join(tmp.dir, 'pw-'));
        const h = new Harness(db.ds, dir);
        const d = await newRoot(db.ds, {}, 'qpw');
        const secret = (i: number) => `At-rest-secret-${i}`;
        const roster = standardRoster(4);
        for (let i = 1; i <= 4; i++) roster.set('users', `s${i}`, { password: secret(i) });
        const applied = await roster.zip(dir, 'applied.zip');
        const failing = await roster.clone().header('classes', 'sourcedId,nonsense').zip(dir, 'failing.zip');
        const runs = [];
        for (const [file, validate] of [[applied, false], [applied, true], [failing, false]] as const) {
          runs.push(await h.intake.accept(h.place(d.userspace, path.basename(file), fs.readFileSync(file), validate), { source: 'test' }));
        }
        const runner = h.runner(db.ds, 2, 100);
        await runner.start();
        await h.drained(3);
        const ids = runs.map((r) => r!.id);
        const statuses = await Promise.all(ids.map(async (id) => (await db.ds.getRepository(SyncRun).findOneByOrFail({ id })).status));
        assert.deepEqual(statuses, ['succeeded', 'validated', 'failed']);
        const passwordsDir = path.join(dir, 'passwords');
        const remaining = () => fs.existsSync(passwordsDir) ? fs.readdirSync(passwordsDir) : [];
        const deadline = Date.now() + 60_000;
        while ((remaining().length || !(await db.ds.getRepository(SyncRun).findOneByOrFail({ id: ids[0] })).passwordsDoneAt) && Date.now() < deadline) await sleep(100);
        assert.deepEqual(remaining(), [], 'the original is deleted once its hashing is done');
        const keptFiles = () => [...archived(dir, 'archive').map((f) => ['archive', f]), ...archived(dir, 'failed').map((f) => ['failed', f])];
        await eventually(() => assert.deepEqual(keptFiles().map(([, f]) => f).sort(), ids.map((id, i) => `${id}-${i === 2 ? 'failing' : 'applied'}.zip`).sort()));
        const kept = keptFiles();
        for (const [sub, name] of kept) {
          const day = fs.readdirSync(path.join(dir, sub))[0];
          const file = path.join(dir, sub, day, d.userspace, name);
          const users = (await zipContents(file)).get('users.csv')?.toString('utf8') ?? '';
          assert.ok(users.includes('or-') || users.includes('s1'), `${sub}/${name} still has its users`);
          assert.ok(!users.includes('At-rest-secret'), `${sub}/${name} keeps no password`);
          assert.ok(!users.split(/\r?\n/)[0].split(',').includes('password'), `${sub}/${name} has no password column`);
        }
        const s3 = await db.ds.getRepository(User).findOneOrFail({ where: { externalId: 'or-s3', domainId: In(await scopeIds(db.ds, d.id)) } });
        assert.equal(await verifyPassword(secret(3), s3.passwordHash), true, 'the passwords were hashed from the original');
        await runner.stop(5000);
      });

      it('at its start the daemon finishes password hashing that was cut short (here a stopped CLI sync), from the run\'s own file', async () => {
        const dir = fs.mkdtempSync(path.join(tmp.dir, 'r-'));
        const h = new Harness(db.ds, dir);
        const d = await newRoot(db.ds, {}, 'qr');
        const students = 40;
        const roster = standardRoster(students);
        for (let i = 1; i <= students; i++) roster.set('users', `s${i}`, { password: `Resume-me-${i}` });
        const zip = await roster.zip(dir, 'cli.zip');
        const stop = new AbortController();
        const cut = await new SyncEngine(db.ds).run({ domainId: d.id, zipPath: zip, source: 'cli', signal: stop.signal,
          onProgress: (p) => { if (p.phase === 'passwords') stop.abort('SIGINT'); } });
        assert.ok(cut.passwordsLeft && cut.passwordsLeft >= students - 32, `cut short after one batch (${cut.passwordsLeft} left)`);
        const sids = Array.from({ length: students }, (_, i) => `or-s${i + 1}`);
        const domains = await scopeIds(db.ds, d.id);
        const users = async () => db.ds.getRepository(User).find({ where: { externalId: In(sids), domainId: In(domains) } });
        const unhashed = async (): Promise<number> => (await users()).filter((u) => u.passwordHash === null).length;
        assert.equal((await users()).length, students);
        assert.equal(await unhashed(), cut.passwordsLeft);

        const runner = h.runner();
        await runner.start();
        // the run is marked done just after its last batch is written: wait for both
        const done = async () => (await db.ds.getRepository(SyncRun).findOneByOrFail({ id: cut.runId })).passwordsDoneAt;
        const deadline = Date.now() + 60_000;
        while ((await unhashed() > 0 || !await done()) && Date.now() < deadline) await sleep(200);
        assert.equal(await unhashed(), 0, 'every one of them was hashed');
        assert.ok(await done(), 'and the run is marked done');
        const s33 = (await users()).find((u) => u.externalId === 'or-s33');
        assert.equal(await verifyPassword('Resume-me-33', s33?.passwordHash ?? null), true);
        await runner.stop(5000);
      });

      it('a running daemon picks up hashing a CLI sync left, within its resume interval; a sync that hashes to the end keeps its own', async () => {
        const dir = fs.mkdtempSync(path.join(tmp.dir, 'rr-'));
        const h = new Harness(db.ds, dir);
        const runner = h.runner(db.ds, 2, 100);
        await runner.start();
        // the CLI syncing beside the daemon: its own connection (on SQLite, the daemon has only one)
        const cli = db.sqlitePath ? await openDatabase({ sqlitePath: db.sqlitePath }) : db.ds;
        try {
          const d = await newRoot(db.ds, {}, 'qrr');
          const students = 70;
          const roster = standardRoster(students);
          for (let i = 1; i <= students; i++) roster.set('users', `s${i}`, { password: `Pick-me-up-${i}` });
          const users = async () => db.ds.getRepository(User).find({ where: { domainId: In(await scopeIds(db.ds, d.id)) } });
          const unhashed = async (): Promise<number> => (await users()).filter((u) => /^or-s\d+$/.test(u.externalId ?? '') && u.passwordHash === null).length;

          // hashing to the end while the daemon looks for cut-short hashing every 100 ms: the sync
          // holds its run's hashing lock from before its commit, so it hashes every one itself
          const whole = await new SyncEngine(cli).run({ domainId: d.id, zipPath: await roster.zip(dir, 'whole.zip'), source: 'cli' });
          assert.equal(whole.passwordsPending, students);
          assert.equal(whole.passwordsLeft, 0);
          assert.equal(await unhashed(), 0);
          // on SQLite each run's hashing lock is a file: it goes once the run's hashing is over
          const lockFile = (runId: number): string | null => db.sqlitePath ? path.join(path.dirname(db.sqlitePath), 'locks', `hashing-${runId}.lock`) : null;
          const lockLeft = (runId: number): boolean => { const f = lockFile(runId); return f !== null && fs.existsSync(f); };
          assert.equal(lockLeft(whole.runId), false);

          for (let i = students + 1; i <= 2 * students; i++) {
            roster.user(`s${i}`, 'sch1', { username: `student.${i}`, givenName: `Stu${i}`, familyName: 'Dent', password: `Pick-me-up-${i}` });
          }
          const stop = new AbortController();
          const cut = await new SyncEngine(cli).run({ domainId: d.id, zipPath: await roster.zip(dir, 'cut.zip'), source: 'cli', signal: stop.signal,
            onProgress: (p) => { if (p.phase === 'passwords') stop.abort('SIGINT'); } });
          assert.ok(cut.passwordsLeft && cut.passwordsLeft > 0, `cut short (${cut.passwordsLeft} left)`);
          if (lockFile(cut.runId)) assert.equal(lockLeft(cut.runId), true, 'kept while hashing is left to do');
          // the resume marks the run done after its last batch is stored: wait for both, not the hashes alone
          const doneAt = async () => (await db.ds.getRepository(SyncRun).findOneByOrFail({ id: cut.runId })).passwordsDoneAt;
          const deadline = Date.now() + 30_000;
          while ((await unhashed() > 0 || !await doneAt()) && Date.now() < deadline) await sleep(100);
          assert.equal(await unhashed(), 0, 'the running daemon hashed the rest without a restart');
          assert.ok(await doneAt(), 'and marked the run done');
          await eventually(() => assert.equal(lockLeft(cut.runId), false, 'removed by the resume that finished it'));
        } finally {
          await runner.stop(5000);
          if (cli !== db.ds) await cli.destroy();
        }
      });

      if (kind === 'postgres') {
        it('two daemons on one PostgreSQL run each upload once and never one domain twice at once', async () => {
          const dir = fs.mkdtempSync(path.join(tmp.dir, 'c-'));
          const h = new Harness(db.ds, dir);
          const other = await openDatabase({ ...db.options, migrate: false });
          try {
            const d1 = await newRoot(db.ds, {}, 'qd');
            const d2 = await newRoot(db.ds, {}, 'qe');
            const zips = [await standardRoster(1).zip(dir, 'x1.zip'), await standardRoster(2).zip(dir, 'x2.zip'), await standardRoster(3).zip(dir, 'x3.zip')];
            const ids: number[] = [];
            for (const [i, zip] of zips.entries()) {
              for (const d of [d1, d2]) ids.push((await h.intake.accept(h.place(d.userspace, `u${i}.zip`, fs.readFileSync(zip)), { source: 'test' }))!.id);
            }
            const one = h.runner(db.ds, 2);
            const two = h.runner(other, 2);
            await Promise.all([one.start(), two.start()]);
            const runs = (await h.drained(ids.length)).filter((r) => ids.includes(r.id));
            assert.deepEqual(runs.map((r) => r.status), ids.map(() => 'succeeded'));
            assert.deepEqual(h.seen.map((s) => s.runId).sort((x, y) => x - y), ids, 'each run reported exactly once');
            assert.ok(runs.every((r) => r.attempts === 1));
            for (const d of [d1, d2]) {
              const mine = runs.filter((r) => r.domainId === d.id).sort((x, y) => (x.startedAt as Date).getTime() - (y.startedAt as Date).getTime());
              for (let i = 1; i < mine.length; i++) {
                assert.ok((mine[i - 1].finishedAt as Date).getTime() <= (mine[i].startedAt as Date).getTime(),
                  `domain ${d.userspace}: runs overlap: ${JSON.stringify(mine.map((r) => [r.id, r.startedAt, r.finishedAt, r.attempts]))}`);
              }
            }
            await Promise.all([one.stop(5000), two.stop(5000)]);
          } finally {
            await other.destroy();
          }
        });

        it('six syncs at once on the connection pool the daemon sizes all finish (a fixed pool of 10 deadlocked)', async () => {
          const concurrency = 6;
          const args = { databaseUrl: db.url ?? '', dir: fs.mkdtempSync(path.join(tmp.dir, 'n-')), concurrency, poolSize: daemonPoolSize(concurrency) };
          const child = spawn(process.execPath, [path.join(__dirname, 'concurrency-child.js'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
          child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
          const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
          const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
          clearTimeout(timer);
          assert.equal(code, 0, `the child did not finish (deadlocked?): ${err}`);
          const runs = JSON.parse(out) as Array<{ status: string; startedAt: string; finishedAt: string }>;
          assert.deepEqual(runs.map((r) => r.status), runs.map(() => 'succeeded'));
          assert.equal(runs.length, concurrency);
          const starts = runs.map((r) => Date.parse(r.startedAt));
          const ends = runs.map((r) => Date.parse(r.finishedAt));
          assert.ok(Math.max(...starts) < Math.min(...ends), 'all six ran at the same time');
        });

        it('new users\' passwords are hashed after the run: the domain\'s next upload does not wait for them; stop() ends the hashing; the next start resumes it', async () => {
          const dir = fs.mkdtempSync(path.join(tmp.dir, 'p-'));
          const h = new Harness(db.ds, dir);
          const d = await newRoot(db.ds, {}, 'qp');
          const roster = await generateRoster({ enrollments: 2_000, seed: 5, passwords: true, dir: path.join(dir, 'gen') });
          // ~1% of generated users have no password (the last column of users.csv is blank)
          const noPassword = fs.readFileSync(path.join(roster.csvDir, 'users.csv'), 'utf8').trim().split('\n').slice(1).filter((l) => l.endsWith(',')).length;
          const unhashed = async () => Number((await db.ds.query(`SELECT count(*) AS n FROM lms_user
            WHERE external_id LIKE 'or-%' AND password_hash IS NULL AND domain_id = ANY($1)`, [await scopeIds(db.ds, d.id)]))[0].n) - noPassword;
          // how long a validation of this zip takes on this machine now, with nothing being hashed
          const calibration = await h.intake.accept(h.place(d.userspace, 'calibrate.zip', fs.readFileSync(roster.zipPath), true), { source: 'test' });
          const runner = h.runner();
          const calibratedAt = Date.now();
          await runner.start();
          await h.drained(1);
          const alone = Date.now() - calibratedAt;
          assert.equal((await db.ds.getRepository(SyncRun).findOneByOrFail({ id: calibration!.id })).status, 'validated');
          const first = await h.intake.accept(h.place(d.userspace, 'first.zip', fs.readFileSync(roster.zipPath)), { source: 'test' });
          runner.wake();
          await h.drained(2);
          const pending = await unhashed();
          assert.ok(pending > 300, `the first sync created users still to hash (${pending})`);
          assert.equal((await db.ds.getRepository(SyncRun).findOneByOrFail({ id: first!.id })).status, 'succeeded');

          // ~0.1 s of CPU per hash: hundreds take far longer than the next run of the same domain
          const queuedAt = Date.now();
          const check = await h.intake.accept(h.place(d.userspace, 'check.zip', fs.readFileSync(roster.zipPath), true), { source: 'test' });
          runner.wake();
          const runs = await h.drained(3);
          assert.equal(runs.find((r) => r.id === check!.id)?.status, 'validated');
          // nor does it crawl: hashing leaves libuv threads free for file work (the first run's
          // archiving, the next one's zip). Measured against the same validation with nothing
          // hashing, so that a slow machine slows both: 64 hashes at once made it ~8x slower.
          const waited = Date.now() - queuedAt;
          assert.ok(waited < 4 * alone + 1000, `the next run was done ${waited} ms after it was queued; alone it took ${alone} ms`);
          assert.ok(await unhashed() > 0, 'the next run ended while the first one\'s passwords were still being hashed');

          const oneHash = Date.now();
          await hashPassword('a batch of these is what stop() may wait for');
          const hashMs = Date.now() - oneHash;
          const t0 = Date.now();
          assert.equal(await runner.stop(5000), true);
          const left = await unhashed();
          // a batch is 32 hashes on at most 2 threads; the whole of the rest would take far longer
          assert.ok(Date.now() - t0 < 32 * hashMs + 5000, `stop() waits for one batch of hashes at most (${Date.now() - t0} ms; one hash ${hashMs} ms)`);
          assert.ok(left > 0 && left <= pending - 32, `hashing stopped part-way, after at least one batch: ${left} of ${pending} left`);

          // the next start resumes it from the original (the archive has a copy without passwords), and finishes it
          const stopped = await db.ds.getRepository(SyncRun).findOneByOrFail({ id: first!.id });
          assert.equal(stopped.passwordsDoneAt, null);
          assert.ok(stopped.passwordSource?.startsWith(path.join(dir, 'passwords') + path.sep), `read again from the kept original: ${stopped.passwordSource}`);
          assert.ok(fs.existsSync(stopped.passwordSource ?? ''), 'the original is there');
          const restarted = h.runner();
          await restarted.start();
          // a guard against a resume that never ends, not a timing: hundreds of hashes at ~0.1 s of CPU
          // each took over 90 s once the machine was busy with other work (CI saw 43 still to go)
          const resumedAt = Date.now();
          const deadline = resumedAt + 300_000;
          // the run is marked done after the last batch is stored: wait for both, not the hashes alone
          const doneAt = async () => (await db.ds.getRepository(SyncRun).findOneByOrFail({ id: first!.id })).passwordsDoneAt;
          while ((await unhashed() > 0 || !await doneAt()) && Date.now() < deadline) await sleep(500);
          assert.equal(await unhashed(), 0, `every new user got a hash after the restart (${left} to hash, ${Date.now() - resumedAt} ms)`);
          assert.ok(await doneAt(), 'and the run is marked done');
          await restarted.stop(5000);
        });
      }
    });
  }
});

describe('archive retention', () => {
  it('deletes archived files older than the retention, keeps newer ones, and keeps everything at 0 days', async () => {
    const { pruneOlderThan } = await import('../../src/queue/files');
    const { dir, cleanup } = tempDir('rosterdrop-archive-');
    try {
      const old = path.join(dir, '2026-01-01', 'd', '1-old.zip');
      const recent = path.join(dir, '2026-11-20', 'd', '2-new.zip');
      for (const f of [old, recent]) {
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, 'zip');
      }
      const now = Date.now();
      fs.utimesSync(old, new Date(now - 40 * 86_400_000), new Date(now - 40 * 86_400_000));
      fs.utimesSync(recent, new Date(now - 5 * 86_400_000), new Date(now - 5 * 86_400_000));
      assert.equal(await pruneOlderThan(dir, 0, now), 0);
      assert.equal(await pruneOlderThan(dir, 30, now), 1);
      assert.deepEqual([fs.existsSync(old), fs.existsSync(recent)], [false, true]);
    } finally {
      cleanup();
    }
  });
});
