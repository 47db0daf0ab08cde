/**
 * Passwords are hashed after the roster commits: the result is reported first (onResult), the
 * account has no password login until its hash is stored, and run() resolves once all are stored.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { databaseKinds } from '../helpers/db';
import { mustUser, newRoot, useDatabase } from '../helpers/lms';
import { standardRoster } from '../helpers/roster';
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
    });
  });
}
