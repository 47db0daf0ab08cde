/**
 * Ctrl-C (SIGINT) and SIGTERM during `rosterdrop sync`, on the real CLI process: before the commit
 * the sync rolls back and its run is recorded as failed (not left `running`); after the commit,
 * password hashing stops between batches and the CLI says how many users have no password yet.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { generateRoster } from '../../bench/generate';
import { Domain, SyncRun, User } from '../../src/db/entities';
import { domainLocks } from '../../src/queue/domain-lock';
import { databaseKinds } from '../helpers/db';
import { REPO_ROOT } from '../helpers/paths';
import { BIN, cliDatabase, type CliDatabase } from './harness';

interface Stopped { code: number | null; stderr: string }

/**
 * Runs `rosterdrop sync`, sends `signal` once stderr matches `when` (and then `ready()` holds), and
 * waits for the exit.
 */
function syncAndSignal(env: NodeJS.ProcessEnv, args: string[], when: RegExp, signal: NodeJS.Signals,
  ready: () => Promise<boolean> = async () => true): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sync', ...args], { cwd: REPO_ROOT, env: { ...env, LOG_LEVEL: 'debug' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    const send = async (): Promise<void> => {
      while (!(await ready())) await sleep(25);
      child.kill(signal);
    };
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (!sent && when.test(stderr)) { sent = true; send().catch(reject); }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('stopping rosterdrop sync', { concurrency: true }, () => {
  for (const kind of databaseKinds()) {
    describe(kind, { concurrency: 1 }, () => {
      let db: CliDatabase;
      before(async () => {
        db = await cliDatabase(kind);
        const add = await db.cli(['domain', 'add', 'district', '--name', 'District']);
        assert.equal(add.code, 0, add.stderr);
      });
      after(async () => { await db?.close(); });

      it('SIGINT after the read phase: rolled back, run recorded as failed (interrupted), exit 130; then it syncs normally', async () => {
        const roster = await generateRoster({ enrollments: 60_000, passwords: false, dir: path.join(db.dir, 'big') });
        const stopped = await syncAndSignal(db.env, ['district', roster.zipPath, '--no-progress'], /phase done[\s\S]*read|"phase":"read"/, 'SIGINT');
        assert.equal(stopped.code, 130, stopped.stderr.slice(-3000));
        assert.match(stopped.stderr, /SIGINT: stopping the sync/);
        const ds = await db.ds();
        const run = await ds.getRepository(SyncRun).findOneOrFail({ where: {}, order: { id: 'DESC' } });
        assert.equal(run.status, 'failed');
        assert.match(run.message, /interrupted \(SIGINT\) before it finished; the sync was rolled back and changed nothing/);
        assert.ok(run.finishedAt, 'the run is finished, not left running');
        assert.equal(await ds.getRepository(User).count(), 0, 'nothing of the interrupted sync is in the LMS');

        const again = await db.cli(['sync', 'district', roster.zipPath, '--no-progress', '--json']);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(await ds.getRepository(User).count(), roster.rows.users);
      });

      it('SIGTERM while new users\' passwords are hashed: the roster stays, hashing stops, the CLI says how many are left (exit 143)', async () => {
        const roster = await generateRoster({ enrollments: 1_000, seed: 7, passwords: true, dir: path.join(db.dir, 'pw') });
        const ds = await db.ds();
        const lastId = Number((await ds.getRepository(User).createQueryBuilder('u').select('max(u.id)', 'n').getRawOne<{ n: number | null }>())?.n ?? 0);
        const hashedSoFar = async (): Promise<number> => ds.getRepository(User).createQueryBuilder('u')
          .where('u.id > :id AND u.password_hash IS NOT NULL', { id: lastId }).getCount();
        const domain = await ds.getRepository(Domain).findOneByOrFail({ userspace: 'district' });
        let domainFreeWhileHashing: boolean | null = null;
        // signalled once the first batch is stored: the stop then comes between batches
        const stopped = await syncAndSignal(db.env, ['district', roster.zipPath, '--no-progress'], /hashing \d+ new users' passwords/, 'SIGTERM',
          async () => {
            if ((await hashedSoFar()) === 0) return false;
            // hashing has its own lock: the daemon's next sync of the domain need not wait for it
            const lock = await domainLocks(ds).tryAcquire(domain.id);
            domainFreeWhileHashing = lock !== null;
            await lock?.release();
            return true;
          });
        assert.equal(stopped.code, 143, stopped.stderr.slice(-3000));
        assert.equal(domainFreeWhileHashing, true, 'the CLI let go of the domain once its result was recorded');
        const said = /(\d+) of (\d+) new users have no password yet/.exec(stopped.stderr);
        assert.ok(said, stopped.stderr.slice(-3000));
        const run = await ds.getRepository(SyncRun).findOneOrFail({ where: {}, order: { id: 'DESC' } });
        assert.equal(run.status, 'succeeded', 'the roster committed before hashing began');
        const created = await ds.getRepository(User).createQueryBuilder('u').where('u.id > :id', { id: lastId }).getMany();
        const hashed = created.filter((u) => u.passwordHash !== null).length;
        const [left, pending] = [Number(said[1]), Number(said[2])];
        assert.ok(pending > 32, `more than one batch to hash (${pending})`);
        assert.ok(left > 0 && left < pending, `stopped part-way: ${left} of ${pending} left`);
        assert.equal(hashed, pending - left, 'the count the CLI printed is the count in the LMS');
        // what the daemon needs to resume it at its next start
        assert.deepEqual([run.passwordsPending, run.passwordsDoneAt, run.passwordSource], [pending, null, path.resolve(roster.zipPath)]);
        assert.match(stopped.stderr, /the daemon \(`rosterdrop serve`\) resumes it from /);
      });

      it('SIGKILL during the apply: nothing committed and the run stays `running`; the next sync of the domain marks it failed and applies', async () => {
        assert.equal((await db.cli(['domain', 'add', 'killed', '--name', 'Killed'])).code, 0);
        const roster = await generateRoster({ enrollments: 60_000, seed: 9, passwords: false, dir: path.join(db.dir, 'kill') });
        const ds = await db.ds();
        const users = await ds.getRepository(User).count();
        const killed = await syncAndSignal(db.env, ['killed', roster.zipPath, '--no-progress'], /phase done[\s\S]*plan|"phase":"plan"/, 'SIGKILL');
        assert.equal(killed.code, null, 'killed, not exited');
        const run = await ds.getRepository(SyncRun).findOneOrFail({ where: {}, order: { id: 'DESC' } });
        assert.equal(run.status, 'running', 'nobody was left to record it');
        assert.equal(await ds.getRepository(User).count(), users, 'nothing of the killed sync is in the LMS');

        const next = await db.cli(['sync', 'killed', roster.zipPath, '--no-progress', '--json']);
        assert.equal(next.code, 0, next.stderr);
        assert.match(next.stderr, /1 earlier run\(s\) of killed had died before finishing; marked failed \(they changed nothing\)/);
        const marked = await ds.getRepository(SyncRun).findOneByOrFail({ id: run.id });
        assert.equal(marked.status, 'failed');
        assert.match(marked.message, /^interrupted: the process running this sync ended before the sync did/);
        assert.ok(marked.finishedAt);
        assert.equal(await ds.getRepository(User).count(), users + roster.rows.users);
      });

      it('a sync of a domain that another process is syncing: exit 7, nothing done, no run recorded; once it is free, it runs', async () => {
        assert.equal((await db.cli(['domain', 'add', 'busy', '--name', 'Busy'])).code, 0);
        const ds = await db.ds();
        const domain = await ds.getRepository(Domain).findOneByOrFail({ userspace: 'busy' });
        const zip = (await generateRoster({ enrollments: 200, seed: 3, passwords: false, dir: path.join(db.dir, 'busy') })).zipPath;
        const runs = await ds.getRepository(SyncRun).count();
        // the lock the daemon's runner takes, held from this process: the CLI is another one
        const held = await domainLocks(ds).tryAcquire(domain.id);
        assert.ok(held);
        try {
          const refused = await db.cli(['sync', 'busy', zip, '--no-progress']);
          assert.equal(refused.code, 7, refused.stderr);
          assert.match(refused.stderr, /another sync of busy is running \(the daemon's, or another `rosterdrop sync`\); nothing was done/);
          assert.equal(await ds.getRepository(SyncRun).count(), runs);
        } finally {
          await held.release();
        }
        const ran = await db.cli(['sync', 'busy', zip, '--no-progress']);
        assert.equal(ran.code, 0, ran.stderr);
        assert.equal(await ds.getRepository(SyncRun).count(), runs + 1);
      });
    });
  }
});
