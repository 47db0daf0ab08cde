/**
 * The real Ed-Fi/ClassLink OneRoster 1.1 sample (tests/fixtures/edfi-oneroster-1.1), synced as is.
 * Its known defects (its NOTICE): manifest.version "1", and the two teacher rows of
 * users.csv (lines 10 and 11) with 19 fields against 18 columns, the 19th empty (a trailing
 * comma): both are warnings, the teachers and their 4 enrollments (enrollments.csv lines 22-25)
 * are applied. Everything must land in the LMS, and the run and its issues must be kept in the
 * sync history. Also: syncing the same file again changes nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { databaseKinds } from '../helpers/db';
import { makeZip, sampleFiles } from '../helpers/zip';
import {
  brief, coursesUnder, domainsUnder, enrollmentsUnder, ext, issueRows, newRoot, observerPairs, runRow, snapshot, useDatabase, usersUnder,
  writesNothing,
} from '../helpers/lms';
import { standardRoster } from '../helpers/roster';
import { ENTITY_KINDS } from '../../src/sync/types';

const STUDENTS = ['604863', '604874', '604918', '604927', '604938', '604969', '604974', '605015'];
const TEACHERS = ['207270', '207268'];
const ENG = '25590100101Trad120ENG112011';
const ALG = '25590100102Trad220ALG112011';

/** enrollments.csv of the sample: line → [sourcedId, class, user], read from the file itself. */
function sampleEnrollments(): Map<number, { sid: string; cls: string; user: string; role: string; begin: string }> {
  const lines = sampleFiles()['enrollments.csv'].split('\n').filter((l) => l !== '');
  const out = new Map<number, { sid: string; cls: string; user: string; role: string; begin: string }>();
  lines.slice(1).forEach((l, i) => {
    const f = l.split(',');
    out.set(i + 2, { sid: f[0], cls: f[3], user: f[5], role: f[6], begin: f[8] });
  });
  return out;
}

for (const kind of databaseKinds()) {
  describe(`Ed-Fi sample [${kind}]`, () => {
    const env = useDatabase(kind);

    test('synced as is: defective rows named by file and line, everything applied', async () => {
      const root = await newRoot(env.ds, { timeZone: 'America/Chicago' });
      const zip = await makeZip(path.join(env.dir, 'edfi.zip'), sampleFiles());
      const result = await env.sync(root.id, zip);

      assert.equal(result.status, 'succeeded');
      const enr = sampleEnrollments();
      const teacherLines = [...enr].filter(([, e]) => e.role === 'teacher').map(([line]) => line);
      assert.deepEqual(teacherLines, [22, 23, 24, 25], 'the sample itself: teacher enrollments on lines 22-25');
      assert.deepEqual(result.issues.map(brief), [
        'warning manifest.version manifest.csv:2 value -',
        'warning csv.row_width users.csv:10 - 207270',
        'warning csv.row_width users.csv:11 - 207268',
      ]);
      assert.match(result.issues[1].message, /^users\.csv line 10: the row has 19 fields but the header has 18 columns; the extra field is empty/);
      assert.deepEqual(result.issueTotals, { error: 0, warning: 3, info: 0 });
      // the one-line summary in words, zeros left out
      assert.equal(result.message, 'succeeded: domains 2 created; users 10 created; courses 2 created; ' +
        'enrollments 24 created; 0 errors, 3 warnings');

      // domains: district under the sync's domain, school under the district
      const domains = await domainsUnder(env.ds, root.id);
      assert.equal(domains.length, 2);
      const district = domains.find((d) => d.externalId === ext('255901'))!;
      const school = domains.find((d) => d.externalId === ext('255901001'))!;
      assert.ok(district && school);
      assert.equal(district.parentId, root.id);
      assert.equal(school.parentId, district.id);
      assert.equal(district.name, 'Grand Bend ISD');
      assert.equal(school.name, 'Grand Bend High School');
      assert.equal(JSON.parse(district.metadata ?? '{}').type, 'district');
      assert.equal(JSON.parse(school.metadata ?? '{}').type, 'school');

      // users: the 8 students and the 2 teachers of the 19-field rows, in the school's domain
      const users = await usersUnder(env.ds, root.id);
      assert.deepEqual(users.map((u) => u.externalId).sort(), [...STUDENTS, ...TEACHERS].map(ext).sort());
      const kelley = users.find((u) => u.externalId === ext('207270'))!;
      assert.equal(kelley.username, 'Kelley Heidi Christian');
      assert.equal(kelley.email, 'Kelley.Christian@studentgps.org');
      assert.equal(JSON.parse(kelley.metadata ?? '{}').role, 'teacher');
      assert.ok(users.every((u) => u.domainId === school.id && u.status === 'active'));
      const mary = users.find((u) => u.externalId === ext('604863'))!;
      assert.equal(mary.username, 'Mary Archer');
      assert.equal(mary.givenName, 'Mary');
      assert.equal(mary.familyName, 'Archer');
      assert.equal(mary.email, 'Mary.Archer@studentgps.org');
      assert.deepEqual(JSON.parse(mary.roles), []);
      const maryMeta = JSON.parse(mary.metadata ?? '{}');
      assert.deepEqual(maryMeta.userIds, ['{Local:863}']);
      assert.deepEqual(maryMeta.grades, ['09']);
      assert.equal(maryMeta.enabledUser, 'true');
      assert.equal(maryMeta.phone, '(950) 336 6601');
      assert.equal(maryMeta.role, 'student');
      const peter = users.find((u) => u.externalId === ext('604918'))!;
      assert.equal(JSON.parse(peter.metadata ?? '{}').middleName, 'Ivan');

      // sections: both classes in the school's domain, first term (Fall) sets term and dates in Chicago time
      const courses = await coursesUnder(env.ds, root.id);
      assert.deepEqual(courses.map((c) => c.externalId).sort(), [ext(ALG), ext(ENG)].sort());
      for (const c of courses) {
        assert.equal(c.kind, 'section');
        assert.equal(c.domainId, school.id);
        assert.equal(c.status, 'active');
        assert.equal(c.baseCourseId, null, 'no base courses with the default settings');
        assert.equal(c.term, '2020-2021 Fall Semester');
        assert.equal(c.startAt?.toISOString(), '2020-08-17T05:00:00.000Z');
        // the session's end date 2020-12-18 is excluded (OneRoster 1.1): the section ends as that day begins in Chicago (CST)
        assert.equal(c.endAt?.toISOString(), '2020-12-18T06:00:00.000Z');
      }
      const eng = courses.find((c) => c.externalId === ext(ENG))!;
      assert.equal(eng.title, 'ENG-1');
      const engMeta = JSON.parse(eng.metadata ?? '{}');
      assert.equal(engMeta.classCode, 'English I');
      assert.equal(engMeta.classType, 'scheduled');
      assert.equal(engMeta.location, '120');
      assert.deepEqual(engMeta.grades, ['09']);
      assert.deepEqual(engMeta.subjects, ['English/Language Arts I (9th grade)']);
      assert.deepEqual(engMeta.subjectCodes, ['01001']);
      assert.deepEqual(engMeta.periods, ['1']);

      // enrollments: all 24 rows, each user in its class, with the role of the row and Chicago dates
      const enrollments = await enrollmentsUnder(env.ds, root.id);
      assert.equal(enrollments.length, 24);
      const userById = new Map(users.map((u) => [u.id, u.externalId]));
      const courseById = new Map(courses.map((c) => [c.id, c.externalId]));
      for (const [line, row] of enr) {
        const e = enrollments.find((x) => x.externalId === ext(row.sid));
        assert.ok(e, `enrollment of line ${line}`);
        assert.equal(userById.get(e.userId), ext(row.user));
        assert.equal(courseById.get(e.courseId), ext(row.cls));
        assert.equal(e.role, line >= 22 ? 'Teacher' : 'Student');
        assert.equal(e.status, 'active');
        assert.equal(e.domainId, school.id);
        // Fall starts in CDT (UTC-5), Spring in CST (UTC-6)
        assert.equal(e.startAt?.toISOString(), row.begin === '2020-08-17' ? '2020-08-17T05:00:00.000Z' : '2021-01-04T06:00:00.000Z');
        assert.equal(JSON.parse(e.metadata ?? '{}').beginDate, row.begin);
      }
      assert.deepEqual(await observerPairs(env.ds, root.id), []);

      assert.deepEqual(result.counts.domains, { created: 2, updated: 0, unchanged: 0, removed: 0, restored: 0 });
      assert.deepEqual(result.counts.users, { created: 10, updated: 0, unchanged: 0, removed: 0, restored: 0 });
      assert.deepEqual(result.counts.courses, { created: 2, updated: 0, unchanged: 0, removed: 0, restored: 0 });
      assert.deepEqual(result.counts.enrollments, { created: 24, updated: 0, unchanged: 0, removed: 0, restored: 0 });

      // the sync history: the run row and its issues, in order
      const run = await runRow(env.ds, result.runId);
      assert.equal(run.status, 'succeeded');
      assert.equal(run.domainId, root.id);
      assert.equal(run.mode, 'apply');
      assert.equal(run.source, 'test');
      assert.equal(run.fileName, 'edfi.zip');
      assert.equal(run.sha256, createHash('sha256').update(fs.readFileSync(zip)).digest('hex'));
      assert.equal(run.sizeBytes, fs.statSync(zip).size);
      assert.equal(run.errorCount, 0);
      assert.equal(run.warningCount, 3);
      assert.deepEqual(JSON.parse(run.counts ?? 'null'), result.counts);
      assert.ok(run.finishedAt && run.startedAt && run.finishedAt.getTime() >= run.startedAt.getTime());
      // per-phase timings, in the order the phases ran, within the run's duration
      const timings = JSON.parse(run.timings ?? 'null') as Record<string, number>;
      assert.deepEqual(Object.keys(timings), ['read', 'validate', 'plan', 'apply', 'commit']);
      assert.deepEqual(timings, result.timings);
      assert.ok(Object.values(timings).every((ms) => Number.isInteger(ms) && ms >= 0), JSON.stringify(timings));
      assert.ok(Object.values(timings).reduce((a, b) => a + b, 0) <= (run.durationMs ?? -1), `${JSON.stringify(timings)} within ${run.durationMs} ms`);
      const rows = await issueRows(env.ds, result.runId);
      assert.deepEqual(rows.map((r) => r.seq), rows.map((_, i) => i + 1));
      assert.deepEqual(rows.map((r) => ({ severity: r.severity, code: r.code, file: r.file, line: r.line, column: r.column, sourcedId: r.sourcedId, message: r.message })),
        result.issues.map((i) => ({ ...i })));
    });

    test('idempotent: the sample synced again reports everything unchanged and writes nothing', async () => {
      const root = await newRoot(env.ds, { timeZone: 'America/Chicago' });
      const zip = await makeZip(path.join(env.dir, 'edfi-twice.zip'), sampleFiles());
      const first = await env.sync(root.id, zip);
      assert.equal(first.status, 'succeeded');
      const before = await snapshot(env.ds);
      const second = await env.sync(root.id, zip);
      assert.equal(second.status, 'succeeded');
      assert.deepEqual(second.issues.map(brief), first.issues.map(brief));
      assert.ok(writesNothing(second.counts), JSON.stringify(second.counts));
      assert.equal(second.counts.domains.unchanged, 2);
      assert.equal(second.counts.users.unchanged, 10);
      assert.equal(second.counts.courses.unchanged, 2);
      assert.equal(second.counts.enrollments.unchanged, 24);
      assert.deepEqual(await snapshot(env.ds), before, 'no row changed, updated_at included');
    });

    test('idempotent with every setting on: base courses, observers, unshared handling, passwords', async () => {
      const root = await newRoot(env.ds, {
        timeZone: 'Europe/Berlin', orgBaseCourses: true, teacherBaseCourses: true, termBaseCourses: true,
        unsharedCourses: 'delete', unsharedEnrollments: 'delete', unsharedUsers: 'delete',
      });
      const roster = standardRoster(3);
      roster.set('users', 's1', { password: 'first-Password-1' });
      roster.metadataColumns('users', 'metadata.house');
      roster.set('users', 's2', { 'metadata.house': 'Blue' });
      const zip = await env.zip(roster);
      const first = await env.sync(root.id, zip);
      assert.equal(first.status, 'succeeded', JSON.stringify(first.issues));
      const before = await snapshot(env.ds);
      const second = await env.sync(root.id, zip);
      assert.equal(second.status, 'succeeded');
      assert.ok(writesNothing(second.counts), JSON.stringify(second.counts));
      for (const k of ENTITY_KINDS) {
        const created = first.counts[k].created;
        assert.equal(second.counts[k].unchanged, created, `${k}: everything created by the first sync is unchanged`);
      }
      assert.deepEqual(await snapshot(env.ds), before);
    });
  });
}
