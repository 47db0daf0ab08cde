/**
 * Courses: the sections (one per class) and the base courses the settings ask for, derived by
 * hierarchy.ts and staged in stage_target_courses; then matched to the LMS by external ID,
 * created, updated, restored, and unshared ones deleted when the settings say so.
 */
import { analyze, type SqlValue } from '../../db/sql-session';
import { buildsOnEarlierSyncs } from '../../oneroster/types';
import { baseCourseEnrollment, deriveClassCourses, deriveOrgCourses, type ClassContext, type DerivedCourse, type Teacher } from '../hierarchy';
import { metadataJson } from '../mapping';
import { analyzeStageTables, stageColumns } from '../stage-tables';
import { type ApplyContext, count, IN_SCOPE, MANAGED } from './context';

const PAGE = 2000;

interface ClassRow {
  sid: string; title: string; school_sid: string; domain_id: number; metadata: string | null;
  course_sid: string | null; course_title: string | null; course_code: string | null; course_metadata: string | null;
  term_sid: string | null; term_title: string | null; school_year: string | null; start_date: string | null; end_date: string | null;
}

/**
 * What an enrollment's metadata starts with when the file said role teacher and primary true
 * (mapping.ts writes role and primary first): how a primary teacher an earlier file sent is found.
 */
const PRIMARY_TEACHER_METADATA = `${metadataJson([['role', 'teacher'], ['primary', 'true']], null)!.slice(0, -1)}%`;

/**
 * The kept classes a delta file touches (`k`: a row of oneroster_class): through their course, their
 * first term, their enrollments (those they gain and those they lose), or a primary teacher in the
 * file's users.csv (a teacher's name is in their base courses' titles). $1: PRIMARY_TEACHER_METADATA.
 */
const TOUCHED_BY_DELTA = `(k.course_sid IN (SELECT sid FROM stage_courses WHERE ok = 1)
  OR k.first_term_sid IN (SELECT sid FROM stage_sessions WHERE ok = 1)
  OR substr(k.external_id, 4) IN (SELECT class_sid FROM stage_enrollments WHERE ok = 1)
  OR k.external_id IN (SELECT s.external_id FROM stage_enrollments e
    JOIN enrollment x ON x.external_id = e.ext AND x.domain_id IN ${IN_SCOPE} JOIN course s ON s.id = x.course_id WHERE e.ok = 1)
  OR k.external_id IN (SELECT s.external_id FROM stage_users su
    JOIN lms_user lu ON lu.external_id = 'or-' || su.sid AND lu.domain_id IN ${IN_SCOPE}
    JOIN enrollment x ON x.user_id = lu.id AND x.status = 'active' AND x.metadata LIKE $1
    JOIN course s ON s.id = x.course_id WHERE su.ok = 1))`;

/**
 * The classes to derive courses for, each with its domain, course and first term, built in one
 * statement (a join per page cost 2-4 s a page at 50k classes in delta mode). A delta file is
 * applied onto what earlier files sent (apply/kept-records.ts): besides the file's own classes, the
 * kept classes it touches are derived again, as a bulk file with the same content would derive
 * them; the others keep the courses they have. A class's course or term may likewise be one an
 * earlier file sent, unless this file sends, deletes or rejects it.
 */
async function stageClassContexts(ctx: ApplyContext): Promise<void> {
  const keptClasses = !buildsOnEarlierSyncs(ctx.modes, 'classes') ? '' : `UNION ALL
    SELECT substr(k.external_id, 4), k.title, k.course_sid, k.school_sid, k.first_term_sid, k.metadata FROM oneroster_class k
    WHERE k.domain_id IN ${IN_SCOPE} AND NOT EXISTS (SELECT 1 FROM stage_classes x WHERE 'or-' || x.sid = k.external_id AND x.ok = 1)
    AND ${TOUCHED_BY_DELTA}`;
  // a bulk file's class names only the file's own course (no join: SQLite scans the table per class even ON 1 = 0)
  const course = !buildsOnEarlierSyncs(ctx.modes, 'courses')
    ? { columns: 'co.sid AS course_sid, co.title AS course_title, co.code AS course_code, co.metadata AS course_metadata', join: '' }
    : {
      columns: `coalesce(co.sid, substr(kc.external_id, 4)) AS course_sid, coalesce(co.title, kc.title) AS course_title,
        CASE WHEN co.sid IS NULL THEN kc.code ELSE co.code END AS course_code,
        CASE WHEN co.sid IS NULL THEN kc.metadata ELSE co.metadata END AS course_metadata`,
      join: `LEFT JOIN oneroster_course kc ON kc.external_id = 'or-' || c.course_sid AND kc.domain_id IN ${IN_SCOPE}
        AND NOT EXISTS (SELECT 1 FROM stage_courses x WHERE x.sid = c.course_sid AND x.ok = 1)`,
    };
  await ctx.db.run('DROP TABLE IF EXISTS class_context');
  await ctx.db.run(`CREATE ${ctx.db.scratch} class_context AS
    SELECT c.sid, c.title, c.school_sid, od.domain_id, c.metadata, ${course.columns},
           coalesce(t.sid, substr(kt.external_id, 4)) AS term_sid, coalesce(t.title, kt.title) AS term_title,
           coalesce(t.school_year, kt.school_year) AS school_year, coalesce(t.start_date, kt.start_date) AS start_date,
           coalesce(t.end_date, kt.end_date) AS end_date
    FROM (SELECT sid, title, course_sid, school_sid, first_term_sid, metadata FROM stage_classes WHERE ok = 1 AND deleted = 0 ${keptClasses}) c
    JOIN org_domain od ON od.sid = c.school_sid
    LEFT JOIN stage_courses co ON co.sid = c.course_sid AND co.ok = 1 AND co.deleted = 0
    ${course.join}
    LEFT JOIN stage_sessions t ON t.sid = c.first_term_sid AND t.ok = 1
    LEFT JOIN academic_session kt ON t.sid IS NULL AND kt.external_id = 'or-' || c.first_term_sid AND kt.domain_id IN ${IN_SCOPE}`,
  keptClasses ? [PRIMARY_TEACHER_METADATA] : []);
  await ctx.db.run('CREATE INDEX ix_class_context_sid ON class_context (sid)');
  await analyze(ctx.db, ['class_context']);
}

/**
 * The primary teachers (a few per class), once and indexed: far cheaper than a range scan of all
 * enrollments per page. In file order; in delta mode those an earlier file sent come first (by
 * enrollment id), unless this file changes or deletes their enrollment, so that the teacher whose
 * base courses the section has keeps them.
 */
async function stagePrimaryTeachers(ctx: ApplyContext): Promise<void> {
  await ctx.db.run('DROP TABLE IF EXISTS primary_teacher');
  await ctx.db.run(`CREATE ${ctx.db.scratch} primary_teacher AS
    SELECT e.class_sid, 1 AS src, e.line, e.user_sid AS sid, coalesce(u.given_name, lu.given_name) AS given_name,
           coalesce(u.family_name, lu.family_name) AS family_name
    FROM stage_enrollments e
    LEFT JOIN stage_users u ON u.sid = e.user_sid AND u.ok = 1
    LEFT JOIN lms_user lu ON u.sid IS NULL AND lu.external_id = 'or-' || e.user_sid AND lu.domain_id IN ${IN_SCOPE}
    WHERE e.ok = 1 AND e.deleted = 0 AND e.or_role = 'teacher' AND e.is_primary = 1`);
  if (buildsOnEarlierSyncs(ctx.modes, 'enrollments')) {
    await ctx.db.run(`INSERT INTO primary_teacher (class_sid, src, line, sid, given_name, family_name)
      SELECT c.sid, 0, x.id, substr(lu.external_id, 4), coalesce(u.given_name, lu.given_name), coalesce(u.family_name, lu.family_name)
      FROM class_context c
      JOIN course s ON s.external_id = 'or-' || c.sid AND s.domain_id IN ${IN_SCOPE}
      JOIN enrollment x ON x.course_id = s.id AND x.status = 'active' AND substr(x.external_id, 1, 3) = 'or-' AND x.metadata LIKE $1
      JOIN lms_user lu ON lu.id = x.user_id AND substr(lu.external_id, 1, 3) = 'or-'
      LEFT JOIN stage_users u ON u.sid = substr(lu.external_id, 4) AND u.ok = 1
      WHERE NOT EXISTS (SELECT 1 FROM stage_enrollments e WHERE e.ext = x.external_id AND e.ok = 1)`,
    [PRIMARY_TEACHER_METADATA]);
  }
  await ctx.db.run('CREATE INDEX ix_primary_teacher ON primary_teacher (class_sid, src, line)');
}

/** Streams the classes in pages (keyset on sid) with their course, first term and primary teachers. */
async function* classContexts(ctx: ApplyContext): AsyncGenerator<ClassContext[]> {
  await stageClassContexts(ctx);
  await stagePrimaryTeachers(ctx);
  let after = '';
  for (;;) {
    const rows = await ctx.db.query<ClassRow>(`SELECT * FROM class_context WHERE sid > $1 ORDER BY sid LIMIT ${PAGE}`, [after]);
    if (!rows.length) return;
    const last = rows[rows.length - 1].sid;
    const teachers = new Map<string, Teacher[]>();
    for (const t of await ctx.db.query<{ class_sid: string; sid: string; given_name: string | null; family_name: string | null }>(
      'SELECT class_sid, sid, given_name, family_name FROM primary_teacher WHERE class_sid > $1 AND class_sid <= $2 ORDER BY class_sid, src, line',
      [after, last])) {
      const list = teachers.get(t.class_sid) ?? [];
      list.push({ sid: t.sid, givenName: t.given_name ?? '', familyName: t.family_name ?? '' });
      teachers.set(t.class_sid, list);
    }
    yield rows.map((r) => ({
      sid: r.sid, title: r.title, schoolSid: r.school_sid, domainId: Number(r.domain_id), metadata: r.metadata,
      course: r.course_sid ? { sid: r.course_sid, title: r.course_title ?? '', code: r.course_code, metadata: r.course_metadata } : null,
      firstTerm: r.term_sid ? {
        sid: r.term_sid, title: r.term_title ?? '', schoolYear: r.school_year ?? '',
        startAt: ctx.dates.startOf(r.start_date ?? ''), endAt: ctx.dates.endOf(r.end_date ?? ''),
      } : null,
      primaryTeachers: teachers.get(r.sid) ?? [],
    }));
    after = last;
  }
}

function courseRow(ctx: ApplyContext, c: DerivedCourse): SqlValue[] {
  const enr = baseCourseEnrollment(c);
  return [c.ext, c.kind, c.domainId, c.title.slice(0, 1024), c.baseExt, c.ownerSid, c.term?.slice(0, 255) ?? null,
    c.startAt && ctx.db.instant(c.startAt), c.endAt && ctx.db.instant(c.endAt), c.metadata, c.classSid, enr?.ext ?? null];
}

/** Derives every course the sync should hold into stage_target_courses. */
export async function deriveCourses(ctx: ApplyContext): Promise<void> {
  const orgs = await ctx.db.query<{ sid: string; name: string; parent_sid: string | null; domain_id: number }>(
    `SELECT o.sid, o.name, o.parent_sid, od.domain_id FROM stage_orgs o JOIN org_domain od ON od.sid = o.sid WHERE o.ok = 1 ORDER BY o.line`);
  const orgCourses = deriveOrgCourses(orgs.map((o) => ({ sid: o.sid, name: o.name, parentSid: o.parent_sid, domainId: Number(o.domain_id) })), ctx.settings);
  const columns = stageColumns('stage_target_courses');
  if (orgCourses.length) await ctx.db.load('stage_target_courses', columns, [orgCourses.map((c) => courseRow(ctx, c))]);
  // one load per page: PostgreSQL cannot run the next page's query while a COPY is open on the connection
  for await (const page of classContexts(ctx)) {
    await ctx.db.load('stage_target_courses', columns, [page.flatMap((c) => deriveClassCourses(c, ctx.settings)).map((c) => courseRow(ctx, c))]);
  }
  await analyzeStageTables(ctx.db, ['stage_target_courses']);
  await ctx.db.run('DROP TABLE IF EXISTS course_target');
  // base courses shared by several classes were derived once per class, identically: keep one
  await ctx.db.run(`CREATE ${ctx.db.scratch} course_target AS
    SELECT t.ext, min(t.kind) AS kind, min(t.domain_id) AS domain_id, min(t.title) AS title, min(t.base_ext) AS base_ext,
           min(t.owner_sid) AS owner_sid, min(t.term) AS term, min(t.start_at) AS start_at, min(t.end_at) AS end_at,
           min(t.metadata) AS metadata, min(t.enrollment_ext) AS enrollment_ext,
           min(c.id) AS live_id, min(c.status) AS live_status, 0 AS is_new, CAST(NULL AS integer) AS base_id, CAST(NULL AS integer) AS owner_id
    FROM stage_target_courses t LEFT JOIN course c ON c.external_id = t.ext AND c.domain_id IN ${IN_SCOPE}
    GROUP BY t.ext`);
  await ctx.db.run('CREATE INDEX ix_course_target_ext ON course_target (ext)');
}

/**
 * Whether stale base courses (and their teachers' enrollments) may be removed: only when the file
 * gave a complete picture, without errors and with the courses.csv they are derived from.
 */
export function baseCoursesComplete(ctx: ApplyContext): boolean {
  return ctx.issues.counts.error === 0 && ctx.modes.courses !== 'absent';
}

function unsharedCourses(ctx: ApplyContext): string {
  if (ctx.settings.unsharedCourses !== 'delete' || ctx.modes.classes !== 'bulk') return 'FROM course WHERE 1 = 0';
  // org base courses come from orgs.csv; teacher and term base courses need courses.csv too
  const kinds = ctx.issues.counts.error > 0 ? " AND kind = 'section'" : baseCoursesComplete(ctx) ? '' : " AND kind IN ('section', 'org_base')";
  return `FROM course WHERE ${MANAGED} AND domain_id IN ${IN_SCOPE} AND status <> 'deleted'${kinds}
    AND NOT EXISTS (SELECT 1 FROM course_target t WHERE t.ext = course.external_id)
    AND NOT EXISTS (SELECT 1 FROM stage_classes s WHERE s.ok = 0 AND 'or-' || s.sid = course.external_id)`;
}

function deletedSections(): string {
  return `FROM course WHERE ${MANAGED} AND domain_id IN ${IN_SCOPE} AND status <> 'deleted'
    AND external_id IN (SELECT 'or-' || sid FROM stage_classes WHERE ok = 1 AND deleted = 1)`;
}

export async function plannedCourseRemovals(ctx: ApplyContext): Promise<number> {
  return (await count(ctx.db, `SELECT count(*) AS n ${deletedSections()}`)) + (await count(ctx.db, `SELECT count(*) AS n ${unsharedCourses(ctx)}`));
}

/** The removals plannedCourseRemovals counts, as rows (external_id, name) for a held run's list. */
export function plannedCourseRemovalRows(ctx: ApplyContext): string[] {
  return [`SELECT external_id, title AS name ${deletedSections()}`, `SELECT external_id, title AS name ${unsharedCourses(ctx)}`];
}

const FIELDS = ['domain_id', 'kind', 'title', 'term', 'start_at', 'end_at', 'metadata', 'base_course_id', 'owner_user_id'] as const;
const SOURCE: Record<(typeof FIELDS)[number], string> = {
  domain_id: 't.domain_id', kind: 't.kind', title: 't.title', term: 't.term', start_at: 't.start_at', end_at: 't.end_at',
  metadata: 't.metadata', base_course_id: 't.base_id', owner_user_id: 't.owner_id',
};
const assign = FIELDS.map((f) => `${f} = ${SOURCE[f]}`).join(', ');
const differs = FIELDS.map((f) => `course.${f} IS DISTINCT FROM ${SOURCE[f]}`).join(' OR ');

export async function applyCourses(ctx: ApplyContext): Promise<void> {
  const { db, counts, now } = ctx;
  // without courses.csv the manifest check already said that base courses are left as they are
  if (ctx.issues.counts.error > 0 && ctx.settings.unsharedCourses === 'delete' && ctx.modes.classes === 'bulk') {
    ctx.issues.warning('apply.unshared_skipped', { file: 'classes.csv' },
      'base courses missing from this file were kept: the file had errors, so the hierarchy it gives may be incomplete');
  }
  const created = await db.run(`INSERT INTO course (domain_id, kind, title, term, start_at, end_at, status, external_id, metadata, created_at, updated_at)
    SELECT domain_id, kind, title, term, start_at, end_at, 'active', ext, metadata, $1, $1 FROM course_target WHERE live_id IS NULL`, [now]);
  if (created) {
    await db.run(`UPDATE course_target SET is_new = 1, live_id = c.id FROM course c
      WHERE course_target.live_id IS NULL AND c.external_id = course_target.ext AND c.domain_id IN ${IN_SCOPE}`);
  }
  // bases and owners resolve by external ID now that every course exists (hand-made replacements included)
  await db.run(`UPDATE course_target SET base_id = c.id FROM course c
    WHERE c.external_id = course_target.base_ext AND c.domain_id IN ${IN_SCOPE}`);
  await db.run(`UPDATE course_target SET owner_id = u.id FROM lms_user u
    WHERE u.external_id = 'or-' || course_target.owner_sid AND u.domain_id IN ${IN_SCOPE}`);
  const matched = await count(db, 'SELECT count(*) AS n FROM course_target WHERE is_new = 0');
  const restored = await db.run(`UPDATE course SET ${assign}, status = 'active', updated_at = $1 FROM course_target t
    WHERE course.id = t.live_id AND t.is_new = 0 AND t.live_status <> 'active'`, [now]);
  const updated = await db.run(`UPDATE course SET ${assign}, updated_at = $1 FROM course_target t
    WHERE course.id = t.live_id AND t.is_new = 0 AND (${differs})`, [now]);
  await db.run(`UPDATE course SET base_course_id = t.base_id, owner_user_id = t.owner_id FROM course_target t
    WHERE course.id = t.live_id AND t.is_new = 1 AND (t.base_id IS NOT NULL OR t.owner_id IS NOT NULL)`);
  const deleted = await db.run(`UPDATE course SET status = 'deleted', updated_at = $1 WHERE id IN (SELECT id ${deletedSections()})`, [now]);
  const unshared = await db.run(`UPDATE course SET status = 'deleted', updated_at = $1 WHERE id IN (SELECT id ${unsharedCourses(ctx)})`, [now]);
  counts.courses.created += created;
  counts.courses.restored += restored;
  counts.courses.updated += updated;
  counts.courses.unchanged += matched - restored - updated;
  counts.courses.removed += deleted + unshared;
}
