/**
 * The structure of an upload (issue 18 #1, #2, #6, #7): a delta upload may leave any file out
 * (what it names resolves against earlier syncs, and what it leaves out stays as it was); a bulk
 * upload may leave out courses.csv (sections without base courses, one warning); every broken
 * header and header-only file of an upload is named in one failed run; a header-only file
 * rosterdrop does not apply is a warning.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/db';
import {
  brief, coursesUnder, enrollmentByExt, enrollmentsUnder, ext, issuesWith, mustCourse, mustUser, newRoot, nonZero, runRow, snapshot, useDatabase,
  type Snapshot,
} from '../helpers/lms';
import { HEADERS, Roster, standardRoster, type RosterFile } from '../helpers/roster';
import type { SyncSettings } from '../../src/sync/settings';

const APPLIED: readonly RosterFile[] = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'];
const SETTINGS: Partial<SyncSettings> = {
  unsharedUsers: 'delete', unsharedCourses: 'delete', unsharedEnrollments: 'delete', safetyThresholdPercent: 100,
  teacherBaseCourses: true, termBaseCourses: true,
};

/** A delta upload carrying only `file` (delta, with the rows `keep` of the roster); every other file absent. */
function onlyDelta(roster: Roster, file: RosterFile, keep: string[]): Roster {
  const d = roster.clone();
  for (const f of APPLIED) if (f !== file) d.mode(f, 'absent');
  return d.delta(file, keep);
}

/** The snapshot without the tables the test expects to change. */
function without(s: Snapshot, ...tables: Array<keyof Snapshot>): Partial<Snapshot> {
  return Object.fromEntries(Object.entries(s).filter(([t]) => !tables.includes(t as keyof Snapshot)));
}

for (const kind of databaseKinds()) {
  describe(`upload structure [${kind}]`, () => {
    const env = useDatabase(kind);

    async function seeded(roster = standardRoster()): Promise<number> {
      const root = await newRoot(env.ds, SETTINGS);
      const r = await env.sync(root.id, roster);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      return root.id;
    }

    test('a delta upload of enrollments.csv alone: adds and deletes enrollments, leaves users and courses as they are', async () => {
      const rootId = await seeded();
      const before = await snapshot(env.ds);
      const enrollments = (await enrollmentsUnder(env.ds, rootId)).length;
      const d = onlyDelta(standardRoster(), 'enrollments', ['e-s1-eng-1'])
        .tobedeleted('enrollments', 'e-s1-eng-1')
        .enrollment('e-s2-eng-1', 'eng-1', 's2', 'sch1');
      assert.deepEqual(d.toFiles().map(([n]) => n), ['manifest.csv', 'enrollments.csv']);
      const r = await env.sync(rootId, d);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.deepEqual(r.issues.map(brief), []);
      assert.deepEqual(nonZero(r.counts), { courses: { unchanged: 3 }, enrollments: { created: 1, removed: 1, unchanged: 2 } },
        'eng-1, which the file touches, is derived again: its section, its two base courses and t1\'s enrollments in them, unchanged');
      assert.equal(await enrollmentByExt(env.ds, rootId, ext('e-s1-eng-1')), null);
      const added = await enrollmentByExt(env.ds, rootId, ext('e-s2-eng-1'));
      assert.ok(added);
      assert.equal(added.status, 'active');
      assert.equal(added.userId, (await mustUser(env.ds, rootId, 's2')).id);
      assert.equal(added.courseId, (await mustCourse(env.ds, rootId, ext('eng-1'))).id);
      assert.equal((await enrollmentsUnder(env.ds, rootId)).length, enrollments);
      // users, courses (sections and base courses) and the kept records: not a byte changed
      assert.deepEqual(without(await snapshot(env.ds), 'enrollment'), without(before, 'enrollment'));

      // its references still have to exist somewhere: in the file or in the LMS
      const unknown = onlyDelta(standardRoster(), 'enrollments', []).enrollment('e-s3-nope', 'nope', 's3', 'sch1');
      const bad = await env.sync(rootId, unknown);
      assert.equal(bad.status, 'completed_with_errors');
      assert.deepEqual(bad.issues.map(brief), ['error ref.unknown enrollments.csv:2 classSourcedId e-s3-nope']);
      assert.match(bad.issues[0].message, /classSourcedId "nope" is not in classes\.csv nor already in the LMS; this row is skipped/);
      assert.equal(await enrollmentByExt(env.ds, rootId, ext('e-s3-nope')), null);
    });

    test('a delta upload of users.csv alone: users change, the teacher\'s base courses follow, enrollments stay', async () => {
      const rootId = await seeded();
      const before = await snapshot(env.ds);
      const courses = (await coursesUnder(env.ds, rootId)).length;
      const d = onlyDelta(standardRoster(), 'users', ['t1']).set('users', 't1', { givenName: 'Tia' }).user('s9', 'sch1', { username: 'student.9' });
      const r = await env.sync(rootId, d);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.deepEqual(r.issues.map(brief), []);
      assert.equal(r.counts.users.created, 1);
      assert.equal(r.counts.users.updated, 1);
      assert.equal(r.counts.users.removed, 0, 'a delta unshares no one');
      assert.equal(r.counts.enrollments.removed, 0);
      assert.equal(r.counts.courses.removed, 0);
      assert.equal((await mustUser(env.ds, rootId, 's9')).domainId, (await mustUser(env.ds, rootId, 's1')).domainId, 'orgs.csv absent: sch1 from the LMS');
      assert.equal((await mustUser(env.ds, rootId, 't1')).givenName, 'Tia');
      // t1's teacher base courses carry the new name; t1 is still their primary teacher (from the LMS)
      const titles = (await coursesUnder(env.ds, rootId)).filter((c) => c.kind === 'teacher_base').map((c) => c.title).sort();
      assert.deepEqual(titles, ['English (E1) – Tia Teach', 'Mathematics (M1) – Tia Teach', 'Mathematics (M1) – Tom Tutor']);
      const math1 = await mustCourse(env.ds, rootId, ext('math-1'));
      assert.notEqual(math1.baseCourseId, null, 'the section keeps its base course');
      assert.deepEqual(without(await snapshot(env.ds), 'lms_user', 'course'), without(before, 'lms_user', 'course'));
      assert.equal((await coursesUnder(env.ds, rootId)).length, courses);
    });

    test('a bulk upload without courses.csv: sections without base courses, one warning', async () => {
      const root = await newRoot(env.ds, SETTINGS);
      const r = await env.sync(root.id, standardRoster().mode('courses', 'absent'));
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.deepEqual(r.issues.map(brief), ['warning manifest.courses_absent manifest.csv:8 value -']);
      assert.match(r.issues[0].message, /courses\.csv is absent: the classes become sections without teacher or term base courses/);
      assert.equal(issuesWith(r, 'ref.course_unknown').length, 0);
      const courses = await coursesUnder(env.ds, root.id);
      assert.deepEqual(courses.map((c) => [c.externalId, c.kind, c.baseCourseId]).sort(),
        [[ext('eng-1'), 'section', null], [ext('math-1'), 'section', null], [ext('math-2'), 'section', null]]);
      assert.equal(r.counts.enrollments.created, standardRoster().rows('enrollments').length, 'every enrollment, no base-course ones');
      assert.equal((await runRow(env.ds, r.runId)).warningCount, 1);
    });

    test('a bulk upload without courses.csv after one with it: base courses, their enrollments and the kept courses stay', async () => {
      const rootId = await seeded();
      const before = await snapshot(env.ds);
      const bases = (await coursesUnder(env.ds, rootId)).filter((c) => c.kind !== 'section');
      assert.equal(bases.length, 6, 'three teacher and three term base courses');
      const r = await env.sync(rootId, standardRoster().mode('courses', 'absent'));
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.deepEqual(r.issues.map((i) => i.code), ['manifest.courses_absent']);
      assert.equal(r.counts.courses.removed, 0);
      assert.equal(r.counts.enrollments.removed, 0);
      const after = await snapshot(env.ds);
      assert.deepEqual((await coursesUnder(env.ds, rootId)).filter((c) => c.kind !== 'section').map((c) => [c.externalId, c.status]),
        bases.map((c) => [c.externalId, 'active']));
      assert.deepEqual(after.enrollment.map((e) => [e.external_id, e.status]), before.enrollment.map((e) => [e.external_id, e.status]));
      assert.deepEqual(after.oneroster_course, before.oneroster_course, 'courses.csv absent: the kept courses are untouched');
    });

    test('bad headers in several files and a header-only bulk file: one failed run names every one', async () => {
      const rootId = await seeded();
      const before = await snapshot(env.ds);
      // users: a OneRoster 1.2 export adds its columns after the 1.1 ones; classes and enrollments: 1.0 layouts
      const roster = standardRoster()
        .filter('academicSessions', () => false)
        .header('users', `${HEADERS.users.join(',')},userMasterIdentifier,preferredGivenName`)
        .header('classes', 'sourcedId,status,dateLastModified,title,grade,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedId,subjects')
        .header('enrollments', 'sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role,status,dateLastModified,primary');
      const r = await env.sync(rootId, roster);
      assert.equal(r.status, 'failed');
      assert.deepEqual(r.issues.map(brief), [
        'error csv.no_rows academicSessions.csv:- - -',
        'error csv.header_mismatch classes.csv:1 grades -',
        'error csv.extension_column users.csv:1 userMasterIdentifier -',
        'error csv.extension_column users.csv:1 preferredGivenName -',
        'error csv.header_mismatch enrollments.csv:1 status -',
      ]);
      const [, classes, users, users2, enrollments] = r.issues;
      assert.match(classes.message, /This looks like a OneRoster 1\.0 layout \(it has "grade", "termSourcedId"\)/);
      assert.match(users.message, /This looks like a OneRoster 1\.2 layout \(it has "userMasterIdentifier", "preferredGivenName"\)/);
      assert.doesNotMatch(users2.message, /looks like/, 'the version is said once per file');
      assert.match(enrollments.message, /This looks like a OneRoster 1\.0 layout \(status and dateLastModified come after role\)/);
      assert.equal(r.message, `rejected: ${r.issues[0].message}`);
      assert.equal((await runRow(env.ds, r.runId)).errorCount, 5);
      assert.deepEqual(await snapshot(env.ds), before, 'a rejected upload changes nothing');
    });

    test('an empty file and a blank first line are named with the others', async () => {
      const rootId = await seeded();
      const roster = standardRoster().mode('orgs', 'absent').manifestProperty('file.orgs', 'bulk').entry('orgs.csv', '')
        .header('courses', `\n${HEADERS.courses.join(',')}`);
      const r = await env.sync(rootId, roster);
      assert.equal(r.status, 'failed');
      assert.deepEqual(r.issues.map(brief), ['error csv.header_missing orgs.csv:- - -', 'error csv.header_missing courses.csv:1 - -']);
      assert.match(r.issues[0].message, /orgs\.csv is empty: it has no header row/);
      assert.match(r.issues[1].message, /courses\.csv line 1 is blank: the header row must be the first line/);
    });

    test('a header-only file rosterdrop does not apply is a warning; the upload is applied', async () => {
      const root = await newRoot(env.ds, SETTINGS);
      const roster = standardRoster().mode('demographics', 'bulk')
        .manifestProperty('file.categories', 'bulk').entry('categories.csv', 'sourcedId,status,dateLastModified,title\n');
      const r = await env.sync(root.id, roster);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.deepEqual(r.issues.map(brief), ['warning csv.no_rows categories.csv:- - -', 'warning csv.no_rows demographics.csv:- - -']);
      assert.match(r.issues[1].message, /demographics\.csv has a header but no data rows; rosterdrop does not apply demographics\.csv, so nothing is lost/);
      assert.equal(r.counts.users.created, standardRoster().rows('users').length);
      // an applied file stays refused when header-only in bulk (a header-only users.csv would unshare everyone) ...
      const users = await env.sync(root.id, standardRoster().filter('users', () => false).filter('enrollments', () => false));
      assert.equal(users.status, 'failed');
      assert.deepEqual(users.issues.map(brief), ['error csv.no_rows users.csv:- - -', 'error csv.no_rows enrollments.csv:- - -']);
      // ... and is fine in delta (no changes)
      const delta = await env.sync(root.id, onlyDelta(standardRoster(), 'users', []));
      assert.equal(delta.status, 'succeeded', delta.issues.map(brief).join('\n'));
      assert.deepEqual(delta.issues, []);
    });
  });
}
