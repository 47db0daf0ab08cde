/**
 * Held syncs from the shell, on both databases: `sync` exits 5 for a held run and keeps a copy of
 * the upload; `run show` and `status` show it waiting, `run show --removals` lists what it would
 * remove; `run approve` applies it in this process (no daemon) as the same run, with the sync's
 * report and exit code and the approver recorded; `run discard` ends another; deciding twice, or
 * on an unknown run, exits 2 with a clear line; `settings set … autoCommit false` holds every change.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { databaseKinds } from '../helpers/db';
import { standardRoster } from '../helpers/roster';
import { cliDatabase, parseJson, type CliDatabase } from './harness';

describe('rosterdrop run approve and run discard', { concurrency: true }, () => {
  for (const kind of databaseKinds()) {
    describe(kind, { concurrency: 1 }, () => {
      let db: CliDatabase;
      let reduced: string;
      before(async () => {
        db = await cliDatabase(kind);
        const roster = standardRoster(16);
        const full = await roster.zip(db.dir, 'full.zip');
        const smaller = roster.clone();
        for (const s of ['s1', 's2', 's3']) smaller.dropUser(s);
        reduced = await smaller.zip(db.dir, 'reduced.zip');
        for (const args of [['domain', 'add', 'hd', '--name', 'Held District'], ['settings', 'set', 'hd', 'unsharedUsers', 'inactive'], ['sync', 'hd', full]]) {
          const r = await db.cli(args);
          assert.equal(r.code, 0, r.stdout + r.stderr);
        }
      });
      after(async () => { await db?.close(); });

      it('sync exits 5 for a held run; run approve applies it as the same run, with the approver', async () => {
        const held = await db.cli(['sync', 'hd', reduced, '--json']);
        assert.equal(held.code, 5, held.stderr);
        const j = parseJson<{ runId: number; status: string; heldRemovals: number; message: string }>(held);
        assert.equal(j.status, 'held');
        assert.equal(j.heldRemovals >= 3, true);
        assert.match(j.message, new RegExp(`rosterdrop run approve ${j.runId}`));
        assert.ok(fs.existsSync(reduced), 'the given file stays');

        const show = await db.cli(['run', 'show', String(j.runId)]);
        assert.equal(show.code, 0, show.stderr);
        assert.match(show.stdout, new RegExp(`^run ${j.runId}: held\\n`));
        assert.match(show.stdout, /held for review, nothing was changed yet; approving it would change:/);
        assert.match(show.stdout, new RegExp(`\`rosterdrop run approve ${j.runId}\` applies it`));
        const removals = await db.cli(['run', 'show', String(j.runId), '--removals']);
        assert.equal(removals.code, 0, removals.stderr);
        for (const s of ['s1', 's2', 's3']) assert.match(removals.stdout, new RegExp(`^users\\tor-${s}\\t`, 'm'));
        const status = await db.cli(['status']);
        assert.match(status.stdout, new RegExp(`held for review[^\\n]*\\n[^\\n]*\\n\\s*${j.runId}\\s+hd\\s+reduced\\.zip`));

        const approve = await db.cli(['run', 'approve', String(j.runId), '--by', 'hd/admin']);
        assert.equal(approve.code, 0, approve.stdout + approve.stderr);
        assert.match(approve.stdout, new RegExp(`^run ${j.runId}: succeeded\\n`));
        assert.match(approve.stdout, /approved by hd\/admin at /);
        assert.match(approve.stdout, /users\s+0\s+0\s+17\s+3\s+0\n/);
        const history = await db.cli(['history', 'hd', '--json']);
        const runs = parseJson<{ runs: Array<{ runId: number; status: string; decision: { by: string; approved: boolean } | null }> }>(history).runs;
        assert.equal(runs.length, 2, 'the approval made no new run');
        assert.deepEqual(runs[0], { ...runs[0], runId: j.runId, status: 'succeeded', decision: { ...runs[0].decision!, by: 'hd/admin', approved: true } });
        const table = await db.cli(['history', 'hd']);
        assert.match(table.stdout, /succeeded \(approved by hd\/admin\)/);

        const twice = await db.cli(['run', 'approve', String(j.runId)]);
        assert.equal(twice.code, 2);
        assert.match(twice.stderr, new RegExp(`run ${j.runId} is not held for review \\(it is succeeded\\)`));
        const unknown = await db.cli(['run', 'discard', '99999']);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /unknown run 99999/);
      });

      it('run discard ends a held run; autoCommit false holds a sync that would change something', async () => {
        const off = await db.cli(['settings', 'set', 'hd', 'autoCommit', 'false']);
        assert.equal(off.code, 0, off.stderr);
        const changed = standardRoster(16).set('users', 's5', { givenName: 'Changed' });
        for (const s of ['s1', 's2', 's3']) changed.dropUser(s);
        const held = await db.cli(['sync', 'hd', await changed.zip(db.dir, 'changed.zip')]);
        assert.equal(held.code, 5, held.stdout + held.stderr);
        const runId = Number(/^run (\d+): held/.exec(held.stdout)?.[1]);
        assert.ok(runId > 0, held.stdout);
        assert.match(held.stdout, /held for review: autoCommit is off for hd/);

        const discard = await db.cli(['run', 'discard', String(runId), '--by', 'hd/admin']);
        assert.equal(discard.code, 0, discard.stderr);
        assert.match(discard.stdout, new RegExp(`^run ${runId} discarded by hd/admin: nothing was changed`));
        const show = await db.cli(['run', 'show', String(runId), '--json']);
        const j = parseJson<{ status: string; decision: { by: string; approved: boolean } }>(show);
        assert.equal(j.status, 'discarded');
        assert.deepEqual({ by: j.decision.by, approved: j.decision.approved }, { by: 'hd/admin', approved: false });
        const again = await db.cli(['run', 'discard', String(runId)]);
        assert.equal(again.code, 2);
        assert.match(again.stderr, /is not held for review \(it is discarded\)/);
        const on = await db.cli(['settings', 'set', 'hd', 'autoCommit', 'true']);
        assert.equal(on.code, 0, on.stderr);
      });
    });
  }
});
