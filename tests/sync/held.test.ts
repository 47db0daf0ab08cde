/**
 * Held syncs (prepare → review → commit), on both databases: a sync over the safety threshold ends
 * `held` with its removal list stored and nothing changed; approval applies the same file as the
 * same run and records who; an approval after something else changed the domain re-plans and holds
 * again with the new list; discard and expiry end a held run and delete its upload; autoCommit off
 * holds every sync that would change something. The CLI's in-process approval path is used here
 * (claim, then the engine); the queue's path is tested in tests/queue/held.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { DataSource } from 'typeorm';
import { SyncRun } from '../../src/db/entities';
import {
  approveHeldRun, claimHeldRunForApproval, discardHeldRun, expireHeldRuns, HeldRunError, keepHeldUpload, listHeldRemovals,
} from '../../src/services/held-runs';
import { SyncEngine } from '../../src/sync/engine';
import type { SyncResult } from '../../src/sync/types';
import type { SyncSettings } from '../../src/sync/settings';
import { databaseKinds } from '../helpers/db';
import { brief, mustUser, newRoot, runRow, snapshot, useDatabase, usersUnder, type SyncEnv } from '../helpers/lms';
import { Roster, standardRoster } from '../helpers/roster';

const without = (roster: Roster, ...students: string[]): Roster => {
  const r = roster.clone();
  for (const s of students) r.dropUser(s);
  return r;
};

async function seed(env: SyncEnv, settings: Partial<SyncSettings>): Promise<{ rootId: number; roster: Roster }> {
  const root = await newRoot(env.ds, settings);
  const roster = standardRoster(16);
  const r = await env.sync(root.id, roster);
  assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
  assert.equal((await usersUnder(env.ds, root.id)).length, 20);
  return { rootId: root.id, roster };
}

/** Syncs, and keeps a held run's upload as `rosterdrop sync` does. */
async function syncKept(env: SyncEnv, rootId: number, roster: Roster): Promise<SyncResult> {
  const zip = await env.zip(roster);
  const r = await env.sync(rootId, zip);
  if (r.status === 'held') await keepHeldUpload(env.ds, { id: r.runId, fileName: r.fileName }, zip, heldDir(env), 'copy');
  return r;
}

const heldDir = (env: SyncEnv): string => path.join(env.dir, 'held');

/** The CLI's approval: claimed for this process, then applied as the same run. */
async function approveHere(ds: DataSource, runId: number, by: string): Promise<SyncResult> {
  const { run, zipPath } = await claimHeldRunForApproval(ds, runId, by);
  return new SyncEngine(ds).run({ domainId: run.domainId, zipPath, fileName: run.fileName, source: run.source, runId, approved: true });
}

async function listed(ds: DataSource, runId: number): Promise<string[]> {
  const { total, rows } = await listHeldRemovals(ds, runId, { offset: 0, limit: 1000 });
  assert.equal(rows.length, total);
  return rows.map((r) => `${r.entity} ${r.sourcedId ?? r.externalId} ${r.name}`).sort();
}

for (const kind of databaseKinds()) {
  describe(`held syncs [${kind}]`, () => {
    const env = useDatabase(kind);

    test('over the threshold: held, its removals listed with names, nothing changed; approval applies it as the same run', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive', unsharedEnrollments: 'inactive', safetyThresholdPercent: 10 });
      const before = await snapshot(env.ds);
      const r = await syncKept(env, rootId, without(roster, 's1', 's2', 's3'));
      assert.equal(r.status, 'held', r.message);
      assert.match(r.message, /^held: the sync would remove or deactivate 3 of 20 managed users/);
      assert.match(r.message, new RegExp(`rosterdrop run approve ${r.runId}`));
      assert.deepEqual(await snapshot(env.ds), before, 'a held sync changes nothing');
      const users = (await listed(env.ds, r.runId)).filter((x) => x.startsWith('users '));
      assert.equal(users.length, 3);
      const s1 = await mustUser(env.ds, rootId, 's1');
      assert.ok(users.includes(`users s1 ${`${s1.givenName} ${s1.familyName}`.trim()} (${s1.username})`), users.join('\n'));
      const enrollments = (await listed(env.ds, r.runId)).filter((x) => x.startsWith('enrollments '));
      assert.equal(enrollments.length, r.counts.enrollments.removed, 'every enrollment the plan removes is listed');
      assert.ok(enrollments.length > 0 && enrollments.every((e) => / — /.test(e)), enrollments.join('\n'));
      assert.equal(r.heldRemovals, 3 + enrollments.length);
      assert.equal(r.counts.users.removed, 3, 'the counts are what approving would do');
      const row = await runRow(env.ds, r.runId);
      assert.equal(row.status, 'held');
      assert.ok(row.heldPath && fs.existsSync(row.heldPath), 'the upload is kept');

      const a = await approveHere(env.ds, r.runId, 'district/admin');
      assert.equal(a.runId, r.runId, 'the same run');
      assert.equal(a.status, 'succeeded', a.message);
      assert.equal(a.counts.users.removed, 3);
      assert.ok(a.issues.some((i) => i.code === 'apply.safety_threshold' && /^approved past the safety threshold/.test(i.message)));
      for (const s of ['s1', 's2', 's3']) assert.equal((await mustUser(env.ds, rootId, s)).status, 'inactive');
      const done = await runRow(env.ds, r.runId);
      assert.equal(done.status, 'succeeded');
      assert.equal(done.decidedBy, 'district/admin');
      assert.ok(done.decidedAt instanceof Date);
      assert.equal(done.approved, true);
      assert.equal(await env.ds.getRepository(SyncRun).count({ where: { domainId: rootId } }), 2, 'no new run was made');

      await assert.rejects(approveHere(env.ds, r.runId, 'x'), (e: unknown) => e instanceof HeldRunError && e.reason === 'not_held' && /is not held/.test(e.message));
    });

    test('approval after another sync changed the domain: held again with the new list, then applied when approved again', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive' });
      const r = await syncKept(env, rootId, without(roster, 's1', 's2', 's3'));
      assert.equal(r.status, 'held');
      assert.deepEqual((await listed(env.ds, r.runId)).map((x) => x.split(' ')[1]), ['s1', 's2', 's3']);
      // meanwhile a file without s1 alone (5%, under the threshold) is applied
      const other = await env.sync(rootId, without(roster, 's1'));
      assert.equal(other.status, 'succeeded', other.message);
      assert.equal((await mustUser(env.ds, rootId, 's1')).status, 'inactive');
      const before = await snapshot(env.ds);

      const again = await approveHere(env.ds, r.runId, 'district/admin');
      assert.equal(again.runId, r.runId);
      assert.equal(again.status, 'held', again.message);
      assert.match(again.message, /^held again: the removals changed/);
      assert.deepEqual(await snapshot(env.ds), before, 'held again: nothing changed');
      assert.deepEqual((await listed(env.ds, r.runId)).map((x) => x.split(' ')[1]), ['s2', 's3'], 'the new list replaced the old one');
      const row = await runRow(env.ds, r.runId);
      assert.equal(row.status, 'held');
      assert.ok(row.heldPath && fs.existsSync(row.heldPath), 'still kept for the next decision');

      const applied = await approveHere(env.ds, r.runId, 'district/second');
      assert.equal(applied.status, 'succeeded', applied.message);
      for (const s of ['s2', 's3']) assert.equal((await mustUser(env.ds, rootId, s)).status, 'inactive');
      assert.equal((await runRow(env.ds, r.runId)).decidedBy, 'district/second');
    });

    test('discard ends it and deletes its upload; unknown, other-tenant and undecidable runs are refused with a typed error', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'delete' });
      const r = await syncKept(env, rootId, without(roster, 's1', 's2', 's3'));
      assert.equal(r.status, 'held');
      const file = (await runRow(env.ds, r.runId)).heldPath!;
      await assert.rejects(discardHeldRun(env.ds, r.runId, 'x', { visible: (id) => id !== rootId }), (e: unknown) => e instanceof HeldRunError && e.reason === 'unknown');
      await assert.rejects(approveHeldRun(env.ds, 999_999, 'x'), (e: unknown) => e instanceof HeldRunError && e.reason === 'unknown');
      const d = await discardHeldRun(env.ds, r.runId, 'district/admin');
      assert.equal(d.status, 'discarded');
      assert.equal(d.decidedBy, 'district/admin');
      assert.equal(fs.existsSync(file), false, 'the upload is deleted');
      assert.equal((await mustUser(env.ds, rootId, 's1')).status, 'active', 'nothing was applied');
      await assert.rejects(approveHeldRun(env.ds, r.runId, 'x'), (e: unknown) => e instanceof HeldRunError && e.reason === 'not_held');
      await assert.rejects(discardHeldRun(env.ds, r.runId, 'x'), (e: unknown) => e instanceof HeldRunError && e.reason === 'not_held');
    });

    test('held runs expire after the set days: expired, upload deleted; younger ones stay held', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive' });
      const old = await syncKept(env, rootId, without(roster, 's1', 's2', 's3'));
      const young = await syncKept(env, rootId, without(roster, 's4', 's5', 's6'));
      assert.deepEqual([old.status, young.status], ['held', 'held']);
      const oldFile = (await runRow(env.ds, old.runId)).heldPath!;
      await env.ds.getRepository(SyncRun).update({ id: old.runId }, { finishedAt: new Date(Date.now() - 8 * 86_400_000) });
      assert.equal(await expireHeldRuns(env.ds, heldDir(env), 7), 1);
      const expired = await runRow(env.ds, old.runId);
      assert.equal(expired.status, 'expired');
      assert.match(expired.message, /within 7 days/);
      assert.equal(fs.existsSync(oldFile), false);
      const kept = await runRow(env.ds, young.runId);
      assert.equal(kept.status, 'held');
      assert.ok(fs.existsSync(kept.heldPath!));
    });

    test('autoCommit off: a sync that would change something is held even under the threshold; one changing nothing is not', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive' });
      await env.ds.query(`UPDATE sync_settings SET auto_commit = ${kind === 'postgres' ? 'false' : '0'} WHERE domain_id = ${rootId}`);
      const before = await snapshot(env.ds);
      const r = await syncKept(env, rootId, roster.clone().set('users', 's1', { givenName: 'Renamed' }));
      assert.equal(r.status, 'held', r.message);
      assert.match(r.message, /^held for review: autoCommit is off/);
      assert.match(r.message, /users 1 updated/);
      assert.equal(r.heldRemovals, 0);
      assert.deepEqual(await snapshot(env.ds), before);
      const same = await env.sync(rootId, roster);
      assert.equal(same.status, 'succeeded', 'nothing to change: nothing to review');
      const a = await approveHere(env.ds, r.runId, 'district/admin');
      assert.equal(a.status, 'succeeded', a.message);
      assert.equal((await mustUser(env.ds, rootId, 's1')).givenName, 'Renamed');
    });
  });
}
