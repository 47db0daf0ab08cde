/**
 * The base-course hierarchy (product-rules.md "Base-course hierarchy"), per settings: org base
 * courses per org, each derived from its parent org's; a teacher base course per primary teacher
 * and course (from the school's org base); a term base course per teacher, course and term (from
 * the teacher base); each section derived from the nearest base that exists. Teacher and term base
 * courses get their primary teacher (teacher role), org base courses nobody. A class whose course
 * is not in courses.csv gets no teacher or term base. A hand-made course that takes over a base
 * course's external ID becomes the base of its derivatives on the next sync.
 *
 * Base courses are found by kind, domain, owner and term (not by the engine's external-ID format).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/db';
import {
  brief, coursesUnder, domainByExt, enrollmentsUnder, ext, handMadeCourse, mustCourse, mustUser, newRoot, useDatabase, type SyncEnv,
} from '../helpers/lms';
import { standardRoster, type Roster } from '../helpers/roster';
import { Course } from '../../src/db/entities';
import type { SyncSettings } from '../../src/sync/settings';

type Flags = Pick<SyncSettings, 'orgBaseCourses' | 'teacherBaseCourses' | 'termBaseCourses'>;

const flags = (org: boolean, teacher: boolean, term: boolean): Flags =>
  ({ orgBaseCourses: org, teacherBaseCourses: teacher, termBaseCourses: term });

interface World {
  rootId: number;
  courses: Course[];
  byId: Map<number, Course>;
  domain: Record<'dist' | 'sch1' | 'sch2', number>;
  user: Record<string, number>;
}

async function build(env: SyncEnv, f: Flags, roster: Roster = standardRoster(2), extra: Partial<SyncSettings> = {}): Promise<World> {
  const root = await newRoot(env.ds, { ...f, teacherRole: 'Instructor', ...extra });
  const result = await env.sync(root.id, roster);
  assert.equal(result.status, 'succeeded', result.issues.map(brief).join('\n'));
  return world(env, root.id, roster);
}

async function world(env: SyncEnv, rootId: number, roster: Roster): Promise<World> {
  const courses = await coursesUnder(env.ds, rootId);
  const domain = {
    dist: (await domainByExt(env.ds, rootId, 'dist')).id,
    sch1: (await domainByExt(env.ds, rootId, 'sch1')).id,
    sch2: (await domainByExt(env.ds, rootId, 'sch2')).id,
  };
  const user: Record<string, number> = {};
  for (const sid of roster.sids('users')) user[sid] = (await mustUser(env.ds, rootId, sid)).id;
  return { rootId, courses, byId: new Map(courses.map((c) => [c.id, c])), domain, user };
}

const ofKind = (w: World, kind: Course['kind']) => w.courses.filter((c) => c.kind === kind);
const section = (w: World, sid: string) => {
  const c = w.courses.find((x) => x.externalId === ext(sid));
  assert.ok(c, `section ${sid}`);
  return c;
};
const orgBase = (w: World, org: keyof World['domain']) => {
  const found = ofKind(w, 'org_base').filter((c) => c.domainId === w.domain[org]);
  assert.equal(found.length, 1, `one org base course in ${org}'s domain`);
  return found[0];
};
/** the teacher base of a teacher for a course, told apart by the course code in its title */
const teacherBase = (w: World, teacher: string, code: string) => {
  const found = ofKind(w, 'teacher_base').filter((c) => c.ownerUserId === w.user[teacher] && c.title.includes(code));
  assert.equal(found.length, 1, `one teacher base of ${teacher} for ${code}: ${ofKind(w, 'teacher_base').map((c) => c.title).join('; ')}`);
  return found[0];
};
const termBase = (w: World, teacher: string, code: string, term: string) => {
  const found = ofKind(w, 'term_base').filter((c) => c.ownerUserId === w.user[teacher] && c.title.includes(code) && c.term === term);
  assert.equal(found.length, 1, `one term base of ${teacher} for ${code} in ${term}: ${ofKind(w, 'term_base').map((c) => c.title).join('; ')}`);
  return found[0];
};

for (const kind of databaseKinds()) {
  describe(`base-course hierarchy [${kind}]`, () => {
    const env = useDatabase(kind);

    /** Who is enrolled in a course, as [user sid, role, status]. */
    async function members(w: World, course: Course): Promise<Array<[string, string, string]>> {
      const sidOf = new Map(Object.entries(w.user).map(([sid, id]) => [id, sid]));
      return (await enrollmentsUnder(env.ds, w.rootId)).filter((e) => e.courseId === course.id)
        .map((e) => [sidOf.get(e.userId) ?? `#${e.userId}`, e.role, e.status] as [string, string, string]).sort();
    }

    test('no base courses unless asked: sections stand alone', async () => {
      const w = await build(env, flags(false, false, false));
      assert.deepEqual(w.courses.map((c) => c.kind), ['section', 'section', 'section']);
      assert.ok(w.courses.every((c) => c.baseCourseId === null));
    });

    test('org base courses: one per org in its domain, each from its parent org\'s; sections from their school\'s; nobody enrolled', async () => {
      const w = await build(env, flags(true, false, false));
      assert.equal(ofKind(w, 'org_base').length, 3);
      assert.equal(orgBase(w, 'dist').baseCourseId, null);
      assert.equal(orgBase(w, 'sch1').baseCourseId, orgBase(w, 'dist').id);
      assert.equal(orgBase(w, 'sch2').baseCourseId, orgBase(w, 'dist').id);
      assert.equal(section(w, 'math-1').baseCourseId, orgBase(w, 'sch1').id);
      assert.equal(section(w, 'eng-1').baseCourseId, orgBase(w, 'sch1').id);
      assert.equal(section(w, 'math-2').baseCourseId, orgBase(w, 'sch2').id);
      for (const org of ['dist', 'sch1', 'sch2'] as const) assert.deepEqual(await members(w, orgBase(w, org)), [], org);
      assert.equal(ofKind(w, 'teacher_base').length + ofKind(w, 'term_base').length, 0);
    });

    test('teacher base courses: per primary teacher and course, in the school\'s domain, the teacher enrolled with the teacher role', async () => {
      const roster = standardRoster(2)
        .klass('math-1b', 'math', 'sch1', 'spring', { title: 'Math 1B' })
        .enrollment('e-t1-math-1b', 'math-1b', 't1', 'sch1', { role: 'teacher', primary: 'true' })
        .user('t3', 'sch1', { role: 'teacher' })
        .enrollment('e-t3-math-1', 'math-1', 't3', 'sch1', { role: 'teacher', primary: 'false' });
      const w = await build(env, flags(false, true, false), roster);
      assert.equal(ofKind(w, 'teacher_base').length, 3, 'math/t1, eng/t1, math/t2: math-1 and math-1b share one; t3 is not primary');
      const mathT1 = teacherBase(w, 't1', 'M1');
      assert.equal(mathT1.domainId, w.domain.sch1);
      assert.ok(mathT1.title.includes('Mathematics'), mathT1.title);
      assert.equal(mathT1.baseCourseId, null, 'no org base asked for');
      assert.equal(teacherBase(w, 't1', 'E1').domainId, w.domain.sch1);
      assert.equal(teacherBase(w, 't2', 'M1').domainId, w.domain.sch2);
      assert.equal(section(w, 'math-1').baseCourseId, mathT1.id);
      assert.equal(section(w, 'math-1b').baseCourseId, mathT1.id);
      assert.equal(section(w, 'eng-1').baseCourseId, teacherBase(w, 't1', 'E1').id);
      assert.equal(section(w, 'math-2').baseCourseId, teacherBase(w, 't2', 'M1').id);
      assert.deepEqual(await members(w, mathT1), [['t1', 'Instructor', 'active']]);
      assert.deepEqual(await members(w, teacherBase(w, 't2', 'M1')), [['t2', 'Instructor', 'active']]);
      assert.deepEqual((await members(w, section(w, 'math-1'))).filter(([sid]) => sid.startsWith('t')),
        [['t1', 'Instructor', 'active'], ['t3', 'Instructor', 'active']], 'teachers are in the section too');
    });

    test('teacher and term base courses carry courses.csv: title in the title, courseCode in the title and the metadata', async () => {
      const roster = standardRoster(1).set('courses', 'math', { grades: '09,10', subjects: 'Mathematics', subjectCodes: '02052' });
      const w = await build(env, flags(false, true, true), roster);
      for (const c of [teacherBase(w, 't1', 'M1'), termBase(w, 't1', 'M1', 'Fall 2024')]) {
        assert.ok(c.title.includes('Mathematics') && c.title.includes('M1'), c.title);
        const meta = JSON.parse(c.metadata ?? '{}') as Record<string, unknown>;
        assert.equal(meta.courseCode, 'M1', `${c.kind} metadata: ${c.metadata}`);
        assert.deepEqual(meta.grades, ['09', '10'], `${c.kind} metadata: ${c.metadata}`);
      }
    });

    test('term base courses: per teacher, course and first term, from the teacher base; sections from the term base', async () => {
      const roster = standardRoster(2)
        .klass('math-1b', 'math', 'sch1', 'spring', { title: 'Math 1B' })
        .enrollment('e-t1-math-1b', 'math-1b', 't1', 'sch1', { role: 'teacher', primary: 'true' });
      const w = await build(env, flags(false, true, true), roster);
      assert.equal(ofKind(w, 'term_base').length, 4);
      const fall = termBase(w, 't1', 'M1', 'Fall 2024');
      const spring = termBase(w, 't1', 'M1', 'Spring 2025');
      assert.equal(fall.baseCourseId, teacherBase(w, 't1', 'M1').id);
      assert.equal(spring.baseCourseId, teacherBase(w, 't1', 'M1').id);
      assert.equal(fall.domainId, w.domain.sch1);
      assert.ok(fall.title.includes('Fall 2024'), fall.title);
      assert.equal(fall.startAt?.toISOString(), '2024-08-15T00:00:00.000Z');
      assert.equal(section(w, 'math-1').baseCourseId, fall.id, 'math-1 lists fall first');
      assert.equal(section(w, 'math-1b').baseCourseId, spring.id);
      assert.equal(section(w, 'eng-1').baseCourseId, termBase(w, 't1', 'E1', 'Fall 2024').id);
      assert.equal(section(w, 'math-2').baseCourseId, termBase(w, 't2', 'M1', 'Spring 2025').id);
      assert.deepEqual(await members(w, fall), [['t1', 'Instructor', 'active']]);
      assert.deepEqual(await members(w, teacherBase(w, 't1', 'M1')), [['t1', 'Instructor', 'active']]);
    });

    test('every level: section → term → teacher → school org → district org', async () => {
      const w = await build(env, flags(true, true, true));
      const chain: string[] = [];
      for (let c: Course | undefined = section(w, 'math-1'); c; c = c.baseCourseId === null ? undefined : w.byId.get(c.baseCourseId)) {
        chain.push(`${c.kind}@${Object.entries(w.domain).find(([, id]) => id === c!.domainId)?.[0]}`);
      }
      assert.deepEqual(chain, ['section@sch1', 'term_base@sch1', 'teacher_base@sch1', 'org_base@sch1', 'org_base@dist']);
      assert.equal(teacherBase(w, 't2', 'M1').baseCourseId, orgBase(w, 'sch2').id);
      assert.equal(ofKind(w, 'org_base').length, 3);
      assert.equal(ofKind(w, 'teacher_base').length, 3);
      assert.equal(ofKind(w, 'term_base').length, 3);
    });

    test('term base without teacher base: from the school\'s org base, or none', async () => {
      const withOrg = await build(env, flags(true, false, true));
      const fall = termBase(withOrg, 't1', 'M1', 'Fall 2024');
      assert.equal(fall.baseCourseId, orgBase(withOrg, 'sch1').id);
      assert.equal(section(withOrg, 'math-1').baseCourseId, fall.id);
      assert.equal(ofKind(withOrg, 'teacher_base').length, 0);

      const alone = await build(env, flags(false, false, true));
      assert.equal(termBase(alone, 't1', 'M1', 'Fall 2024').baseCourseId, null);
      assert.equal(section(alone, 'math-1').baseCourseId, termBase(alone, 't1', 'M1', 'Fall 2024').id);

      const teacherAndOrg = await build(env, flags(true, true, false));
      assert.equal(teacherBase(teacherAndOrg, 't1', 'M1').baseCourseId, orgBase(teacherAndOrg, 'sch1').id);
      assert.equal(section(teacherAndOrg, 'math-1').baseCourseId, teacherBase(teacherAndOrg, 't1', 'M1').id);
    });

    test('primary teachers decide the teacher bases: none without one, one each for two, a new one when the primary changes', async () => {
      const roster = standardRoster(1)
        .set('enrollments', 'e-t1-eng-1', { primary: 'false' })
        .user('t3', 'sch1', { role: 'teacher', username: 'teacher.three' })
        .enrollment('e-t3-math-1', 'math-1', 't3', 'sch1', { role: 'teacher', primary: 'true' });
      const w = await build(env, flags(true, true, false), roster);
      assert.equal(section(w, 'eng-1').baseCourseId, orgBase(w, 'sch1').id, 'no primary teacher: the nearest base is the school\'s');
      assert.equal(ofKind(w, 'teacher_base').filter((c) => c.title.includes('E1')).length, 0);
      const t1 = teacherBase(w, 't1', 'M1');
      const t3 = teacherBase(w, 't3', 'M1');
      assert.deepEqual(await members(w, t3), [['t3', 'Instructor', 'active']]);
      assert.ok([t1.id, t3.id].includes(section(w, 'math-1').baseCourseId!), 'math-1 derives from a primary teacher\'s base');

      roster.set('enrollments', 'e-t1-math-1', { primary: 'false' }).set('enrollments', 'e-t3-math-1', { primary: 'true' });
      const r = await env.sync(w.rootId, roster);
      assert.equal(r.status, 'succeeded');
      assert.equal((await mustCourse(env.ds, w.rootId, ext('math-1'))).baseCourseId, t3.id);
      roster.set('enrollments', 'e-t2-math-2', { primary: 'false' }).enrollment('e-t3-math-2', 'math-2', 't3', 'sch2', { role: 'teacher', primary: 'true' });
      const r2 = await env.sync(w.rootId, roster);
      assert.equal(r2.status, 'succeeded', r2.issues.map(brief).join('\n'));
      const after = await world(env, w.rootId, roster);
      const t3sch2 = ofKind(after, 'teacher_base').filter((c) => c.ownerUserId === after.user.t3 && c.domainId === after.domain.sch2);
      assert.equal(t3sch2.length, 1, 'a teacher base per school too');
      assert.equal(section(after, 'math-2').baseCourseId, t3sch2[0].id);
    });

    test('a class whose course is not in courses.csv gets no teacher or term base (ref.course_unknown)', async () => {
      const roster = standardRoster(2).set('classes', 'eng-1', { courseSourcedId: 'not-in-file' });
      const root = await newRoot(env.ds, flags(true, true, true));
      const result = await env.sync(root.id, roster);
      assert.equal(result.status, 'succeeded', 'a warning, not an error');
      assert.deepEqual(result.issues.map(brief), [`warning ref.course_unknown classes.csv:${roster.lineOf('classes', 'eng-1')} courseSourcedId eng-1`]);
      const w = await world(env, root.id, roster);
      assert.equal(ofKind(w, 'teacher_base').filter((c) => c.title.includes('E1')).length, 0);
      assert.equal(ofKind(w, 'term_base').filter((c) => c.title.includes('E1')).length, 0);
      assert.equal(section(w, 'eng-1').baseCourseId, orgBase(w, 'sch1').id, 'the nearest base that exists');
      assert.deepEqual((await members(w, section(w, 'eng-1'))).map(([sid]) => sid), ['s1', 't1']);

      const teacherOnly = await build(env, flags(false, true, false), roster.clone());
      assert.equal(section(teacherOnly, 'eng-1').baseCourseId, null);
    });

    test('a hand-made course given a base course\'s external ID becomes the base of its derivatives', async () => {
      const roster = standardRoster(2);
      const w = await build(env, flags(false, true, true), roster);
      const managed = teacherBase(w, 't1', 'M1');
      const repo = env.ds.getRepository(Course);
      const replacement = await handMadeCourse(env.ds, w.domain.sch1, { kind: 'teacher_base', title: 'Curated maths master' });
      await repo.update({ id: managed.id }, { externalId: null });
      await repo.update({ id: replacement.id }, { externalId: managed.externalId });
      const oldOne = await repo.findOneByOrFail({ id: managed.id });

      const result = await env.sync(w.rootId, roster);
      assert.equal(result.status, 'succeeded');
      assert.equal(result.counts.courses.created, 0, 'no new teacher base: the hand-made one took its place');
      const after = await world(env, w.rootId, roster);
      assert.equal(termBase(after, 't1', 'M1', 'Fall 2024').baseCourseId, replacement.id);
      assert.deepEqual(await repo.findOneByOrFail({ id: managed.id }), oldOne, 'the former base, now unmanaged, is left alone');
      assert.equal(after.byId.get(replacement.id)?.status, 'active');

      // the same one level down: a section re-pointed to a hand-made replacement of its term base
      const term = termBase(after, 't1', 'E1', 'Fall 2024');
      const termReplacement = await handMadeCourse(env.ds, w.domain.sch1, { kind: 'term_base' });
      await repo.update({ id: term.id }, { externalId: 'replaced-by-hand' });
      await repo.update({ id: termReplacement.id }, { externalId: term.externalId });
      assert.equal((await env.sync(w.rootId, roster)).status, 'succeeded');
      assert.equal((await mustCourse(env.ds, w.rootId, ext('eng-1'))).baseCourseId, termReplacement.id);
    });
  });
}
