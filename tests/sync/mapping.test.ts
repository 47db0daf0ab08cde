/**
 * The field mapping of product-rules.md: where users land, what each column becomes, passwords,
 * roles (never Administrator), enrollment roles and dates from the settings, moves between
 * schools, observer links, and managed fields owned by the SIS (a manual edit is reverted, while a
 * domain's name and parent are set on creation only).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/db';
import {
  brief, domainByExt, enrollmentByExt, enrollmentsUnder, ext, mustCourse, mustUser, newRoot, observerLinks,
  observerPairs, setSettings, useDatabase,
} from '../helpers/lms';
import { standardRoster } from '../helpers/roster';
import { Course, Domain, Enrollment, ObserverLink, User } from '../../src/db/entities';
import { verifyPassword } from '../../src/util/password-hash';
import { applySetting, DEFAULT_SETTINGS } from '../../src/sync/settings';
import { metadataJson } from '../../src/sync/mapping';

for (const kind of databaseKinds()) {
  describe(`field mapping [${kind}]`, () => {
    const env = useDatabase(kind);

    test('users land in the domain of their first org; every users.csv column is mapped', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster().metadataColumns('users', 'metadata.nickname')
        .user('m1', 'sch2,sch1', {
          enabledUser: 'false', username: 'mo.multi', givenName: 'Mo', familyName: 'Multi', middleName: 'Q', identifier: 'ID-7',
          email: 'mo@example.org', sms: '555-0101', phone: '555-0102', userIds: '{LDAP:12},{LTI:15}', grades: '09,10',
          'metadata.nickname': 'Momo',
        });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      const sch2 = await domainByExt(env.ds, root.id, 'sch2');
      const m1 = await mustUser(env.ds, root.id, 'm1');
      assert.equal(m1.domainId, sch2.id, 'the first org listed is the domain');
      assert.equal(m1.username, 'mo.multi');
      assert.equal(m1.givenName, 'Mo');
      assert.equal(m1.familyName, 'Multi');
      assert.equal(m1.email, 'mo@example.org');
      const meta = JSON.parse(m1.metadata ?? '{}') as Record<string, unknown>;
      assert.equal(meta.enabledUser, 'false');
      assert.deepEqual(meta.userIds, ['{LDAP:12}', '{LTI:15}']);
      assert.deepEqual(meta.grades, ['09', '10']);
      assert.equal(meta.middleName, 'Q');
      assert.equal(meta.identifier, 'ID-7');
      assert.equal(meta.sms, '555-0101');
      assert.equal(meta.phone, '555-0102');
      assert.equal(meta.role, 'student');
      const nick = Object.entries(meta).filter(([k]) => k.endsWith('nickname'));
      assert.deepEqual(nick.map(([, v]) => v), ['Momo'], 'metadata.* columns are carried');
      assert.equal((await mustUser(env.ds, root.id, 's1')).domainId, (await domainByExt(env.ds, root.id, 'sch1')).id);

      // orgs: type and identifier as domain metadata; classes: their columns as course metadata
      const sch1 = await domainByExt(env.ds, root.id, 'sch1');
      assert.deepEqual(JSON.parse(sch1.metadata ?? '{}'), { type: 'school', identifier: 'S-1' });
      assert.equal(sch1.name, 'School One');
      const math1 = await mustCourse(env.ds, root.id, ext('math-1'));
      assert.equal(math1.title, 'Math 1A');
      assert.equal(math1.domainId, sch1.id, "a section lives in its school's domain");
      const cm = JSON.parse(math1.metadata ?? '{}') as Record<string, unknown>;
      assert.equal(cm.classCode, 'M1A');
      assert.deepEqual(cm.periods, ['1']);
      const teach = await enrollmentByExt(env.ds, root.id, ext('e-t1-math-1'));
      assert.equal(JSON.parse(teach?.metadata ?? '{}').primary, 'true');
    });

    test('managed fields follow the file and manual edits are reverted; domain name and parent are set on creation only', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster();
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const sch1 = await domainByExt(env.ds, root.id, 'sch1');
      const dist = await domainByExt(env.ds, root.id, 'dist');
      const s1 = await mustUser(env.ds, root.id, 's1');
      const math1 = await mustCourse(env.ds, root.id, ext('math-1'));
      const enr = (await enrollmentByExt(env.ds, root.id, ext('e-s1-math-1')))!;
      await env.ds.getRepository(User).update({ id: s1.id }, { givenName: 'Hacked' });
      await env.ds.getRepository(Course).update({ id: math1.id }, { title: 'Edited by hand' });
      await env.ds.getRepository(Enrollment).update({ id: enr.id }, { role: 'Observer' });
      await env.ds.getRepository(Domain).update({ id: sch1.id }, { name: 'Renamed by an admin' });

      roster.set('orgs', 'sch1', { name: 'School One, renamed in the SIS', identifier: 'S-1b' })
        .set('orgs', 'sch2', { parentSourcedId: '' })
        .set('users', 's2', { email: 'new.mail@example.org' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded');
      assert.equal((await mustUser(env.ds, root.id, 's1')).givenName, 'Stu1');
      assert.equal((await mustUser(env.ds, root.id, 's2')).email, 'new.mail@example.org');
      assert.equal((await mustCourse(env.ds, root.id, ext('math-1'))).title, 'Math 1A');
      assert.equal((await enrollmentByExt(env.ds, root.id, ext('e-s1-math-1')))?.role, 'Student');
      const sch1After = await domainByExt(env.ds, root.id, 'sch1');
      assert.equal(sch1After.name, 'Renamed by an admin', 'the name is the LMS\'s once created');
      assert.equal(JSON.parse(sch1After.metadata ?? '{}').identifier, 'S-1b', 'metadata follows the file');
      assert.equal((await domainByExt(env.ds, root.id, 'sch2')).parentId, dist.id, 'the parent is set on creation only');
      assert.equal(result.counts.users.updated, 2);
      assert.equal(result.counts.courses.updated, 1);
      assert.equal(result.counts.enrollments.updated, 1);
      assert.equal(result.counts.domains.updated, 1);
    });

    test('usernames may pass from one user to another in one file (a rename chain, a swap)', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(3);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      // s1 takes s2's username, s2 takes s3's, s3 a new one; t1 and t2 (different schools) swap theirs
      roster.set('users', 's1', { username: 'student.2' }).set('users', 's2', { username: 'student.3' }).set('users', 's3', { username: 'student.3b' })
        .set('users', 'p1', { username: 'student.1' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', `${result.message}\n${result.issues.map(brief).join('\n')}`);
      assert.equal((await mustUser(env.ds, root.id, 's1')).username, 'student.2');
      assert.equal((await mustUser(env.ds, root.id, 's2')).username, 'student.3');
      assert.equal((await mustUser(env.ds, root.id, 's3')).username, 'student.3b');
      assert.equal((await mustUser(env.ds, root.id, 'p1')).username, 'student.1');
      assert.equal(result.counts.users.updated, 4);

      roster.set('users', 's1', { username: 'student.3' }).set('users', 's2', { username: 'student.2' });
      const swap = await env.sync(root.id, roster);
      assert.equal(swap.status, 'succeeded', `${swap.message}\n${swap.issues.map(brief).join('\n')}`);
      assert.equal((await mustUser(env.ds, root.id, 's1')).username, 'student.3');
      assert.equal((await mustUser(env.ds, root.id, 's2')).username, 'student.2');
    });

    test('passwords: hashed, set on creation only', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(2).set('users', 's1', { password: 'Correct-Horse-1' });
      const first = await env.sync(root.id, roster);
      assert.equal(first.status, 'succeeded');
      const s1 = await mustUser(env.ds, root.id, 's1');
      assert.ok(s1.passwordHash, 'the hash is stored by the time the sync returns');
      assert.ok(!s1.passwordHash.includes('Correct-Horse-1'), 'never stored in clear');
      assert.equal(await verifyPassword('Correct-Horse-1', s1.passwordHash), true);
      assert.equal(await verifyPassword('correct-horse-1', s1.passwordHash), false);
      assert.equal((await mustUser(env.ds, root.id, 's2')).passwordHash, null, 'no password in the file: none in the LMS');

      roster.set('users', 's1', { password: 'Another-Pass-2' }).set('users', 's2', { password: 'Late-Pass-3' });
      const second = await env.sync(root.id, roster);
      assert.equal(second.status, 'succeeded');
      const s1After = await mustUser(env.ds, root.id, 's1');
      assert.equal(s1After.passwordHash, s1.passwordHash);
      assert.equal(await verifyPassword('Another-Pass-2', s1After.passwordHash), false);
      assert.equal((await mustUser(env.ds, root.id, 's2')).passwordHash, null, 'an existing user gets no password from a later file');
      assert.equal(second.counts.users.updated, 0);
    });

    test('the sync never grants the Administrator role and never touches the roles of an admin it manages', async () => {
      const root = await newRoot(env.ds, { unsharedUsers: 'inactive', safetyThresholdPercent: 50 });
      const roster = standardRoster()
        .user('a1', 'dist', { role: 'administrator', username: 'district.admin' })
        .enrollment('e-a1-math-1', 'math-1', 'a1', 'sch1', { role: 'administrator' });
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const a1 = await mustUser(env.ds, root.id, 'a1');
      assert.equal(a1.domainId, (await domainByExt(env.ds, root.id, 'dist')).id);
      assert.deepEqual(JSON.parse(a1.roles), []);
      const enr = await enrollmentByExt(env.ds, root.id, ext('e-a1-math-1'));
      assert.equal(enr?.role, DEFAULT_SETTINGS.administratorRole);
      assert.notEqual(enr?.role.toLowerCase(), 'administrator');
      assert.throws(() => applySetting(DEFAULT_SETTINGS, 'teacherRole', 'Administrator'), /Administrator/);
      assert.throws(() => applySetting(DEFAULT_SETTINGS, 'administratorRole', 'administrator'), /Administrator/);

      // an admin made Administrator by hand keeps the role through updates and unsharing
      const users = env.ds.getRepository(User);
      const t1 = await mustUser(env.ds, root.id, 't1');
      const t2 = await mustUser(env.ds, root.id, 't2');
      await users.update({ id: t1.id }, { roles: '["Administrator"]' });
      await users.update({ id: t2.id }, { roles: '["Administrator","Auditor"]' });
      roster.set('users', 't1', { familyName: 'Married' }).dropUser('t2');
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      const t1After = await mustUser(env.ds, root.id, 't1');
      assert.equal(t1After.familyName, 'Married');
      assert.equal(t1After.roles, '["Administrator"]');
      const t2After = await mustUser(env.ds, root.id, 't2');
      assert.equal(t2After.status, 'inactive');
      assert.equal(t2After.roles, '["Administrator","Auditor"]');
      assert.deepEqual(JSON.parse((await mustUser(env.ds, root.id, 'a1')).roles), []);
    });

    test('enrollment roles come from the settings, and follow them when they change', async () => {
      const root = await newRoot(env.ds, { teacherRole: 'Lehrkraft', studentRole: 'Lernende', administratorRole: 'Leitung', proctorRole: 'Aufsicht' });
      const roster = standardRoster(2)
        .user('a1', 'sch1', { role: 'administrator' })
        .user('x1', 'sch1', { role: 'proctor' })
        .enrollment('e-a1', 'math-1', 'a1', 'sch1', { role: 'administrator' })
        .enrollment('e-x1', 'math-1', 'x1', 'sch1', { role: 'proctor' });
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const roleOf = async (sid: string) => (await enrollmentByExt(env.ds, root.id, ext(sid)))?.role;
      assert.equal(await roleOf('e-t1-math-1'), 'Lehrkraft');
      assert.equal(await roleOf('e-s1-math-1'), 'Lernende');
      assert.equal(await roleOf('e-a1'), 'Leitung');
      assert.equal(await roleOf('e-x1'), 'Aufsicht');

      await setSettings(env.ds, root.id, { studentRole: 'Pupil' });
      const result = await env.sync(root.id, roster);
      const students = roster.rows('enrollments').filter((e) => e.role === 'student').map((e) => e.sourcedId);
      for (const sid of students) assert.equal(await roleOf(sid), 'Pupil', sid);
      assert.equal(await roleOf('e-t1-math-1'), 'Lehrkraft');
      assert.equal(result.counts.enrollments.updated, students.length);
    });

    test('enrollment dates in the domain time zone, or none when SIS dates are ignored', async () => {
      const root = await newRoot(env.ds, { timeZone: 'America/New_York' });
      const roster = standardRoster(2);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const e = (await enrollmentByExt(env.ds, root.id, ext('e-s1-math-1')))!;
      assert.equal(e.startAt?.toISOString(), '2024-08-20T04:00:00.000Z', 'beginDate 2024-08-20 at midnight in New York (EDT)');
      // OneRoster 1.1: endDate is exclusive; the enrollment ends as 2025-06-01 begins (its last day is 31 May)
      assert.equal(e.endAt?.toISOString(), '2025-06-01T04:00:00.000Z', 'endDate 2025-06-01 at midnight in New York (EDT), exclusive');
      assert.equal((await enrollmentByExt(env.ds, root.id, ext('e-s1-eng-1')))?.startAt, null, 'no dates in the file: none');
      const math1 = await mustCourse(env.ds, root.id, ext('math-1'));
      assert.equal(math1.startAt?.toISOString(), '2024-08-15T04:00:00.000Z', 'the section starts with its first term (fall)');
      assert.equal(math1.endAt?.toISOString(), '2024-12-20T05:00:00.000Z', 'the term ends as its exclusive endDate begins (EST)');

      await setSettings(env.ds, root.id, { ignoreSisDates: true });
      const result = await env.sync(root.id, roster);
      const dated = roster.rows('enrollments').filter((r) => r.beginDate || r.endDate).length;
      assert.ok(dated > 0);
      assert.equal(result.counts.enrollments.updated, dated);
      for (const x of await enrollmentsUnder(env.ds, root.id)) {
        assert.equal(x.startAt, null, x.externalId ?? '');
        assert.equal(x.endAt, null, x.externalId ?? '');
      }
      assert.equal((await mustCourse(env.ds, root.id, ext('math-1'))).startAt?.toISOString(), math1.startAt?.toISOString(),
        'course dates are not enrollment dates');
    });

    test('a class whose school changes: the same section moves to the new school\'s domain, enrollments kept', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(1);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const math2 = await mustCourse(env.ds, root.id, ext('math-2'));
      const enr = (await enrollmentsUnder(env.ds, root.id)).filter((e) => e.courseId === math2.id);
      roster.set('classes', 'math-2', { schoolSourcedId: 'sch1' });
      for (const e of roster.rows('enrollments').filter((x) => x.classSourcedId === 'math-2')) roster.set('enrollments', e.sourcedId, { schoolSourcedId: 'sch1' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
      const moved = await mustCourse(env.ds, root.id, ext('math-2'));
      assert.equal(moved.id, math2.id);
      assert.equal(moved.domainId, (await domainByExt(env.ds, root.id, 'sch1')).id);
      const after = (await enrollmentsUnder(env.ds, root.id)).filter((e) => e.courseId === math2.id);
      assert.deepEqual(after.map((e) => [e.id, e.status]), enr.map((e) => [e.id, 'active']));
      assert.ok(after.every((e) => e.domainId === moved.domainId), 'the enrollments follow to the school\'s domain');
    });

    test('the first term listed sets the section term and dates', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster(1);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      assert.equal((await mustCourse(env.ds, root.id, ext('math-1'))).term, 'Fall 2024');
      roster.set('classes', 'math-1', { termSourcedIds: 'spring,fall' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.counts.courses.updated, 1);
      const math1 = await mustCourse(env.ds, root.id, ext('math-1'));
      assert.equal(math1.term, 'Spring 2025');
      assert.equal(math1.startAt?.toISOString(), '2025-01-06T00:00:00.000Z');
    });

    test('a user whose first org changes to another school moves there: same id, enrollments kept', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster();
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const s1 = await mustUser(env.ds, root.id, 's1');
      const enrBefore = (await enrollmentsUnder(env.ds, root.id)).filter((e) => e.userId === s1.id);
      assert.equal(enrBefore.length, 2);
      const linksBefore = await observerPairs(env.ds, root.id);

      roster.set('users', 's1', { orgSourcedIds: 'sch2' });
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded');
      const moved = await mustUser(env.ds, root.id, 's1');
      assert.equal(moved.id, s1.id);
      assert.equal(moved.domainId, (await domainByExt(env.ds, root.id, 'sch2')).id);
      assert.equal(moved.username, s1.username);
      const enrAfter = (await enrollmentsUnder(env.ds, root.id)).filter((e) => e.userId === s1.id);
      assert.deepEqual(enrAfter.map((e) => [e.id, e.status, e.courseId]), enrBefore.map((e) => [e.id, 'active', e.courseId]));
      assert.deepEqual(await observerPairs(env.ds, root.id), linksBefore);
      assert.deepEqual(result.counts.users, { created: 0, updated: 1, unchanged: roster.rows('users').length - 1, removed: 0, restored: 0 });
    });

    test('observers from agentSourcedIds, in either direction; links no longer listed are removed', async () => {
      const root = await newRoot(env.ds);
      const roster = standardRoster()
        .user('g1', 'sch1', { role: 'guardian', agentSourcedIds: 's2' })
        .user('r1', 'sch1', { role: 'relative', agentSourcedIds: 's3' })
        .set('users', 's3', { agentSourcedIds: 'r1' })
        .set('users', 's4', { agentSourcedIds: 't1' });
      const first = await env.sync(root.id, roster);
      assert.equal(first.status, 'succeeded');
      assert.deepEqual(await observerPairs(env.ds, root.id), [['g1', 's2'], ['p1', 's1'], ['r1', 's3']]);
      assert.equal(first.counts.observers.created, 3);
      const warn = first.issues.filter((i) => i.code === 'ref.agent_role').map(brief);
      assert.deepEqual(warn, [`warning ref.agent_role users.csv:${roster.lineOf('users', 's4')} agentSourcedIds s4`]);

      // a link made by hand is not the sync's
      const t1 = await mustUser(env.ds, root.id, 't1');
      const s4 = await mustUser(env.ds, root.id, 's4');
      const links = env.ds.getRepository(ObserverLink);
      const hand = await links.save(links.create({ observerId: t1.id, studentId: s4.id, externalId: 'OR-observer:t1:s4' }));

      roster.set('users', 's1', { agentSourcedIds: '' });
      const second = await env.sync(root.id, roster);
      assert.equal(second.status, 'succeeded');
      assert.deepEqual(await observerPairs(env.ds, root.id), [['g1', 's2'], ['r1', 's3'], ['t1', 's4']]);
      assert.equal(second.counts.observers.removed, 1);
      assert.ok((await observerLinks(env.ds, root.id)).some((l) => l.id === hand.id));
    });
  });
}

describe('metadata JSON', () => {
  test('is the text JSON.stringify gives for the same object, so rows written before still compare equal', () => {
    const cases: Array<[Array<[string, string | string[] | undefined]>, Record<string, string> | null]> = [
      [[['role', 'student'], ['primary', ''], ['grades', []], ['beginDate', undefined]], null],
      [[['title', 'Say "hi"\\ \t tab'], ['subjects', ['Math', 'Ünïcode ✓', 'a"b']], ['code', '\u0001ctl']],
        { zeta: 'z', alpha: 'quote " and \\ slash', '1': 'integer-like name' }],
      [[['x', '']], { only: 'extra' }],
    ];
    for (const [fields, extra] of cases) {
      const object: Record<string, string | string[]> = {};
      for (const [k, v] of fields) if (v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)) object[k] = v;
      if (extra) for (const k of Object.keys(extra).sort()) object[`metadata.${k}`] = extra[k];
      assert.equal(metadataJson(fields, extra), Object.keys(object).length ? JSON.stringify(object) : null);
    }
    assert.equal(metadataJson([['a', ''], ['b', []]], null), null);
  });
});
