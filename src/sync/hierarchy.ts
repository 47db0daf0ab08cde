/**
 * The base-course hierarchy of product-rules.md, as pure functions. For each class it yields the
 * courses the sync should hold: the section and, as the settings ask, the teacher and term base
 * courses it derives from. Org base courses come from the org tree. Each course names its base
 * by external ID; the apply phase resolves those to ids, so a hand-made course that takes over an
 * external ID becomes the base of every derivative on the next sync.
 */
import { baseEnrollmentId, externalId, orgBaseCourseId, teacherBaseCourseId, termBaseCourseId } from './external-ids';

export interface HierarchySettings {
  orgBaseCourses: boolean;
  teacherBaseCourses: boolean;
  termBaseCourses: boolean;
}

export type DerivedKind = 'org_base' | 'teacher_base' | 'term_base' | 'section';

export interface DerivedCourse {
  ext: string;
  kind: DerivedKind;
  domainId: number;
  title: string;
  baseExt: string | null;
  /** sourcedId of the primary teacher who owns a teacher or term base course */
  ownerSid: string | null;
  term: string | null;
  startAt: Date | null;
  endAt: Date | null;
  metadata: string | null;
  /** the class a section stands for */
  classSid: string | null;
}

export interface OrgNode {
  sid: string;
  name: string;
  parentSid: string | null;
  domainId: number;
}

export interface Teacher {
  sid: string;
  givenName: string;
  familyName: string;
}

export interface Term {
  sid: string;
  title: string;
  schoolYear: string;
  startAt: Date | null;
  endAt: Date | null;
}

export interface ClassContext {
  sid: string;
  title: string;
  schoolSid: string;
  /** the domain of the class's school: teacher, term and section courses live there */
  domainId: number;
  metadata: string | null;
  /** present only when courseSourcedId names a course in courses.csv; metadata: its columns (courseCode, grades, …) */
  course: { sid: string; title: string; code: string | null; metadata: string | null } | null;
  /** the first term listed: it sets the section's term and dates */
  firstTerm: Term | null;
  /** primary teachers in file order; the first one's base courses are the section's */
  primaryTeachers: Teacher[];
}

/** One org base course per org, each derived from its parent org's. */
export function deriveOrgCourses(orgs: readonly OrgNode[], s: HierarchySettings): DerivedCourse[] {
  if (!s.orgBaseCourses) return [];
  const known = new Set(orgs.map((o) => o.sid));
  return orgs.map((o) => ({
    ext: orgBaseCourseId(o.sid),
    kind: 'org_base' as const,
    domainId: o.domainId,
    title: o.name,
    baseExt: o.parentSid && known.has(o.parentSid) ? orgBaseCourseId(o.parentSid) : null,
    ownerSid: null, term: null, startAt: null, endAt: null, metadata: null, classSid: null,
  }));
}

const teacherName = (t: Teacher): string => `${t.givenName} ${t.familyName}`.trim();
const courseLabel = (c: { title: string; code: string | null }): string => (c.code ? `${c.title} (${c.code})` : c.title);
/** the term's title, with its school year unless the title already names it ("Fall" → "Fall (2025)") */
const termLabel = (t: Term): string => (!t.schoolYear || t.title.includes(t.schoolYear) ? t.title : `${t.title} (${t.schoolYear})`);

/**
 * The section for a class plus its teacher and term base courses. Base courses shared by several
 * classes (same course, teacher and school) come out once per class with identical content; the
 * caller de-duplicates by external ID.
 */
export function deriveClassCourses(c: ClassContext, s: HierarchySettings): DerivedCourse[] {
  const out: DerivedCourse[] = [];
  const orgBase = s.orgBaseCourses ? orgBaseCourseId(c.schoolSid) : null;
  let sectionBase = orgBase;

  if (c.course) {
    c.primaryTeachers.forEach((t, i) => {
      const course = c.course!;
      let nearest = orgBase;
      if (s.teacherBaseCourses) {
        const ext = teacherBaseCourseId(course.sid, t.sid, c.schoolSid);
        out.push({
          ext, kind: 'teacher_base', domainId: c.domainId, title: `${courseLabel(course)} – ${teacherName(t)}`, baseExt: orgBase,
          ownerSid: t.sid, term: null, startAt: null, endAt: null, metadata: course.metadata, classSid: null,
        });
        nearest = ext;
      }
      if (s.termBaseCourses && c.firstTerm) {
        const term = c.firstTerm;
        const ext = termBaseCourseId(course.sid, t.sid, c.schoolSid, term.sid);
        out.push({
          ext, kind: 'term_base', domainId: c.domainId, title: `${courseLabel(course)} – ${teacherName(t)} – ${termLabel(term)}`,
          baseExt: nearest, ownerSid: t.sid, term: term.title, startAt: term.startAt, endAt: term.endAt, metadata: course.metadata, classSid: null,
        });
        nearest = ext;
      }
      if (i === 0) sectionBase = nearest;
    });
  }

  out.push({
    ext: externalId(c.sid), kind: 'section', domainId: c.domainId, title: c.title, baseExt: sectionBase, ownerSid: null,
    term: c.firstTerm?.title ?? null, startAt: c.firstTerm?.startAt ?? null, endAt: c.firstTerm?.endAt ?? null,
    metadata: c.metadata, classSid: c.sid,
  });
  return out;
}

/** Teacher and term base courses get their primary teacher; org base courses get nobody. */
export function baseCourseEnrollment(course: DerivedCourse): { ext: string; teacherSid: string } | null {
  if ((course.kind !== 'teacher_base' && course.kind !== 'term_base') || !course.ownerSid) return null;
  return { ext: baseEnrollmentId(course.ext, course.ownerSid), teacherSid: course.ownerSid };
}
