/**
 * Unshared handling (managed in the LMS, absent from a bulk file) per entity and setting, restore
 * on reshare (same id for users and courses, a new enrollment for a deleted one), hand-made
 * entities never touched, adoption by external ID, rejected rows not taken for unshared, and delta
 * files: tobedeleted removes, absent records stay, references may point at the LMS.
 *
 * The safety threshold is set to 100% here so that it never interferes (safety.test.ts covers it).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/db';
import {
  brief, coursesUnder, domainByExt, domainsUnder, enrollmentByExt, enrollmentsUnder, errorsOf, ext, handMadeCourse, handMadeEnrollment, handMadeUser, mustCourse,
  mustUser, newRoot, reload, snapshot, userByExt, useDatabase, usersUnder,
} from '../helpers/lms';
import { Roster, standardRoster } from '../helpers/roster';
import { AcademicSession, Course, Enrollment, OneRosterClass, OneRosterCourse, User } from '../../src/db/entities';
import type { SyncSettings } from '../../src/sync/settings';

const STUDENTS = 12;

for (const kind of databaseKinds()) {
  describe(`unshared users, courses, enrollments [${kind}]`, () => {
    const env = useDatabase(kind);

    async function seed(settings: Partial<SyncSettings>, roster = standardRoster(STUDENTS)): Promise<{ rootId: number; roster: Roster }> {
      const root = await newRoot(env.ds, { safetyThresholdPercent: 100, ...settings });
      const r = await env.sync(root.id, roster);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      return { rootId: root.id, roster };
    }

    test('users: "nothing" leaves an unshared user as it is', async () => {
      const { rootId, roster } = await seed({ unsharedUsers: 'nothing' });
      const s4 = await mustUser(env.ds, rootId, 's4');
      const r = await env.sync(rootId, roster.clone().dropUser('s4'));
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.users.removed, 0);
      assert.deepEqual(await reload(env.ds, s4), s4);
    });

    for (const setting of ['inactive', 'delete'] as const) {
      test(`users: "${setting}", then shared again: restored with the same id`, async () => {
        const { rootId, roster } = await seed({ unsharedUsers: setting });
        const s4 = await mustUser(env.ds, rootId, 's4');
        const enrBefore = (await enrollmentsUnder(env.ds, rootId)).filter((e) => e.userId === s4.id);
        const r = await env.sync(rootId, roster.clone().dropUser('s4'));
        assert.equal(r.status, 'succeeded');
        assert.equal(r.counts.users.removed, 1);
        const gone = await reload(env.ds, s4);
        assert.equal(gone.status, setting === 'delete' ? 'deleted' : 'inactive');
        assert.equal((await mustUser(env.ds, rootId, 's3')).status, 'active');

        const back = await env.sync(rootId, roster);
        assert.equal(back.status, 'succeeded');
        assert.equal(back.counts.users.restored, 1);
        assert.equal(back.counts.users.created, 0);
        const restored = await mustUser(env.ds, rootId, 's4');
        assert.equal(restored.id, s4.id);
        assert.equal(restored.status, 'active');
        assert.deepEqual((await enrollmentsUnder(env.ds, rootId)).filter((e) => e.userId === s4.id).map((e) => e.id), enrBefore.map((e) => e.id));
      });
    }

    test('users: hand-made users are never touched, even when they look alike', async () => {
      const { rootId, roster } = await seed({ unsharedUsers: 'delete' });
      const sch1 = (await domainByExt(env.ds, rootId, 'sch1')).id;
      const s4 = await mustUser(env.ds, rootId, 's4');
      const lookalikes = [
        await handMadeUser(env.ds, sch1, { username: 'lookalike.4', givenName: s4.givenName, familyName: s4.familyName, metadata: s4.metadata }),
        await handMadeUser(env.ds, sch1, { username: 'other.sis', externalId: 'sis-s4' }),
        await handMadeUser(env.ds, sch1, { username: 'legacy.upper', externalId: 'OR-legacy-7' }),
        await handMadeUser(env.ds, sch1, { username: 'no.dash', externalId: 'or_s5' }),
      ];
      const r = await env.sync(rootId, roster.clone().dropUser('s4'));
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.users.removed, 1, 'only the managed s4');
      for (const u of lookalikes) assert.deepEqual(await reload(env.ds, u), u, `${u.username} (${u.externalId}) untouched`);
    });

    test('users: adoption: a hand-made user given or-<sid> is updated by the next sync, or handled as unshared', async () => {
      const { rootId, roster } = await seed({ unsharedUsers: 'inactive' });
      const sch1 = (await domainByExt(env.ds, rootId, 'sch1')).id;
      const fifty = await handMadeUser(env.ds, sch1, { username: 'hand.fifty', givenName: 'Old', familyName: 'Name' });
      const orphan = await handMadeUser(env.ds, sch1, { username: 'adopt.me' });
      const repo = env.ds.getRepository(User);
      await repo.update({ id: fifty.id }, { externalId: ext('s50') });
      await repo.update({ id: orphan.id }, { externalId: ext('not-in-file') });

      const r = await env.sync(rootId, roster.clone().user('s50', 'sch1', { username: 'student.50', givenName: 'Fifty', familyName: 'Five' }));
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.users.created, 0);
      const adopted = await reload(env.ds, fifty);
      assert.equal(adopted.username, 'student.50');
      assert.equal(adopted.givenName, 'Fifty');
      assert.equal((await reload(env.ds, orphan)).status, 'inactive');
      assert.equal((await usersUnder(env.ds, rootId)).filter((u) => u.externalId === ext('s50')).length, 1);
    });

    test('an external ID copied instead of moved (two managed courses, or users, share it): the sync fails, names both, changes nothing', async () => {
      const { rootId, roster } = await seed({ unsharedUsers: 'inactive' });
      const sch1 = (await domainByExt(env.ds, rootId, 'sch1')).id;
      const math = await mustCourse(env.ds, rootId, ext('math-1'));
      // the admin's replacement for math-1, given math-1's ID while math-1 keeps it too
      const copy = await handMadeCourse(env.ds, sch1, { title: 'Math 1A (new)', externalId: ext('math-1') });
      const s3 = await mustUser(env.ds, rootId, 's3');
      const twin = await handMadeUser(env.ds, sch1, { username: 'twin.3', externalId: ext('s3') });
      const before = { courses: await coursesUnder(env.ds, rootId), users: await usersUnder(env.ds, rootId), enrollments: await enrollmentsUnder(env.ds, rootId) };

      const changed = roster.clone().set('classes', 'math-1', { title: 'Math 1A renamed' });
      const r = await env.sync(rootId, changed);
      assert.equal(r.status, 'failed');
      assert.match(r.message, /external IDs are used by more than one managed entity of this district .*nothing was changed/);
      const dup = r.issues.filter((i) => i.code === 'apply.duplicate_external_id').map((i) => i.message);
      assert.deepEqual(dup, [
        `2 users of this district have the external ID ${ext('s3')} (ids ${s3.id} and ${twin.id}): a sync cannot tell which one is the SIS's. Remove the ID from all but one of them (to replace an entity, move its ID, do not copy it)`,
        `2 courses of this district have the external ID ${ext('math-1')} (ids ${math.id} and ${copy.id}): a sync cannot tell which one is the SIS's. Remove the ID from all but one of them (to replace an entity, move its ID, do not copy it)`,
      ]);
      assert.deepEqual({ courses: await coursesUnder(env.ds, rootId), users: await usersUnder(env.ds, rootId), enrollments: await enrollmentsUnder(env.ds, rootId) }, before);

      // moved, not copied: the next sync takes the new course as math-1 and re-points its enrollments
      await env.ds.getRepository(Course).update({ id: math.id }, { externalId: null });
      await env.ds.getRepository(User).update({ id: twin.id }, { externalId: null });
      const fixed = await env.sync(rootId, changed);
      assert.equal(fixed.status, 'succeeded', fixed.issues.map(brief).join('\n'));
      assert.equal((await reload(env.ds, copy)).title, 'Math 1A renamed');
      assert.equal((await reload(env.ds, math)).title, math.title, 'the old course is no longer managed');
      const onCopy = (await enrollmentsUnder(env.ds, rootId)).filter((e) => e.courseId === copy.id && e.externalId?.startsWith('or-e-'));
      assert.equal(onCopy.length, before.enrollments.filter((e) => e.courseId === math.id && e.externalId?.startsWith('or-e-')).length);
    });

    test('an enrollment\'s external ID copied (two managed enrollments share it): the sync fails, names both, changes nothing', async () => {
      const { rootId, roster } = await seed({ unsharedEnrollments: 'inactive' });
      const sch1 = (await domainByExt(env.ds, rootId, 'sch1')).id;
      const original = (await enrollmentsUnder(env.ds, rootId)).find((e) => e.externalId?.startsWith('or-e-'));
      assert.ok(original?.externalId);
      // the admin's replacement section, with the enrollment copied into it ID and all
      const section = await handMadeCourse(env.ds, sch1, { title: 'Replacement section' });
      const twin = await handMadeEnrollment(env.ds, { courseId: section.id, userId: original.userId, domainId: sch1, externalId: original.externalId });
      const before = await snapshot(env.ds);

      const changed = roster.clone().set('classes', 'math-1', { title: 'Math 1A renamed' });
      for (const validateOnly of [true, false]) {
        const r = await env.sync(rootId, changed, { validateOnly });
        assert.equal(r.status, 'failed', `validateOnly=${validateOnly}`);
        assert.match(r.message, /an external ID is used by more than one managed entity of this district .*nothing was changed/);
        assert.deepEqual(r.issues.filter((i) => i.code === 'apply.duplicate_external_id').map((i) => i.message), [
          `2 enrollments of this district have the external ID ${original.externalId} (ids ${original.id} and ${twin.id}): a sync cannot tell which one is the SIS's. Remove the ID from all but one of them (to replace an entity, move its ID, do not copy it)`,
        ]);
        assert.deepEqual(await snapshot(env.ds), before, 'nothing changed');
      }

      // moved, not copied: the next sync manages the twin and leaves the original alone
      await env.ds.getRepository(Enrollment).update({ id: original.id }, { externalId: null });
      const fixed = await env.sync(rootId, changed);
      assert.equal(fixed.status, 'succeeded', fixed.issues.map(brief).join('\n'));
      assert.equal((await reload(env.ds, twin)).courseId, original.courseId, 'the twin is the SIS\'s enrollment now, in its class\'s section');
      assert.equal((await reload(env.ds, original)).status, 'active', 'no longer managed: untouched');
    });

    test('a row whose user was skipped cannot hide two managed enrollments sharing an ID', async () => {
      const { rootId, roster } = await seed({ unsharedEnrollments: 'inactive' });
      const sch1 = (await domainByExt(env.ds, rootId, 'sch1')).id;
      await handMadeUser(env.ds, sch1, { username: 'taken.name' });
      const original = await enrollmentByExt(env.ds, rootId, ext('e-s1-math-1'));
      assert.ok(original?.externalId);
      const section = await handMadeCourse(env.ds, sch1, { title: 'Replacement section' });
      const twin = await handMadeEnrollment(env.ds, { courseId: section.id, userId: original.userId, domainId: sch1, externalId: original.externalId });
      const before = await snapshot(env.ds);

      // the new user's username is taken, so the user is skipped after the reference checks and its
      // enrollment is a valid row that matches no user: one row short, one row matching two
      const changed = roster.clone().user('snew', 'sch1', { username: 'taken.name', givenName: 'New', familyName: 'Comer' })
        .enrollment('e-snew-math-1', 'math-1', 'snew', 'sch1');
      const r = await env.sync(rootId, changed);
      assert.equal(r.status, 'failed', r.issues.map(brief).join('\n'));
      assert.deepEqual(r.issues.filter((i) => i.code === 'apply.duplicate_external_id').map((i) => i.message.split(':')[0]),
        [`2 enrollments of this district have the external ID ${original.externalId} (ids ${original.id} and ${twin.id})`]);
      assert.deepEqual(await snapshot(env.ds), before, 'nothing changed');

      // what keeps the count exact: the skipped user's enrollment is rejected with it
      assert.deepEqual(r.issues.filter((i) => i.severity === 'error').map((i) => `${i.code} ${i.file}:${i.line}`),
        ['apply.username_taken users.csv:' + changed.lineOf('users', 'snew'), 'ref.rejected enrollments.csv:' + changed.lineOf('enrollments', 'e-snew-math-1'),
          'apply.duplicate_external_id null:null']);

      // the ID moved instead of copied: the rest applies, without the skipped user's enrollment
      await env.ds.getRepository(Enrollment).update({ id: original.id }, { externalId: null });
      const fixed = await env.sync(rootId, changed);
      assert.equal(fixed.status, 'completed_with_errors');
      assert.deepEqual(fixed.issues.filter((i) => i.severity === 'error').map((i) => i.code), ['apply.username_taken', 'ref.rejected']);
      assert.equal(await enrollmentByExt(env.ds, rootId, ext('e-snew-math-1')), null);
      assert.equal((await reload(env.ds, twin)).courseId, original.courseId, 'the twin is the SIS\'s enrollment now, in its class\'s section');
    });

    test('users: rows rejected in a later file are not unshared (nor their enrollments)', async () => {
      const { rootId, roster } = await seed({ unsharedUsers: 'delete', unsharedEnrollments: 'delete' });
      const s2 = await mustUser(env.ds, rootId, 's2');
      const enr = (await enrollmentsUnder(env.ds, rootId)).filter((e) => e.userId === s2.id);
      assert.ok(enr.length > 0);
      const r = await env.sync(rootId, roster.clone().set('users', 's2', { role: 'pupil' }));
      assert.equal(r.status, 'completed_with_errors');
      assert.equal(r.counts.users.removed, 0);
      assert.equal(r.counts.enrollments.removed, 0);
      assert.deepEqual(await reload(env.ds, s2), s2);
      for (const e of enr) assert.deepEqual(await reload(env.ds, e), e);
    });

    test('courses: "nothing" keeps an unshared section; "delete" deletes it; shared again it is restored with the same id', async () => {
      const kept = await seed({ unsharedCourses: 'nothing' });
      const eng = await mustCourse(env.ds, kept.rootId, ext('eng-1'));
      const r1 = await env.sync(kept.rootId, kept.roster.clone().dropClass('eng-1'));
      assert.equal(r1.counts.courses.removed, 0);
      assert.deepEqual(await reload(env.ds, eng), eng);

      const { rootId, roster } = await seed({ unsharedCourses: 'delete' });
      const math2 = await mustCourse(env.ds, rootId, ext('math-2'));
      const r2 = await env.sync(rootId, roster.clone().dropClass('math-2'));
      assert.equal(r2.status, 'succeeded');
      assert.equal(r2.counts.courses.removed, 1);
      assert.equal((await reload(env.ds, math2)).status, 'deleted');
      assert.equal((await mustCourse(env.ds, rootId, ext('math-1'))).status, 'active');
      const r3 = await env.sync(rootId, roster);
      assert.equal(r3.counts.courses.restored, 1);
      assert.equal(r3.counts.courses.created, 0);
      const back = await mustCourse(env.ds, rootId, ext('math-2'));
      assert.equal(back.id, math2.id);
      assert.equal(back.status, 'active');
    });

    test('courses: hand-made courses are never deleted, even when they look alike', async () => {
      const { rootId, roster } = await seed({ unsharedCourses: 'delete' });
      const sch1 = (await domainByExt(env.ds, rootId, 'sch1')).id;
      const eng = await mustCourse(env.ds, rootId, ext('eng-1'));
      const lookalikes = [
        await handMadeCourse(env.ds, sch1, { title: eng.title, term: eng.term, metadata: eng.metadata }),
        await handMadeCourse(env.ds, sch1, { title: 'Other system', externalId: 'x-eng-1' }),
        await handMadeCourse(env.ds, sch1, { title: 'Upper case', externalId: 'OR-eng-1' }),
      ];
      const r = await env.sync(rootId, roster.clone().dropClass('eng-1'));
      assert.equal(r.counts.courses.removed, 1);
      assert.equal((await reload(env.ds, eng)).status, 'deleted');
      for (const c of lookalikes) assert.deepEqual(await reload(env.ds, c), c, `${c.title} (${c.externalId}) untouched`);
    });

    test('courses: base courses no longer derived are unshared too, and restored with the same ids', async () => {
      const { rootId, roster } = await seed({ unsharedCourses: 'delete', teacherBaseCourses: true, termBaseCourses: true });
      const t2 = await mustUser(env.ds, rootId, 't2');
      const bases = (await coursesUnder(env.ds, rootId)).filter((c) => c.ownerUserId === t2.id);
      assert.deepEqual(bases.map((c) => c.kind).sort(), ['teacher_base', 'term_base']);
      const r = await env.sync(rootId, roster.clone().dropClass('math-2'));
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.courses.removed, 3, 'the section and its teacher and term base courses');
      for (const c of bases) assert.equal((await reload(env.ds, c)).status, 'deleted', c.kind);
      const rest = (await coursesUnder(env.ds, rootId)).filter((c) => c.ownerUserId !== t2.id && c.externalId !== ext('math-2'));
      assert.deepEqual(rest.filter((c) => c.status !== 'active').map((c) => c.externalId), [], 'the other courses stay');
      const back = await env.sync(rootId, roster);
      assert.equal(back.counts.courses.restored, 3);
      assert.equal(back.counts.courses.created, 0);
      for (const c of bases) assert.equal((await reload(env.ds, c)).status, 'active', c.kind);
      assert.equal((await mustCourse(env.ds, rootId, ext('math-2'))).baseCourseId, bases.find((c) => c.kind === 'term_base')!.id);
    });

    test('a sync manages only its own domain\'s subtree: the same sourcedIds elsewhere are not touched', async () => {
      const a = await seed({ unsharedUsers: 'delete', unsharedCourses: 'delete', unsharedEnrollments: 'delete' });
      const b = await seed({ unsharedUsers: 'delete', unsharedCourses: 'delete', unsharedEnrollments: 'delete' });
      const aUsers = await usersUnder(env.ds, a.rootId);
      const aCourses = await coursesUnder(env.ds, a.rootId);
      const aEnr = await enrollmentsUnder(env.ds, a.rootId);
      const r = await env.sync(b.rootId, b.roster.clone().dropUser('s4').dropClass('eng-1').set('users', 's5', { givenName: 'OnlyInB' }));
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.users.removed, 1);
      assert.equal((await mustUser(env.ds, b.rootId, 's5')).givenName, 'OnlyInB');
      assert.deepEqual(await usersUnder(env.ds, a.rootId), aUsers);
      assert.deepEqual(await coursesUnder(env.ds, a.rootId), aCourses);
      assert.deepEqual(await enrollmentsUnder(env.ds, a.rootId), aEnr);
    });

    test('enrollments: "nothing" leaves an unshared enrollment active', async () => {
      const { rootId, roster } = await seed({ unsharedEnrollments: 'nothing' });
      const e = (await enrollmentByExt(env.ds, rootId, ext('e-s2-math-1')))!;
      const r = await env.sync(rootId, roster.clone().remove('enrollments', 'e-s2-math-1'));
      assert.equal(r.counts.enrollments.removed, 0);
      assert.deepEqual(await reload(env.ds, e), e);
    });

    for (const setting of ['inactive', 'withdrawn'] as const) {
      test(`enrollments: "${setting}" marks it; shared again it is active again`, async () => {
        const { rootId, roster } = await seed({ unsharedEnrollments: setting });
        const e = (await enrollmentByExt(env.ds, rootId, ext('e-s2-math-1')))!;
        const r = await env.sync(rootId, roster.clone().remove('enrollments', 'e-s2-math-1'));
        assert.equal(r.status, 'succeeded');
        assert.equal(r.counts.enrollments.removed, 1);
        assert.equal((await reload(env.ds, e)).status, setting);
        assert.equal((await enrollmentByExt(env.ds, rootId, ext('e-s3-math-1')))?.status, 'active');
        const back = await env.sync(rootId, roster);
        assert.equal(back.counts.enrollments.restored, 1);
        const again = (await enrollmentByExt(env.ds, rootId, ext('e-s2-math-1')))!;
        assert.equal(again.id, e.id);
        assert.equal(again.status, 'active');
      });
    }

    test('enrollments: "delete" removes the row; shared again it is a new enrollment; hand-made ones stay', async () => {
      const { rootId, roster } = await seed({ unsharedEnrollments: 'delete' });
      const e = (await enrollmentByExt(env.ds, rootId, ext('e-s2-math-1')))!;
      const eng = await mustCourse(env.ds, rootId, ext('eng-1'));
      const s2 = await mustUser(env.ds, rootId, 's2');
      const hand = await handMadeEnrollment(env.ds, { courseId: eng.id, userId: s2.id, domainId: eng.domainId });
      const r = await env.sync(rootId, roster.clone().remove('enrollments', 'e-s2-math-1'));
      assert.equal(r.counts.enrollments.removed, 1);
      assert.equal(await enrollmentByExt(env.ds, rootId, ext('e-s2-math-1')), null, 'deleted for good');
      assert.deepEqual(await reload(env.ds, hand), hand);
      const back = await env.sync(rootId, roster);
      assert.equal(back.counts.enrollments.created, 1);
      assert.equal(back.counts.enrollments.restored, 0);
      const again = (await enrollmentByExt(env.ds, rootId, ext('e-s2-math-1')))!;
      assert.notEqual(again.id, e.id);
      assert.equal(again.status, 'active');
      assert.equal(again.userId, s2.id);
    });
  });

  describe(`delta files [${kind}]`, () => {
    const env = useDatabase(kind);
    const ALL = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'] as const;

    /** A delta upload: every file delta, holding only the given rows. */
    function delta(roster: Roster, keep: Partial<Record<(typeof ALL)[number], string[]>>): Roster {
      const d = roster.clone();
      for (const f of ALL) d.delta(f, keep[f] ?? []);
      return d;
    }

    async function seed(): Promise<{ rootId: number; roster: Roster }> {
      // delta never unshares: the strictest settings prove it
      const root = await newRoot(env.ds, { unsharedUsers: 'delete', unsharedCourses: 'delete', unsharedEnrollments: 'delete', safetyThresholdPercent: 100 });
      const roster = standardRoster(STUDENTS);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      return { rootId: root.id, roster };
    }

    test('tobedeleted removes (users soft, enrollments hard, sections deleted); absent records stay', async () => {
      const { rootId, roster } = await seed();
      const s4 = await mustUser(env.ds, rootId, 's4');
      const eng = await mustCourse(env.ds, rootId, ext('eng-1'));
      const others = (await usersUnder(env.ds, rootId)).filter((u) => u.id !== s4.id);
      const enrBefore = await enrollmentsUnder(env.ds, rootId);
      const d = delta(roster, { users: ['s4'], enrollments: ['e-s4-math-1'], classes: ['eng-1'] })
        .tobedeleted('users', 's4').tobedeleted('enrollments', 'e-s4-math-1').tobedeleted('classes', 'eng-1');
      const r = await env.sync(rootId, d);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.equal((await reload(env.ds, s4)).status, 'deleted', 'the user row stays, marked deleted');
      assert.equal(await enrollmentByExt(env.ds, rootId, ext('e-s4-math-1')), null);
      assert.equal((await reload(env.ds, eng)).status, 'deleted');
      for (const u of others) assert.deepEqual(await reload(env.ds, u), u, `${u.externalId} not in the delta: unchanged`);
      const enrAfter = await enrollmentsUnder(env.ds, rootId);
      assert.deepEqual(enrAfter.map((e) => e.id), enrBefore.filter((e) => e.externalId !== ext('e-s4-math-1')).map((e) => e.id));
      assert.equal(r.counts.users.removed, 1);
      assert.equal(r.counts.enrollments.removed, 1);
      assert.equal(r.counts.courses.removed, 1);
    });

    /** The academic sessions kept for the domain: sourcedId → title and dates. */
    async function keptSessions(rootId: number): Promise<Record<string, string>> {
      const rows = await env.ds.getRepository(AcademicSession).find({ where: { domainId: rootId }, order: { externalId: 'ASC' } });
      return Object.fromEntries(rows.map((r) => [r.externalId, `${r.title} ${r.startDate}..${r.endDate} ${r.schoolYear}`]));
    }

    test('a delta class may name a term an earlier file sent; once a delta deletes the term, it may not', async () => {
      const { rootId, roster } = await seed();
      assert.deepEqual(await keptSessions(rootId), {
        'or-fall': 'Fall 2024 2024-08-15..2024-12-20 2025', 'or-spring': 'Spring 2025 2025-01-06..2025-06-06 2025',
        'or-sy': '2024-2025 2024-08-01..2025-06-30 2025',
      });
      const before = await mustCourse(env.ds, rootId, ext('math-1'));
      const renamed = delta(roster, { classes: ['math-1'] }).set('classes', 'math-1', { title: 'Math 1A renamed' });
      const r = await env.sync(rootId, renamed);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      const after = await mustCourse(env.ds, rootId, ext('math-1'));
      assert.equal(after.title, 'Math 1A renamed');
      assert.deepEqual([after.term, after.startAt, after.endAt], [before.term, before.startAt, before.endAt], 'the term and its dates as before');
      assert.deepEqual([r.counts.courses.updated, r.counts.courses.created, r.counts.courses.removed], [1, 0, 0]);

      const gone = await env.sync(rootId, delta(roster, { academicSessions: ['fall'] }).tobedeleted('academicSessions', 'fall'));
      assert.equal(gone.status, 'succeeded', gone.issues.map(brief).join('\n'));
      assert.deepEqual(Object.keys(await keptSessions(rootId)), ['or-spring', 'or-sy']);
      const orphan = delta(roster, { classes: ['eng-1'] }).set('classes', 'eng-1', { title: 'English renamed' });
      const refused = await env.sync(rootId, orphan);
      assert.equal(refused.status, 'completed_with_errors');
      assert.deepEqual(errorsOf(refused), [`error ref.unknown classes.csv:${orphan.lineOf('classes', 'eng-1')} termSourcedIds eng-1`]);
      assert.match(refused.issues.find((i) => i.code === 'ref.unknown')!.message, /"fall" is not in academicSessions\.csv nor sent by an earlier file/);
      assert.equal((await mustCourse(env.ds, rootId, ext('eng-1'))).title, 'English 1A', 'the rejected class changed nothing');
    });

    test('a bulk file replaces the kept sessions, except one it lists but rejects', async () => {
      const { rootId, roster } = await seed();
      const withSummer = roster.clone().session('summer', { title: 'Summer 2025', startDate: '2025-06-15', endDate: '2025-08-01' });
      assert.equal((await env.sync(rootId, withSummer)).status, 'succeeded');
      assert.deepEqual(Object.keys(await keptSessions(rootId)), ['or-fall', 'or-spring', 'or-summer', 'or-sy']);
      if (kind === 'postgres') {
        // the same file again rewrites no session (a row's xmin is the transaction that last wrote it)
        const versions = async (): Promise<unknown> => env.ds.query('SELECT external_id, xmin::text AS v FROM academic_session WHERE domain_id = $1 ORDER BY 1', [rootId]);
        const before = await versions();
        assert.equal((await env.sync(rootId, withSummer)).status, 'succeeded');
        assert.deepEqual(await versions(), before);
      }
      // summer left out; spring sent with a bad date: rejected, its kept copy stays as it was
      const next = roster.clone().set('academicSessions', 'spring', { title: 'Spring renamed', endDate: 'soon' });
      const r = await env.sync(rootId, next);
      assert.ok(r.issues.some((i) => i.file === 'academicSessions.csv' && i.sourcedId === 'spring' && i.severity === 'error'), r.issues.map(brief).join('\n'));
      assert.deepEqual(await keptSessions(rootId), {
        'or-fall': 'Fall 2024 2024-08-15..2024-12-20 2025', 'or-spring': 'Spring 2025 2025-01-06..2025-06-06 2025',
        'or-sy': '2024-2025 2024-08-01..2025-06-30 2025',
      });
    });

    /** What the domain's sections and base courses look like: external ID → title and base's external ID. */
    async function hierarchyOf(rootId: number): Promise<Record<string, string>> {
      const courses = await coursesUnder(env.ds, rootId);
      const extOf = new Map(courses.map((c) => [c.id, c.externalId]));
      return Object.fromEntries(courses.filter((c) => c.status === 'active')
        .map((c) => [c.externalId!, `${c.title} <- ${c.baseCourseId === null ? '-' : extOf.get(c.baseCourseId)}`]));
    }

    test('a delta file is applied onto what earlier files sent: base courses follow the kept courses, classes and primary teachers', async () => {
      const root = await newRoot(env.ds, { orgBaseCourses: true, teacherBaseCourses: true, termBaseCourses: true, safetyThresholdPercent: 100 });
      const roster = standardRoster(2);
      const first = await env.sync(root.id, roster);
      assert.equal(first.status, 'succeeded', first.issues.map(brief).join('\n'));
      const math1Base = 'or-base:teacher:math:t1:sch1:term:fall';
      const before = await hierarchyOf(root.id);
      assert.equal(before['or-math-1'], `Math 1A <- ${math1Base}`);

      // a class sent alone keeps its course (not in this file) and primary teacher (not in this file either)
      const renamed = await env.sync(root.id, delta(roster, { classes: ['math-1'] }).set('classes', 'math-1', { title: 'Math 1A renamed' }));
      assert.equal(renamed.status, 'succeeded');
      assert.deepEqual(renamed.issues.map(brief), [], 'the class names a course an earlier file sent: no warning');
      assert.deepEqual(await hierarchyOf(root.id), { ...before, 'or-math-1': `Math 1A renamed <- ${math1Base}` });
      assert.deepEqual([renamed.counts.courses.updated, renamed.counts.courses.created], [1, 0]);

      // a course sent alone renames every base course derived from it; no class is in the file
      const course = await env.sync(root.id, delta(roster, { courses: ['math'] }).set('courses', 'math', { title: 'Maths' }));
      assert.equal(course.status, 'succeeded', course.issues.map(brief).join('\n'));
      const renamedBases = Object.entries(await hierarchyOf(root.id)).filter(([, v]) => v.startsWith('Maths (M1)')).map(([k]) => k).sort();
      assert.deepEqual(renamedBases, ['or-base:teacher:math:t1:sch1', `${math1Base}`, 'or-base:teacher:math:t2:sch2', 'or-base:teacher:math:t2:sch2:term:spring']);
      assert.equal(course.counts.courses.updated, 4);

      // so does a primary teacher renamed alone, in every class they teach
      const teacher = await env.sync(root.id, delta(roster, { users: ['t1'] }).set('users', 't1', { givenName: 'Tia' }));
      assert.equal(teacher.status, 'succeeded', teacher.issues.map(brief).join('\n'));
      const t1Bases = Object.values(await hierarchyOf(root.id)).filter((v) => v.includes('Tia Teach')).sort();
      assert.deepEqual(t1Bases.map((v) => v.split(' <- ')[0]), [
        'English (E1) – Tia Teach', 'English (E1) – Tia Teach – Fall 2024 (2025)', 'Maths (M1) – Tia Teach', 'Maths (M1) – Tia Teach – Fall 2024 (2025)',
      ]);

      // and a term renamed alone, in the term base courses and sections of the classes it is the first term of
      const term = await env.sync(root.id, delta(roster, { academicSessions: ['fall'] }).set('academicSessions', 'fall', { title: 'Autumn 2024' }));
      assert.equal(term.status, 'succeeded', term.issues.map(brief).join('\n'));
      const autumn = await hierarchyOf(root.id);
      assert.equal(autumn[math1Base], `Maths (M1) – Tia Teach – Autumn 2024 (2025) <- or-base:teacher:math:t1:sch1`);
      assert.equal((await mustCourse(env.ds, root.id, ext('eng-1'))).term, 'Autumn 2024');
      assert.equal((await mustCourse(env.ds, root.id, ext('math-2'))).term, 'Spring 2025', 'a class of another term keeps its term');
      // only the classes of that term were derived again: their sections and term base courses changed, their teacher base courses did not
      assert.deepEqual([term.counts.courses.updated, term.counts.courses.unchanged], [4, 2]);

      // the primary teacher's enrollment deleted: the section falls back to its school's base course;
      // another primary teacher added: the section derives from their new base courses
      const gone = await env.sync(root.id, delta(roster, { enrollments: ['e-t1-math-1'] }).tobedeleted('enrollments', 'e-t1-math-1'));
      assert.equal(gone.status, 'succeeded', gone.issues.map(brief).join('\n'));
      assert.equal((await hierarchyOf(root.id))['or-math-1'], 'Math 1A renamed <- or-base:org:sch1');
      const added = delta(roster, { users: [], enrollments: [] })
        .user('t3', 'sch1', { role: 'teacher', username: 'teacher.three', givenName: 'Tess', familyName: 'Third' })
        .enrollment('e-t3-math-1', 'math-1', 't3', 'sch1', { role: 'teacher', primary: 'true' });
      const r = await env.sync(root.id, added);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      const after = await hierarchyOf(root.id);
      assert.equal(after['or-math-1'], 'Math 1A renamed <- or-base:teacher:math:t3:sch1:term:fall');
      assert.equal(after['or-base:teacher:math:t3:sch1:term:fall'], 'Maths (M1) – Tess Third – Autumn 2024 (2025) <- or-base:teacher:math:t3:sch1');
      assert.equal(r.counts.courses.created, 2);
      const t3 = await mustUser(env.ds, root.id, 't3');
      const baseEnrollment = (await enrollmentsUnder(env.ds, root.id)).find((e) => e.externalId === 'or-base:teacher:math:t3:sch1:term:fall#t3');
      assert.equal(baseEnrollment?.userId, t3.id, 'the new primary teacher is enrolled in their base course');
      assert.equal(after['or-base:teacher:math:t1:sch1'], before['or-base:teacher:math:t1:sch1'].replace('Mathematics', 'Maths').replace('Tina', 'Tia'),
        'a delta never removes: the former teacher\'s base course stays');
    });

    test('a bulk file replaces the kept courses and classes; a delta class may then no longer name a course left out', async () => {
      const root = await newRoot(env.ds, { teacherBaseCourses: true, safetyThresholdPercent: 100 });
      const roster = standardRoster(2);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      const kept = async (entity: typeof OneRosterCourse | typeof OneRosterClass): Promise<string[]> =>
        (await env.ds.getRepository(entity).find({ where: { domainId: root.id }, order: { externalId: 'ASC' } })).map((x) => x.externalId);
      assert.deepEqual(await kept(OneRosterCourse), ['or-eng', 'or-math']);
      assert.deepEqual(await kept(OneRosterClass), ['or-eng-1', 'or-math-1', 'or-math-2']);

      const withoutEng = roster.clone().remove('courses', 'eng').dropClass('math-2');
      const bulk = await env.sync(root.id, withoutEng);
      assert.equal(bulk.status, 'succeeded', bulk.issues.map(brief).join('\n'));
      assert.deepEqual(await kept(OneRosterCourse), ['or-math']);
      assert.deepEqual(await kept(OneRosterClass), ['or-eng-1', 'or-math-1']);

      const d = delta(roster, { classes: ['eng-1'] }).set('classes', 'eng-1', { title: 'English renamed' });
      const r = await env.sync(root.id, d);
      assert.equal(r.status, 'succeeded');
      assert.deepEqual(r.issues.map(brief), [`warning ref.course_unknown classes.csv:${d.lineOf('classes', 'eng-1')} courseSourcedId eng-1`]);
      assert.match(r.issues[0].message, /"eng" is not in courses\.csv nor sent by an earlier file: the section is created without teacher or term base courses/);
      assert.equal((await mustCourse(env.ds, root.id, ext('eng-1'))).baseCourseId, null);
    });

    test('a delta enrollment may reference a user and a class that are only in the LMS', async () => {
      const { rootId, roster } = await seed();
      const d = delta(roster, {})
        .enrollment('e-s2-eng-1', 'eng-1', 's2', 'sch1')
        .enrollment('e-ghost', 'eng-1', 'ghost', 'sch1');
      const r = await env.sync(rootId, d);
      assert.equal(r.status, 'completed_with_errors');
      assert.deepEqual(errorsOf(r), [`error ref.unknown enrollments.csv:${d.lineOf('enrollments', 'e-ghost')} userSourcedId e-ghost`]);
      assert.match(r.issues.find((i) => i.code === 'ref.unknown')!.message, /LMS/);
      const e = await enrollmentByExt(env.ds, rootId, ext('e-s2-eng-1'));
      assert.ok(e);
      assert.equal(e.userId, (await mustUser(env.ds, rootId, 's2')).id);
      assert.equal(e.courseId, (await mustCourse(env.ds, rootId, ext('eng-1'))).id);
      assert.equal(r.counts.enrollments.created, 1);
    });

    test('active delta rows update and create; tobedeleted for a record never had is ignored', async () => {
      const { rootId, roster } = await seed();
      const d = delta(roster, { users: ['s1'] })
        .set('users', 's1', { givenName: 'Renamed' })
        .user('s99', 'sch1', { username: 'student.99' })
        .user('never-had', 'sch1', { username: 'never.had' })
        .tobedeleted('users', 'never-had')
        .org('never-org', { parentSourcedId: 'dist' })
        .tobedeleted('orgs', 'never-org');
      const r = await env.sync(rootId, d);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.equal((await mustUser(env.ds, rootId, 's1')).givenName, 'Renamed');
      assert.ok(await userByExt(env.ds, rootId, 's99'));
      assert.equal(await userByExt(env.ds, rootId, 'never-had'), null);
      assert.deepEqual((await domainsUnder(env.ds, rootId)).map((x) => x.externalId).sort(), ['dist', 'sch1', 'sch2'].map(ext).sort(),
        'no domain for an org the LMS never had that is marked tobedeleted');
      assert.equal(r.counts.users.created, 1);
      assert.equal(r.counts.users.updated, 1);
      assert.equal(r.counts.users.removed, 0);
    });

    test('a user deleted by a delta and sent again as active is restored with the same id', async () => {
      const { rootId, roster } = await seed();
      const s4 = await mustUser(env.ds, rootId, 's4');
      await env.sync(rootId, delta(roster, { users: ['s4'] }).tobedeleted('users', 's4'));
      assert.equal((await reload(env.ds, s4)).status, 'deleted');
      const r = await env.sync(rootId, delta(roster, { users: ['s4'] }));
      assert.equal(r.status, 'succeeded');
      assert.equal(r.counts.users.restored, 1);
      const back = await mustUser(env.ds, rootId, 's4');
      assert.equal(back.id, s4.id);
      assert.equal(back.status, 'active');
    });
  });
}
