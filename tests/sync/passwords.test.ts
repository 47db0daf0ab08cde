/**
 * Passwords are hashed after the roster commits: the result is reported first (onResult), the
 * account has no password login until its hash is stored, and run() resolves once all are stored.
 * Hashing cut short (a stop, a crash) resumes from the run's own file, and only from that file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { databaseKinds } from '../helpers/db';
import { mustUser, newRoot, scopeIds, useDatabase } from '../helpers/lms';
import { standardRoster } from '../helpers/roster';
import { SyncRun } from '../../src/db/entities';
import { SyncEngine } from '../../src/sync/engine';
import type { SyncResult } from '../../src/sync/types';
import { verifyPassword } from '../../src/util/password-hash';

for (const kind of databaseKinds()) {
  describe(`password hashing after commit [${kind}]`, () => {
    const env = useDatabase(kind);

    test('onResult comes before hashing, with the pending count; run() resolves with every hash stored', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(2).set('users', 's1', { password: 'First-Pass-1' }).set('users', 's2', { password: 'Second-Pass-2' });
      const zip = await env.zip(roster);
      let early: { result: SyncResult; hash: string | null } | undefined;
      let pending: Promise<void> | undefined;
      const result = await new SyncEngine(env.ds).run({
        domainId: root.id, zipPath: zip, source: 'test',
        onResult: (r) => {
          // read the account as the LMS would see it at that moment (outside the sync's connection)
          pending = mustUser(env.ds, root.id, 's1').then((u) => { early = { result: r, hash: u.passwordHash }; });
        },
      });
      await pending;
      assert.ok(early, 'onResult was called');
      assert.equal(early.result.status, 'succeeded');
      assert.equal(early.result.passwordsPending, 2);
      assert.equal(early.result.runId, result.runId);
      assert.equal(early.hash, null, 'no password login before the hash is stored');
      const s1 = await mustUser(env.ds, root.id, 's1');
      assert.equal(await verifyPassword('First-Pass-1', s1.passwordHash), true);
      assert.equal(await verifyPassword('Second-Pass-2', (await mustUser(env.ds, root.id, 's2')).passwordHash), true);
      const run = await env.ds.getRepository(SyncRun).findOneByOrFail({ id: result.runId });
      assert.equal(run.passwordsPending, 2);
      assert.ok(run.passwordsDoneAt, 'a run whose hashing finished is not resumed');
    });

    /** a first sync of `students` users with passwords, its hashing stopped after the first batch (32) */
    async function interrupted(students: number): Promise<{ root: { id: number }; zip: string; run: SyncRun; engine: SyncEngine }> {
      const root = await newRoot(env.ds);
      const roster = standardRoster(students);
      for (let i = 1; i <= students; i++) roster.set('users', `s${i}`, { password: `Pass-word-${i}` });
      const zip = await env.zip(roster);
      const stop = new AbortController();
      const engine = new SyncEngine(env.ds);
      const result = await engine.run({
        domainId: root.id, zipPath: zip, source: 'test', signal: stop.signal,
        onProgress: (p) => { if (p.phase === 'passwords') stop.abort('SIGTERM'); },
      });
      assert.equal(result.status, 'succeeded');
      assert.equal(result.passwordsPending, students);
      assert.ok(result.passwordsLeft && result.passwordsLeft >= students - 32, `hashing stopped after one batch (${result.passwordsLeft} left)`);
      const run = await env.ds.getRepository(SyncRun).findOneByOrFail({ id: result.runId });
      assert.deepEqual([run.passwordsPending, run.passwordsDoneAt, run.passwordSource], [students, null, zip]);
      return { root, zip, run, engine };
    }

    /** students s1..sN (the ones given a password) still without a hash, in the sync's domains */
    const withoutHash = async (domainId: number, students: number): Promise<number> => {
      const ids = Array.from({ length: students }, (_, i) => `'or-s${i + 1}'`).join(', ');
      const domains = (await scopeIds(env.ds, domainId)).join(', ');
      return Number((await env.ds.query(`SELECT count(*) AS n FROM lms_user
        WHERE domain_id IN (${domains}) AND password_hash IS NULL AND external_id IN (${ids})`) as Array<{ n: string }>)[0].n);
    };

    test('hashing cut short resumes from the run\'s file: every new user gets the password the file gave', async () => {
      const students = 40;
      const { root, run, engine } = await interrupted(students);
      assert.ok(await withoutHash(root.id, students) >= students - 32);
      const r = await engine.resumePasswords(run);
      assert.deepEqual(r.status === 'hashed' && [r.left, r.hashed > 0], [0, true], JSON.stringify(r));
      assert.equal(await withoutHash(root.id, students), 0);
      for (const i of [1, 17, 33, students]) {
        assert.equal(await verifyPassword(`Pass-word-${i}`, (await mustUser(env.ds, root.id, `s${i}`)).passwordHash), true, `s${i}`);
      }
      const after = await env.ds.getRepository(SyncRun).findOneByOrFail({ id: run.id });
      assert.ok(after.passwordsDoneAt, 'marked done: a later start does not resume it again');
    });

    test('a different file at the run\'s path is never read for passwords: resuming gives up and says why', async () => {
      const { root, zip, run, engine } = await interrupted(36);
      const left = await withoutHash(root.id, 36);
      assert.ok(left >= 4);
      // same users, other passwords: as if the path were reused for a later upload
      const other = standardRoster(36);
      for (let i = 1; i <= 36; i++) other.set('users', `s${i}`, { password: `Not-the-run-${i}` });
      fs.copyFileSync(await env.zip(other, 'other.zip'), zip);
      const r = await engine.resumePasswords(run);
      assert.equal(r.status, 'impossible');
      assert.match(r.status === 'impossible' ? r.reason : '', /no longer the one the run synced/);
      assert.equal(await withoutHash(root.id, 36), left, 'no user got a password from the other file');
      assert.ok((await env.ds.getRepository(SyncRun).findOneByOrFail({ id: run.id })).passwordsDoneAt, 'not retried at every start');
    });
  });
}
