/** The base-course hierarchy rules as pure functions (product-rules.md, "Base-course hierarchy"). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseCourseEnrollment, deriveClassCourses, deriveOrgCourses, type ClassContext, type HierarchySettings } from '../../src/sync/hierarchy';

const ALL: HierarchySettings = { orgBaseCourses: true, teacherBaseCourses: true, termBaseCourses: true };
const NONE: HierarchySettings = { orgBaseCourses: false, teacherBaseCourses: false, termBaseCourses: false };

function klass(over: Partial<ClassContext> = {}): ClassContext {
  return {
    sid: 'c1', title: 'Algebra I - P1', schoolSid: 'sch', domainId: 7, metadata: '{"classCode":"ALG"}',
    course: { sid: 'alg', title: 'Algebra I', code: 'ALG-1', metadata: '{"courseCode":"ALG-1"}' },
    firstTerm: { sid: 'fall', title: 'Fall', schoolYear: '2025', startAt: new Date('2024-08-15T05:00:00Z'), endAt: new Date('2024-12-21T05:59:59.999Z') },
    primaryTeachers: [{ sid: 't1', givenName: 'Ada', familyName: 'Lovelace' }, { sid: 't2', givenName: 'Alan', familyName: 'Turing' }],
    ...over,
  };
}

const byKind = (courses: ReturnType<typeof deriveClassCourses>, kind: string) => courses.filter((c) => c.kind === kind);

describe('deriveClassCourses', () => {
  test('with every setting on, the section derives from its first primary teacher\'s term base, which derives from the teacher base, which derives from the school\'s org base', () => {
    const out = deriveClassCourses(klass(), ALL);
    const [section] = byKind(out, 'section');
    const terms = byKind(out, 'term_base');
    const teachers = byKind(out, 'teacher_base');
    assert.equal(teachers.length, 2, 'one teacher base per primary teacher');
    assert.equal(terms.length, 2, 'one term base per primary teacher and term');
    const t1Term = terms.find((c) => c.ownerSid === 't1')!;
    const t1Base = teachers.find((c) => c.ownerSid === 't1')!;
    assert.equal(section.baseExt, t1Term.ext);
    assert.equal(t1Term.baseExt, t1Base.ext);
    assert.equal(t1Base.baseExt, 'or-base:org:sch');
    assert.equal(section.ext, 'or-c1');
    assert.equal(section.domainId, 7);
  });

  test('titles carry course title, code, teacher and term with its school year; the section keeps the first term and its dates', () => {
    const out = deriveClassCourses(klass(), ALL);
    assert.equal(byKind(out, 'teacher_base')[0].title, 'Algebra I (ALG-1) – Ada Lovelace');
    assert.equal(byKind(out, 'term_base')[0].title, 'Algebra I (ALG-1) – Ada Lovelace – Fall (2025)');
    const titled = deriveClassCourses(klass({ firstTerm: { ...klass().firstTerm!, title: '2024-2025 Fall' } }), ALL);
    assert.equal(byKind(titled, 'term_base')[0].title, 'Algebra I (ALG-1) – Ada Lovelace – 2024-2025 Fall', 'no year twice');
    const [section] = byKind(out, 'section');
    assert.equal(section.term, 'Fall');
    assert.equal(section.startAt?.toISOString(), '2024-08-15T05:00:00.000Z');
    assert.equal(section.metadata, '{"classCode":"ALG"}');
  });

  test('the nearest existing base: without term bases the teacher base, without both the org base, without any none', () => {
    const teacherOnly = deriveClassCourses(klass(), { ...NONE, teacherBaseCourses: true });
    assert.match(byKind(teacherOnly, 'section')[0].baseExt!, /^or-base:teacher:alg:t1:sch$/);
    assert.equal(byKind(teacherOnly, 'teacher_base')[0].baseExt, null, 'no org base asked for');
    const termOnly = deriveClassCourses(klass(), { ...NONE, termBaseCourses: true });
    assert.equal(byKind(termOnly, 'term_base')[0].baseExt, null, 'a term base without teacher or org base derives from nothing');
    assert.equal(byKind(deriveClassCourses(klass(), { ...NONE, orgBaseCourses: true }), 'section')[0].baseExt, 'or-base:org:sch');
    assert.deepEqual(deriveClassCourses(klass(), NONE).map((c) => [c.kind, c.baseExt]), [['section', null]]);
  });

  test('a class whose course is not in courses.csv, or that has no primary teacher, gets no teacher or term base', () => {
    for (const c of [klass({ course: null }), klass({ primaryTeachers: [] })]) {
      const out = deriveClassCourses(c, ALL);
      assert.deepEqual(out.map((x) => x.kind), ['section']);
      assert.equal(out[0].baseExt, 'or-base:org:sch');
    }
  });

  test('without a first term there is no term base; the section derives from the teacher base', () => {
    const out = deriveClassCourses(klass({ firstTerm: null }), ALL);
    assert.equal(byKind(out, 'term_base').length, 0);
    assert.equal(byKind(out, 'section')[0].baseExt, byKind(out, 'teacher_base')[0].ext);
    assert.equal(byKind(out, 'section')[0].startAt, null);
  });

  test('sourcedIds are encoded inside composite external IDs, so none can forge another key', () => {
    const out = deriveClassCourses(klass({ course: { sid: 'a:b', title: 'X', code: null, metadata: null } }), ALL);
    assert.ok(byKind(out, 'teacher_base')[0].ext.startsWith('or-base:teacher:a%3Ab:'));
  });
});

describe('org base courses and base enrollments', () => {
  test('one org base per org, each derived from its parent org\'s when that org is in the file', () => {
    const out = deriveOrgCourses([
      { sid: 'dist', name: 'District', parentSid: null, domainId: 2 },
      { sid: 'sch', name: 'School', parentSid: 'dist', domainId: 3 },
      { sid: 'orphan', name: 'Orphan', parentSid: 'state-not-in-file', domainId: 4 },
    ], ALL);
    assert.deepEqual(out.map((c) => [c.ext, c.baseExt, c.domainId, c.title]), [
      ['or-base:org:dist', null, 2, 'District'],
      ['or-base:org:sch', 'or-base:org:dist', 3, 'School'],
      ['or-base:org:orphan', null, 4, 'Orphan'],
    ]);
    assert.deepEqual(deriveOrgCourses([{ sid: 'x', name: 'X', parentSid: null, domainId: 1 }], NONE), []);
  });

  test('teacher and term base courses enroll their owner; org bases and sections enroll nobody this way', () => {
    const out = deriveClassCourses(klass(), ALL);
    const enrolled = out.map((c) => [c.kind, baseCourseEnrollment(c)?.teacherSid ?? null]);
    assert.deepEqual(enrolled.filter(([, t]) => t !== null).map(([k]) => k).sort(), ['teacher_base', 'teacher_base', 'term_base', 'term_base']);
    assert.equal(baseCourseEnrollment(byKind(out, 'section')[0]), null);
  });
});
