/**
 * Per-row leniency of issue 18, end to end on both databases: a row with empty fields past the
 * header (a trailing comma) is applied with a csv.row_width warning, an unquoted list is not; an
 * enumeration in another case (TRUE, Student, Scheduled; Active in a delta) is applied as the exact
 * token with a value.enum_case warning, so the LMS gets what the exact file would give; a bulk row
 * with a status says what is done with it, and does it, per entity kind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { databaseKinds } from '../helpers/db';
import {
  brief, coursesUnder, domainByExt, domainsUnder, enrollmentByExt, enrollmentsUnder, ext, mustCourse, mustUser, newRoot, useDatabase, usersUnder,
} from '../helpers/lms';
import { HEADERS, standardRoster, type Roster } from '../helpers/roster';
import { AcademicSession, OneRosterClass, OneRosterCourse } from '../../src/db/entities';
import type { SyncIssue } from '../../src/oneroster/issues';
import type { SyncResult } from '../../src/sync/types';

/**
 * Moves users.csv rows to raw lines at the end, written unquoted, each with its changes and extra
 * fields; returns their lines.
 */
function rawUsers(roster: Roster, rows: Array<[sid: string, change: Record<string, string>, extra: string[]]>): number[] {
  const values = rows.map(([sid, change]) => ({ ...roster.row('users', sid), ...change }));
  roster.remove('users', ...rows.map(([sid]) => sid));
  return rows.map(([, , extra], k) => {
    const line = roster.nextLine('users');
    roster.rawLine('users', [...HEADERS.users.map((h) => values[k][h] ?? ''), ...extra].join(','));
    return line;
  });
}

function issue(result: SyncResult, code: string, file: string, line: number, column?: string): SyncIssue {
  const found = result.issues.filter((i) => i.code === code && i.file === file && i.line === line && (column === undefined || i.column === column));
  assert.equal(found.length, 1, `one ${code} on ${file}:${line}; got ${result.issues.map(brief).join('; ')}`);
  return found[0];
}

/** Everything the LMS holds for a root, by external ID, without ids and timestamps (to compare two roots). */
async function lmsState(env: { ds: DataSource }, rootId: number): Promise<unknown> {
  const domains = await domainsUnder(env.ds, rootId);
  const users = await usersUnder(env.ds, rootId);
  const courses = await coursesUnder(env.ds, rootId);
  const enrollments = await enrollmentsUnder(env.ds, rootId);
  const domainExt = new Map(domains.map((d) => [d.id, d.externalId]));
  const userExt = new Map(users.map((u) => [u.id, u.externalId]));
  const courseExt = new Map(courses.map((c) => [c.id, c.externalId]));
  const byExt = (rows: unknown[][]): unknown[][] => rows.sort((x, y) => String(x[0]).localeCompare(String(y[0])));
  return {
    domains: byExt(domains.map((d) => [d.externalId, d.name, d.metadata])),
    users: byExt(users.map((u) => [u.externalId, domainExt.get(u.domainId), u.username, u.status, u.metadata])),
    courses: byExt(courses.map((c) => [c.externalId, c.kind, c.title, c.term, c.status, c.metadata, c.baseCourseId === null ? null : courseExt.get(c.baseCourseId),
      c.ownerUserId === null ? null : userExt.get(c.ownerUserId)])),
    enrollments: byExt(enrollments.map((e) => [e.externalId, courseExt.get(e.courseId), userExt.get(e.userId), e.role, e.status, e.metadata])),
  };
}

const keptIds = async (env: { ds: DataSource }, entity: typeof AcademicSession | typeof OneRosterCourse | typeof OneRosterClass,
  rootId: number): Promise<string[]> =>
  (await env.ds.getRepository(entity).find({ where: { domainId: rootId }, order: { externalId: 'ASC' } })).map((r) => r.externalId);

for (const kind of databaseKinds()) {
  describe(`lenient rows [${kind}]`, () => {
    const env = useDatabase(kind);

    test('a row with an empty field past the header is applied with a warning; its enrollments are kept', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(3);
      const [t1, s3] = rawUsers(roster, [['t1', {}, ['']], ['s3', {}, ['', '']]]);
      const result = await env.sync(root.id, roster);

      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.deepEqual(result.issues.map(brief), [`warning csv.row_width users.csv:${t1} - t1`, `warning csv.row_width users.csv:${s3} - s3`]);
      assert.match(issue(result, 'csv.row_width', 'users.csv', t1).message,
        new RegExp(`^users\\.csv line ${t1}: the row has 19 fields but the header has 18 columns; the extra field is empty \\(a trailing comma\\), so it is dropped$`));
      assert.match(issue(result, 'csv.row_width', 'users.csv', s3).message, /20 fields .* the extra fields are empty .* so they are dropped$/);
      const teacher = await mustUser(env.ds, root.id, 't1');
      assert.equal(teacher.email, 't1@example.org');
      assert.equal(JSON.parse(teacher.metadata ?? '{}').role, 'teacher');
      await mustUser(env.ds, root.id, 's3');
      // t1 teaches math-1 and eng-1, s3 is in both: all four enrollments are there
      for (const e of ['e-t1-math-1', 'e-t1-eng-1', 'e-s3-math-1', 'e-s3-eng-1']) {
        assert.equal((await enrollmentByExt(env.ds, root.id, ext(e)))?.status, 'active', e);
      }
      assert.equal(result.counts.enrollments.created, roster.rows('enrollments').length);
    });

    test('an unquoted list is rejected with a hint naming it, not taken for a trailing comma', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(3);
      // orgSourcedIds sch1,sch2 unquoted: 19 fields, the last (password) blank; then the same with a
      // password (the 19th field is not empty)
      const [s2, s1] = rawUsers(roster, [['s2', { orgSourcedIds: 'sch1,sch2' }, []],
        ['s1', { orgSourcedIds: 'sch1,sch2', password: 'pw-1-Long-enough' }, []]]);
      const result = await env.sync(root.id, roster);

      assert.equal(result.status, 'completed_with_errors');
      for (const line of [s1, s2]) {
        const i = issue(result, 'csv.row_width', 'users.csv', line);
        assert.equal(i.severity, 'error');
        assert.equal(i.column, null);
        assert.match(i.message, /^users\.csv line \d+: the row has 19 fields but the header has 18 columns[:;] .*orgSourcedIds "sch1,sch2" looks like a list with a comma that is not quoted.* the row is rejected$/);
        assert.doesNotMatch(i.message, /trailing comma/);
      }
      assert.equal(await usersUnder(env.ds, root.id).then((us) => us.some((u) => u.externalId === ext('s2') || u.externalId === ext('s1'))), false);
      assert.equal(await enrollmentByExt(env.ds, root.id, ext('e-s2-math-1')), null);
    });

    test('enumerations in another case are applied as the exact tokens, with value.enum_case warnings', async () => {
      const exact = standardRoster(3).set('enrollments', 'e-s1-math-1', { primary: 'false' });
      const cased = exact.clone()
        .set('orgs', 'sch1', { type: 'School' })
        .set('academicSessions', 'sy', { type: 'SchoolYear' })
        .set('classes', 'math-1', { classType: 'Scheduled' })
        .set('users', 't1', { role: 'Teacher', enabledUser: 'TRUE' })
        .set('users', 's1', { role: 'STUDENT' })
        .set('enrollments', 'e-t1-math-1', { role: 'Teacher', primary: 'True' })
        .set('enrollments', 'e-s1-math-1', { role: 'Student', primary: 'FALSE' });
      const rootExact = await newRoot(env.ds, { teacherBaseCourses: true });
      const rootCased = await newRoot(env.ds, { teacherBaseCourses: true });
      const a = await env.sync(rootExact.id, exact);
      assert.equal(a.status, 'succeeded', a.issues.map(brief).join('\n'));
      const b = await env.sync(rootCased.id, cased);
      assert.equal(b.status, 'succeeded', b.issues.map(brief).join('\n'));

      const at = (file: 'orgs' | 'academicSessions' | 'classes' | 'users' | 'enrollments', sid: string, column: string) =>
        `warning value.enum_case ${file}.csv:${cased.lineOf(file, sid)} ${column} ${sid}`;
      assert.deepEqual(b.issues.map(brief), [
        at('orgs', 'sch1', 'type'), at('academicSessions', 'sy', 'type'), at('classes', 'math-1', 'classType'),
        at('users', 't1', 'enabledUser'), at('users', 't1', 'role'), at('users', 's1', 'role'),
        at('enrollments', 'e-t1-math-1', 'role'), at('enrollments', 'e-t1-math-1', 'primary'),
        at('enrollments', 'e-s1-math-1', 'role'), at('enrollments', 'e-s1-math-1', 'primary'),
      ]);
      assert.match(issue(b, 'value.enum_case', 'enrollments.csv', cased.lineOf('enrollments', 'e-t1-math-1'), 'role').message,
        /role "Teacher" is not a OneRoster token \(tokens are case-sensitive\); read as "teacher"/);
      // the LMS is what the exact file gives: roles, primary teacher (base course owner), metadata
      assert.deepEqual(await lmsState(env, rootCased.id), await lmsState(env, rootExact.id));
      const math1 = await mustCourse(env.ds, rootCased.id, ext('math-1'));
      assert.equal(JSON.parse(math1.metadata ?? '{}').classType, 'scheduled');
      assert.equal(JSON.parse((await domainByExt(env.ds, rootCased.id, 'sch1')).metadata ?? '{}').type, 'school');
      const e = await enrollmentByExt(env.ds, rootCased.id, ext('e-t1-math-1'));
      assert.equal(e?.role, 'Teacher');
      assert.deepEqual(JSON.parse(e?.metadata ?? '{}'), { role: 'teacher', primary: 'true' });
    });

    test('delta status in another case: TOBEDELETED removes, Active applies', async () => {
      const root = await newRoot(env.ds, { safetyThresholdPercent: 100 });
      const roster = standardRoster(3);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const delta = roster.clone().delta('enrollments', ['e-s1-eng-1', 'e-s2-math-1'])
        .tobedeleted('enrollments', 'e-s1-eng-1')
        .set('enrollments', 'e-s1-eng-1', { status: 'TOBEDELETED' })
        .set('enrollments', 'e-s2-math-1', { status: 'Active', dateLastModified: '2024-09-02T08:00:00.000Z', endDate: '2025-05-01' });
      const result = await env.sync(root.id, delta);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.deepEqual(result.issues.map(brief), [
        `warning value.enum_case enrollments.csv:2 status e-s1-eng-1`, `warning value.enum_case enrollments.csv:3 status e-s2-math-1`,
      ]);
      assert.equal(result.counts.enrollments.removed, 1);
      assert.equal(result.counts.enrollments.updated, 1);
      assert.equal(await enrollmentByExt(env.ds, root.id, ext('e-s1-eng-1')), null);
      assert.equal(JSON.parse((await enrollmentByExt(env.ds, root.id, ext('e-s2-math-1')))?.metadata ?? '{}').endDate, '2025-05-01');
    });

    test('bulk rows marked tobedeleted: each warning says what is done, and it is done, per entity kind', async () => {
      const root = await newRoot(env.ds, { safetyThresholdPercent: 100 });
      // records with no dependents in the second file, so each deletion stands alone
      const roster = standardRoster(3)
        .org('sch3', { name: 'School Three', parentSourcedId: 'dist' })
        .session('winter', { title: 'Winter', parentSourcedId: 'sy' })
        .course('art', 'sch1', { title: 'Art' })
        .klass('art-1', 'math', 'sch1', 'fall', { title: 'Art 1' })
        .user('s9', 'sch1', { username: 'student.9' });
      const first = await env.sync(root.id, roster);
      assert.equal(first.status, 'succeeded', first.issues.map(brief).join('\n'));
      const sch3 = await domainByExt(env.ds, root.id, 'sch3');
      assert.equal((await mustCourse(env.ds, root.id, ext('art-1'))).status, 'active');

      const second = roster.clone()
        .set('orgs', 'sch3', { status: 'tobedeleted', name: 'Renamed' })
        .set('academicSessions', 'winter', { status: 'tobedeleted' })
        .set('courses', 'art', { status: 'tobedeleted' })
        .set('classes', 'art-1', { status: 'tobedeleted' })
        .set('users', 's9', { status: 'tobedeleted' })
        .set('enrollments', 'e-s3-eng-1', { status: 'tobedeleted' })
        .set('users', 's2', { status: 'inactive' });
      const result = await env.sync(root.id, second);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));

      const expected: Array<['orgs' | 'academicSessions' | 'courses' | 'classes' | 'users' | 'enrollments', string, RegExp]> = [
        ['orgs', 'sch3', /a sync never removes domains: the domain stays if the LMS has it \(its metadata follows the row\), and is not created otherwise$/],
        ['academicSessions', 'winter', /as in a delta, the session is not kept: rosterdrop forgets it if an earlier file sent it$/],
        ['courses', 'art', /as in a delta, the course is not kept: rosterdrop forgets it if an earlier file sent it$/],
        ['classes', 'art-1', /as in a delta, its section is deleted in the LMS if the LMS has it, and is not created otherwise$/],
        ['users', 's9', /as in a delta, the user is deleted in the LMS if the LMS has them, and is not created otherwise$/],
        ['enrollments', 'e-s3-eng-1', /as in a delta, the enrollment is removed from the LMS if the LMS has it, and is not created otherwise$/],
      ];
      for (const [file, sid, text] of expected) {
        const i = issue(result, 'value.status_in_bulk', `${file}.csv`, second.lineOf(file, sid));
        assert.equal(i.severity, 'warning');
        assert.equal(i.column, 'status');
        assert.equal(i.sourcedId, sid);
        assert.match(i.message, /status is "tobedeleted" in a bulk file, where it should be blank \(bulk files are full snapshots\); /);
        assert.match(i.message, text);
      }
      const inactive = issue(result, 'value.status_in_bulk', 'users.csv', second.lineOf('users', 's2'));
      assert.match(inactive.message, /OneRoster 1\.1 has no "inactive" \(a OneRoster 1\.0 token\): it is ignored and the record is imported as active$/);

      // orgs: the domain stays, with its name
      assert.equal((await domainByExt(env.ds, root.id, 'sch3')).id, sch3.id);
      assert.equal((await domainByExt(env.ds, root.id, 'sch3')).name, 'School Three');
      // sessions and courses: no longer kept; the others are
      assert.deepEqual(await keptIds(env, AcademicSession, root.id), ['or-fall', 'or-spring', 'or-sy']);
      assert.deepEqual(await keptIds(env, OneRosterCourse, root.id), ['or-eng', 'or-math']);
      // classes: the section deleted, and the class no longer kept either (a later delta must not bring it back)
      assert.equal((await mustCourse(env.ds, root.id, ext('art-1'))).status, 'deleted');
      assert.deepEqual(await keptIds(env, OneRosterClass, root.id), ['or-eng-1', 'or-math-1', 'or-math-2']);
      // users: deleted; the inactive one active
      assert.equal((await mustUser(env.ds, root.id, 's9')).status, 'deleted');
      assert.equal((await mustUser(env.ds, root.id, 's2')).status, 'active');
      // enrollments: removed
      assert.equal(await enrollmentByExt(env.ds, root.id, ext('e-s3-eng-1')), null);
      assert.deepEqual({ users: result.counts.users.removed, courses: result.counts.courses.removed, enrollments: result.counts.enrollments.removed },
        { users: 1, courses: 1, enrollments: 1 });
    });

    test('bulk rows marked tobedeleted that the LMS does not have are not created', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(3)
        .org('sch3', { name: 'School Three', parentSourcedId: 'dist', status: 'tobedeleted' })
        .klass('art-1', 'math', 'sch1', 'fall', { status: 'tobedeleted' })
        .user('s9', 'sch1', { username: 'student.9', status: 'TOBEDELETED' })
        .enrollment('e-s9', 'math-1', 's1', 'sch1', { status: 'tobedeleted', role: 'teacher' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      assert.match(issue(result, 'value.status_in_bulk', 'users.csv', roster.lineOf('users', 's9')).message,
        /status is "TOBEDELETED" in a bulk file, .*; read as "tobedeleted": as in a delta, the user is deleted/);
      assert.equal((await domainsUnder(env.ds, root.id)).some((d) => d.externalId === ext('sch3')), false);
      assert.equal((await coursesUnder(env.ds, root.id)).some((c) => c.externalId === ext('art-1')), false);
      assert.equal((await usersUnder(env.ds, root.id)).some((u) => u.externalId === ext('s9')), false);
      assert.equal(await enrollmentByExt(env.ds, root.id, ext('e-s9')), null);
    });
  });
}
