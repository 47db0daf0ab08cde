/**
 * The safety threshold (a sync removing or deactivating more than the set share of a domain's
 * managed users, courses or enrollments is held for review, changing nothing, unless forced) and
 * validation-only runs (status validated, the counts an apply would report, nothing changed).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/db';
import { brief, mustUser, newRoot, runRow, snapshot, useDatabase, usersUnder, type SyncEnv } from '../helpers/lms';
import { Roster, standardRoster } from '../helpers/roster';
import type { SyncSettings } from '../../src/sync/settings';

/** 16 students + 2 teachers + s2-1 + p1 = 20 managed users; 28 enrollments. */
const STUDENTS = 16;
const USERS = 20;

async function seed(env: SyncEnv, settings: Partial<SyncSettings>): Promise<{ rootId: number; roster: Roster }> {
  const root = await newRoot(env.ds, settings);
  const roster = standardRoster(STUDENTS);
  const r = await env.sync(root.id, roster);
  assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
  assert.equal((await usersUnder(env.ds, root.id)).length, USERS);
  return { rootId: root.id, roster };
}

const without = (roster: Roster, ...students: string[]): Roster => {
  const r = roster.clone();
  for (const s of students) r.dropUser(s);
  return r;
};

for (const kind of databaseKinds()) {
  describe(`safety threshold [${kind}]`, () => {
    const env = useDatabase(kind);

    test('removing more than 10% of the managed users is held with the numbers, and changes nothing', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive' });
      const before = await snapshot(env.ds);
      const r = await env.sync(rootId, without(roster, 's1', 's2', 's3'));
      assert.equal(r.status, 'held');
      assert.match(r.message, /3 of 20 managed users/);
      assert.match(r.message, /15(\.0)?%/);
      assert.match(r.message, /10%/);
      assert.deepEqual(r.issues.filter((i) => i.code === 'apply.safety_threshold').map((i) => i.severity), ['warning']);
      assert.deepEqual(await snapshot(env.ds), before);
      const run = await runRow(env.ds, r.runId);
      assert.equal(run.status, 'held');
      assert.equal(run.message, r.message);
    });

    test('exactly the threshold is not more than it: applied', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive' });
      const r = await env.sync(rootId, without(roster, 's1', 's2'));
      assert.equal(r.status, 'succeeded', r.message);
      assert.equal(r.counts.users.removed, 2);
    });

    test('force applies a sync past the threshold', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive' });
      const r = await env.sync(rootId, without(roster, 's1', 's2', 's3'), { force: true });
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.users.removed, 3);
      for (const s of ['s1', 's2', 's3']) assert.equal((await mustUser(env.ds, rootId, s)).status, 'inactive');
      assert.equal((await mustUser(env.ds, rootId, 's4')).status, 'active');
      assert.ok(r.issues.some((i) => i.code === 'apply.safety_threshold' && i.severity === 'warning'), 'the forced removal is on record');
      assert.equal((await runRow(env.ds, r.runId)).forced, true);
    });

    test('the threshold setting is respected', async () => {
      const loose = await seed(env, { unsharedUsers: 'delete', safetyThresholdPercent: 20 });
      const r1 = await env.sync(loose.rootId, without(loose.roster, 's1', 's2', 's3', 's4'));
      assert.equal(r1.status, 'succeeded', '4 of 20 = 20% is within 20%');
      assert.equal(r1.counts.users.removed, 4);

      const strict = await seed(env, { unsharedUsers: 'delete', safetyThresholdPercent: 0 });
      const r2 = await env.sync(strict.rootId, without(strict.roster, 's1'));
      assert.equal(r2.status, 'held');
      assert.match(r2.message, /1 of 20 managed users/);
    });

    test('nothing is held when unshared users are left alone', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'nothing' });
      const r = await env.sync(rootId, without(roster, 's1', 's2', 's3', 's4', 's5', 's6'));
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.users.removed, 0);
    });

    test('enrollments are guarded too', async () => {
      const { rootId, roster } = await seed(env, { unsharedEnrollments: 'delete' });
      const before = await snapshot(env.ds);
      const total = roster.rows('enrollments').length;
      const dropped = roster.clone().filter('enrollments', (e) => !(e.classSourcedId === 'eng-1' && e.role === 'student'));
      const removed = total - dropped.rows('enrollments').length;
      assert.ok(removed / total > 0.1);
      const r = await env.sync(rootId, dropped);
      assert.equal(r.status, 'held');
      assert.match(r.message, new RegExp(`${removed} of ${total} managed enrollments`));
      assert.equal(r.heldRemovals, removed);
      assert.deepEqual(await snapshot(env.ds), before);
    });
  });

  describe(`validation-only runs [${kind}]`, () => {
    const env = useDatabase(kind);

    test('a first sync validated: status validated, the counts of the real apply, nothing changed', async () => {
      const root = await newRoot(env.ds, { orgBaseCourses: true, teacherBaseCourses: true, termBaseCourses: true });
      const zip = await env.zip(standardRoster(3));
      const before = await snapshot(env.ds);
      const v = await env.sync(root.id, zip, { validateOnly: true });
      assert.equal(v.status, 'validated');
      assert.deepEqual(await snapshot(env.ds), before);
      const run = await runRow(env.ds, v.runId);
      assert.equal(run.mode, 'validate');
      assert.equal(run.status, 'validated');
      assert.deepEqual(JSON.parse(run.counts ?? 'null'), v.counts);
      const a = await env.sync(root.id, zip);
      assert.equal(a.status, 'succeeded');
      assert.deepEqual(v.counts, a.counts);
      assert.ok(a.counts.users.created > 0 && a.counts.courses.created > 0 && a.counts.enrollments.created > 0);
    });

    test('a sync with every kind of change validated first: same counts as the apply after it', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive', unsharedEnrollments: 'withdrawn', unsharedCourses: 'delete', safetyThresholdPercent: 50 });
      const next = without(roster, 's16')
        .set('users', 's1', { givenName: 'Changed', agentSourcedIds: '' })
        .set('classes', 'math-1', { title: 'Math 1A (renamed)' })
        .remove('enrollments', 'e-s2-math-1')
        .dropClass('math-2')
        .klass('math-3', 'math', 'sch2', 'fall')
        .user('s-new', 'sch2', { password: 'Validate-Only-1' })
        .enrollment('e-new', 'math-3', 's-new', 'sch2');
      const zip = await env.zip(next);
      const before = await snapshot(env.ds);
      const v = await env.sync(rootId, zip, { validateOnly: true });
      assert.equal(v.status, 'validated', v.message);
      assert.deepEqual(await snapshot(env.ds), before, 'validation changes nothing');
      const a = await env.sync(rootId, zip);
      assert.equal(a.status, 'succeeded', a.issues.map(brief).join('\n'));
      assert.deepEqual(v.counts, a.counts);
      for (const k of ['created', 'updated', 'removed'] as const) {
        assert.ok(a.counts.users[k] > 0 && a.counts.enrollments[k] + a.counts.courses[k] > 0, `the apply ${k} something`);
      }
      assert.equal(a.counts.observers.removed, 1);
    });

    test('past the safety threshold a validation says an apply would be held, and changes nothing', async () => {
      const { rootId, roster } = await seed(env, { unsharedUsers: 'inactive' });
      const before = await snapshot(env.ds);
      const v = await env.sync(rootId, without(roster, 's1', 's2', 's3'), { validateOnly: true });
      assert.equal(v.status, 'validated');
      const warn = v.issues.find((i) => i.code === 'apply.safety_threshold');
      assert.ok(warn, 'the validation reports the threshold');
      assert.match(warn.message, /^an apply would be held: /);
      assert.match(warn.message, /3 of 20 managed users/);
      assert.equal(v.counts.users.removed, 3);
      assert.deepEqual(await snapshot(env.ds), before);
    });
  });
}
