/**
 * Cross-row rules that accept with a warning (issue 18 #5, #8 dependants, #9): an org whose
 * parent the export left out; rows that need a record marked tobedeleted, which are not applied
 * (or applied without it) and say so on their own line; and contradictions that are legal but
 * suspicious (a student enrolled as teacher, primary on a student, dates outside the class's terms,
 * an enrollment's school that is not a school, a demographics row for no user).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/db';
import {
  brief, coursesUnder, domainByExt, domainsUnder, enrollmentByExt, enrollmentsUnder, errorsOf, ext, newRoot, runSync, usersUnder, useDatabase,
  type SyncEnv,
} from '../helpers/lms';
import { Roster, standardRoster, type RosterFile } from '../helpers/roster';
import type { SyncResult } from '../../src/sync/types';

const ALL: RosterFile[] = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'];

/** A delta upload of the roster keeping only the listed rows of each file. */
function delta(roster: Roster, keep: Partial<Record<RosterFile, string[]>>): Roster {
  const d = roster.clone();
  for (const f of ALL) d.delta(f, keep[f] ?? []);
  return d;
}

/** The issues with one of these codes, brief and sorted. */
function withCodes(result: SyncResult, ...codes: string[]): string[] {
  return result.issues.filter((i) => codes.includes(i.code)).map(brief).sort();
}

const line = (roster: Roster, file: RosterFile, sid: string): string => `${file}.csv:${roster.lineOf(file, sid)}`;

/** Every user, section and enrollment of the roster landed, but those named. */
async function assertLanded(env: SyncEnv, rootId: number, roster: Roster, except: { users?: string[]; classes?: string[]; enrollments?: string[] } = {}) {
  const want = (file: 'users' | 'classes' | 'enrollments') => roster.rows(file).filter((r) => !r.status || r.status === 'active')
    .map((r) => r.sourcedId).filter((s) => !(except[file] ?? []).includes(s)).map(ext).sort();
  assert.deepEqual((await usersUnder(env.ds, rootId)).map((u) => u.externalId).sort(), want('users'), 'users');
  assert.deepEqual((await coursesUnder(env.ds, rootId)).filter((c) => c.kind === 'section').map((c) => c.externalId).sort(), want('classes'), 'sections');
  assert.deepEqual((await enrollmentsUnder(env.ds, rootId)).map((e) => e.externalId).sort(), want('enrollments'), 'enrollments');
}

for (const kind of databaseKinds()) {
  describe(`an org's missing parent [${kind}]`, () => {
    const env = useDatabase(kind);

    test('a district whose state parent is not in orgs.csv lands under the root with its whole subtree, one warning', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster().set('orgs', 'dist', { parentSourcedId: 'state' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.deepEqual(result.issues.map(brief), [`warning ref.org_parent_missing ${line(roster, 'orgs', 'dist')} parentSourcedId dist`]);
      assert.match(result.issues[0].message, /"state" is not in orgs\.csv: .*root domain/);
      const dist = await domainByExt(env.ds, root.id, 'dist');
      assert.equal(dist.parentId, root.id);
      for (const s of ['sch1', 'sch2']) assert.equal((await domainByExt(env.ds, root.id, s)).parentId, dist.id);
      await assertLanded(env, root.id, roster);
      assert.equal(result.counts.domains.created, 3);
    });

    test('in a delta, a parent the LMS holds is fine; one it lacks is a warning; a rejected parent still rejects the child', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster();
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const d = delta(roster, {}).org('sch3', { parentSourcedId: 'dist' }).org('sch4', { parentSourcedId: 'nowhere' })
        .org('bad', { type: 'academy' }).org('kid', { parentSourcedId: 'bad' });
      const result = await env.sync(root.id, d);
      assert.equal(result.status, 'completed_with_errors');
      assert.deepEqual(result.issues.map(brief).sort(), [
        `error value.enum ${line(d, 'orgs', 'bad')} type bad`,
        `error ref.rejected ${line(d, 'orgs', 'kid')} parentSourcedId kid`,
        `warning ref.org_parent_missing ${line(d, 'orgs', 'sch4')} parentSourcedId sch4`,
      ].sort());
      assert.match(result.issues.find((i) => i.sourcedId === 'sch4')!.message, /nor already in the LMS/);
      assert.equal((await domainByExt(env.ds, root.id, 'sch3')).parentId, (await domainByExt(env.ds, root.id, 'dist')).id);
      assert.equal((await domainByExt(env.ds, root.id, 'sch4')).parentId, root.id);
      assert.ok(!(await domainsUnder(env.ds, root.id)).some((x) => x.externalId === ext('kid')));
    });
  });

  describe(`rows that need a tobedeleted record [${kind}]`, () => {
    const env = useDatabase(kind);

    test('delta: an enrollment of a deleted class or a deleted user is not applied, with a warning on its line', async () => {
      const root = await newRoot(env.ds, { safetyThresholdPercent: 100 });
      const roster = standardRoster();
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const d = delta(roster, { classes: ['math-2'], users: ['s3'], enrollments: ['e-s2-1-math-2'] })
        .tobedeleted('classes', 'math-2').tobedeleted('users', 's3').tobedeleted('enrollments', 'e-s2-1-math-2')
        .enrollment('e-new', 'math-2', 's1', 'sch2').enrollment('e-s3-new', 'eng-1', 's3', 'sch1');
      const result = await env.sync(root.id, d);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.deepEqual(result.issues.map(brief).sort(), [
        `warning ref.deleted ${line(d, 'enrollments', 'e-new')} classSourcedId e-new`,
        `warning ref.deleted ${line(d, 'enrollments', 'e-s3-new')} userSourcedId e-s3-new`,
      ].sort());
      assert.equal(result.issues.find((i) => i.sourcedId === 'e-new')!.message,
        `classSourcedId "math-2" is marked tobedeleted on classes.csv line ${d.lineOf('classes', 'math-2')}: this enrollment is not applied`);
      assert.equal(await enrollmentByExt(env.ds, root.id, ext('e-new')), null);
      assert.equal(await enrollmentByExt(env.ds, root.id, ext('e-s3-new')), null);
      assert.equal(await enrollmentByExt(env.ds, root.id, ext('e-s2-1-math-2')), null, 'the tobedeleted enrollment is deleted, silently');
    });

    test('bulk: tobedeleted rows take what needs them along, each with a warning; what does not need them lands', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster().tobedeleted('orgs', 'sch2').tobedeleted('courses', 'eng').tobedeleted('users', 's4');
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.deepEqual(withCodes(result, 'ref.deleted'), [
        `warning ref.deleted ${line(roster, 'classes', 'math-2')} schoolSourcedId math-2`,
        `warning ref.deleted ${line(roster, 'classes', 'eng-1')} courseSourcedId eng-1`,
        `warning ref.deleted ${line(roster, 'users', 't2')} orgSourcedIds t2`,
        `warning ref.deleted ${line(roster, 'users', 's2-1')} orgSourcedIds s2-1`,
        `warning ref.deleted ${line(roster, 'enrollments', 'e-t2-math-2')} classSourcedId e-t2-math-2`,
        `warning ref.deleted ${line(roster, 'enrollments', 'e-s2-1-math-2')} classSourcedId e-s2-1-math-2`,
        `warning ref.deleted ${line(roster, 'enrollments', 'e-s4-math-1')} userSourcedId e-s4-math-1`,
      ].sort());
      assert.match(result.issues.find((i) => i.sourcedId === 'e-t2-math-2' && i.code === 'ref.deleted')!.message,
        new RegExp(`"math-2" is not applied \\(classes\\.csv line ${roster.lineOf('classes', 'math-2')} needs a record marked tobedeleted\\)`));
      await assertLanded(env, root.id, roster, { users: ['t2', 's2-1'], classes: ['math-2'], enrollments: ['e-t2-math-2', 'e-s2-1-math-2', 'e-s4-math-1'] });
      assert.ok((await coursesUnder(env.ds, root.id)).some((c) => c.externalId === ext('eng-1')), 'the class of a deleted course is applied');
    });
  });

  describe(`legal but suspicious [${kind}]`, () => {
    const env = useDatabase(kind);

    test('bulk: a student enrolled as teacher, primary on a student, dates outside the terms, a school that is not a school, demographics for no user', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster()
        .set('enrollments', 'e-s1-eng-1', { role: 'teacher' })
        .set('enrollments', 'e-s3-math-1', { primary: 'true', endDate: '2025-06-06' }) // the terms' end: inside (both exclusive)
        .set('enrollments', 'e-s2-math-1', { beginDate: '2024-08-01' }) // math-1: fall + spring, 2024-08-15 to 2025-06-06
        .set('enrollments', 'e-s4-math-1', { endDate: '2025-06-30' })
        .set('enrollments', 'e-t2-math-2', { schoolSourcedId: 'dist' })
        .add('demographics', { sourcedId: 's1', sex: 'female' })
        .add('demographics', { sourcedId: 'ghost', sex: 'male' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.deepEqual(result.issues.map(brief).sort(), [
        `warning ref.student_privileged ${line(roster, 'enrollments', 'e-s1-eng-1')} role e-s1-eng-1`,
        `warning ref.primary_student ${line(roster, 'enrollments', 'e-s3-math-1')} primary e-s3-math-1`,
        `warning ref.outside_terms ${line(roster, 'enrollments', 'e-s2-math-1')} beginDate e-s2-math-1`,
        `warning ref.outside_terms ${line(roster, 'enrollments', 'e-s4-math-1')} endDate e-s4-math-1`,
        `warning ref.wrong_type ${line(roster, 'enrollments', 'e-t2-math-2')} schoolSourcedId e-t2-math-2`,
        `warning ref.school_mismatch ${line(roster, 'enrollments', 'e-t2-math-2')} schoolSourcedId e-t2-math-2`,
        'warning ref.demographics_user demographics.csv:3 sourcedId ghost',
      ].sort());
      assert.match(result.issues.find((i) => i.code === 'ref.student_privileged')!.message,
        new RegExp(`"s1" is a student on users\\.csv line ${roster.lineOf('users', 's1')} but is enrolled as teacher`));
      assert.match(result.issues.find((i) => i.sourcedId === 'e-s2-math-1')!.message, /beginDate 2024-08-01.*2024-08-15 to 2025-06-06/);
      await assertLanded(env, root.id, roster);
    });

    test('delta: a student the LMS holds enrolled as teacher; demographics of an LMS user are fine', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster();
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const d = delta(roster, {}).enrollment('e-s2-teach', 'math-2', 's2', 'sch2', { role: 'administrator' })
        .add('demographics', { sourcedId: 's2' }).add('demographics', { sourcedId: 'ghost' }).mode('demographics', 'delta');
      const result = await env.sync(root.id, d);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.deepEqual(result.issues.map(brief).sort(), [
        `warning ref.student_privileged ${line(d, 'enrollments', 'e-s2-teach')} role e-s2-teach`,
        'warning ref.demographics_user demographics.csv:3 sourcedId ghost',
      ].sort());
      assert.match(result.issues.find((i) => i.code === 'ref.student_privileged')!.message, /as the LMS holds them/);
      assert.ok(await enrollmentByExt(env.ds, root.id, ext('e-s2-teach')));
    });

    test('past the issue cap the warnings are still counted, every one', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(8);
      for (let i = 1; i <= 8; i++) roster.set('enrollments', `e-s${i}-math-1`, { primary: 'true', beginDate: '2024-01-02' });
      const result = await runSync(env.ds, root.id, await env.zip(roster), { engine: { issueLimit: 3 } });
      assert.equal(result.status, 'succeeded', errorsOf(result).join('\n'));
      assert.equal(result.issues.length, 3);
      assert.equal(result.issueTotals.warning, 16);
      assert.equal(result.issuesDropped, 13);
    });
  });
}
