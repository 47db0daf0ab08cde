/**
 * Enrollments: the file's enrollments in their sections, plus each primary teacher's enrollment in
 * their teacher and term base courses. Roles and dates come from the settings. Unshared ones are
 * left, marked inactive or withdrawn, or deleted; a deleted enrollment shared again is new.
 */
import { USER_NAME } from './users';
import { analyze } from '../../db/sql-session';
import { type ApplyContext, count, IN_SCOPE, MANAGED, sameFlag } from './context';
import { baseCoursesComplete } from './courses';
import { type DuplicateId, findDuplicateEnrollmentIds } from './duplicate-ids';

const FIELDS = ['course_id', 'user_id', 'domain_id', 'role', 'start_at', 'end_at', 'metadata'] as const;
type Field = (typeof FIELDS)[number];

/** The live enrollment x is active and holds these values already (see sameFlag). */
const sameAs = (values: Record<Field, string>): string => sameFlag('x', "x.status = 'active'", values);

/**
 * Builds enrollment_target: every enrollment the sync should hold, with the live one it matches.
 * Returns the managed enrollments a row of the file matched twice (then nothing may be applied).
 */
export async function prepareEnrollments(ctx: ApplyContext): Promise<DuplicateId[]> {
  const { db } = ctx;
  await db.run('DROP TABLE IF EXISTS enrollment_target');
  await db.run(`CREATE ${db.scratch} enrollment_target AS
    SELECT e.ext, c.id AS course_id, u.id AS user_id, c.domain_id, e.lms_role AS role, e.start_at, e.end_at, e.metadata, e.deleted,
           x.id AS live_id, x.status AS live_status,
           ${sameAs({ course_id: 'c.id', user_id: 'u.id', domain_id: 'c.domain_id', role: 'e.lms_role', start_at: 'e.start_at', end_at: 'e.end_at', metadata: 'e.metadata' })} AS same
    FROM stage_enrollments e
    JOIN course c ON c.external_id = 'or-' || e.class_sid AND c.domain_id IN ${IN_SCOPE}
    JOIN lms_user u ON u.external_id = 'or-' || e.user_sid AND u.domain_id IN ${IN_SCOPE}
    LEFT JOIN enrollment x ON x.external_id = e.ext AND x.domain_id IN ${IN_SCOPE}
    WHERE e.ok = 1`);
  const duplicates = await findDuplicateEnrollmentIds(db);
  if (duplicates.length) return duplicates;
  await db.run(`INSERT INTO enrollment_target (ext, course_id, user_id, domain_id, role, start_at, end_at, metadata, deleted, live_id, live_status, same)
    SELECT t.enrollment_ext, t.live_id, u.id, t.domain_id, $1, NULL, NULL, NULL, 0, x.id, x.status,
           ${sameAs({ course_id: 't.live_id', user_id: 'u.id', domain_id: 't.domain_id', role: '$1', start_at: 'NULL', end_at: 'NULL', metadata: 'NULL' })}
    FROM course_target t
    JOIN lms_user u ON u.external_id = 'or-' || t.owner_sid AND u.domain_id IN ${IN_SCOPE}
    LEFT JOIN enrollment x ON x.external_id = t.enrollment_ext AND x.domain_id IN ${IN_SCOPE}
    WHERE t.enrollment_ext IS NOT NULL`, [ctx.settings.teacherRole]);
  if (db.dialect === 'sqlite') {
    // SQLite has no hash join; PostgreSQL hashes these 1M-row joins faster than it builds the indexes
    await db.run('CREATE INDEX ix_enrollment_target_ext ON enrollment_target (ext)');
    await db.run('CREATE INDEX ix_enrollment_target_live ON enrollment_target (live_id)');
  }
  // sizes for the planner: the writes below touch only the few rows that differ
  await analyze(db, ['enrollment_target']);
  return [];
}

/**
 * Enrollments the file does not list, found once: the planned removals count them and the apply
 * changes them, and each pass is an anti-join over every managed enrollment. Rows of the file
 * (valid or rejected) and the base-course enrollments the sync derives are shared. Neither the
 * enrollment table nor what the query reads changes between the two steps.
 */
async function unsharedEnrollments(ctx: ApplyContext): Promise<string> {
  if (ctx.settings.unsharedEnrollments === 'nothing' || ctx.modes.enrollments !== 'bulk') return 'SELECT id FROM enrollment WHERE 1 = 0';
  if (!found.has(ctx)) {
    const state = unsharedAction(ctx) === 'delete' ? '' : " AND status = 'active'";
    await ctx.db.run('DROP TABLE IF EXISTS unshared_enrollment');
    await ctx.db.run(`CREATE ${ctx.db.scratch} unshared_enrollment AS
      SELECT id, CASE WHEN external_id LIKE 'or-base:%' THEN 1 ELSE 0 END AS is_base
      FROM enrollment WHERE ${MANAGED} AND domain_id IN ${IN_SCOPE}${state}
      AND NOT EXISTS (SELECT 1 FROM stage_enrollments s WHERE s.ext = enrollment.external_id)
      AND NOT EXISTS (SELECT 1 FROM course_target t WHERE t.enrollment_ext = enrollment.external_id)`);
    found.add(ctx);
  }
  // stale base-course enrollments go only with their courses (the hierarchy may be incomplete)
  return `SELECT id FROM unshared_enrollment${baseCoursesComplete(ctx) ? '' : ' WHERE is_base = 0'}`;
}

const found = new WeakSet<ApplyContext>();

function unsharedAction(ctx: ApplyContext): 'delete' | 'deactivate' {
  return ctx.settings.unsharedEnrollments === 'delete' ? 'delete' : 'deactivate';
}

/** Removals the enrollments step would make; runs before any course is written. */
export async function plannedEnrollmentRemovals(ctx: ApplyContext): Promise<number> {
  const deletes = await count(ctx.db, `SELECT count(*) AS n FROM stage_enrollments s
    JOIN enrollment x ON x.external_id = s.ext AND x.domain_id IN ${IN_SCOPE} WHERE s.ok = 1 AND s.deleted = 1`);
  return deletes + (await count(ctx.db, `SELECT count(*) AS n FROM (${await unsharedEnrollments(ctx)}) u`));
}

/** The removals plannedEnrollmentRemovals counts, as rows (external_id, name: "user — course") for a held run's list. */
export async function plannedEnrollmentRemovalRows(ctx: ApplyContext): Promise<string[]> {
  const named = (ids: string) => `SELECT x.external_id AS external_id, ${USER_NAME('u')} || ' — ' || c.title AS name
    FROM enrollment x JOIN lms_user u ON u.id = x.user_id JOIN course c ON c.id = x.course_id WHERE x.id IN (${ids})`;
  return [
    named(`SELECT x.id FROM stage_enrollments s JOIN enrollment x ON x.external_id = s.ext AND x.domain_id IN ${IN_SCOPE} WHERE s.ok = 1 AND s.deleted = 1`),
    named(await unsharedEnrollments(ctx)),
  ];
}

const assign = FIELDS.map((f) => `${f} = t.${f}`).join(', ');

export async function applyEnrollments(ctx: ApplyContext): Promise<void> {
  const { db, counts, now } = ctx;
  const matched = await count(db, 'SELECT count(*) AS n FROM enrollment_target WHERE live_id IS NOT NULL AND deleted = 0');
  const restored = await db.run(`UPDATE enrollment SET ${assign}, status = 'active', updated_at = $1 FROM enrollment_target t
    WHERE enrollment.id = t.live_id AND t.deleted = 0 AND t.live_status <> 'active'`, [now]);
  const updated = await db.run(`UPDATE enrollment SET ${assign}, updated_at = $1 FROM enrollment_target t
    WHERE enrollment.id = t.live_id AND t.deleted = 0 AND t.live_status = 'active' AND t.same = 0`, [now]);
  const created = await db.run(`INSERT INTO enrollment (course_id, user_id, domain_id, role, status, start_at, end_at, external_id, metadata,
      created_at, updated_at)
    SELECT course_id, user_id, domain_id, role, 'active', start_at, end_at, ext, metadata, $1, $1
    FROM enrollment_target WHERE live_id IS NULL AND deleted = 0`, [now]);
  const deleted = await db.run('DELETE FROM enrollment WHERE id IN (SELECT live_id FROM enrollment_target WHERE deleted = 1 AND live_id IS NOT NULL)');
  const unshared = unsharedAction(ctx) === 'delete'
    ? await db.run(`DELETE FROM enrollment WHERE id IN (${await unsharedEnrollments(ctx)})`)
    : await db.run(`UPDATE enrollment SET status = $1, updated_at = $2 WHERE id IN (${await unsharedEnrollments(ctx)})`,
      [ctx.settings.unsharedEnrollments, now]);
  counts.enrollments.restored += restored;
  counts.enrollments.updated += updated;
  counts.enrollments.created += created;
  counts.enrollments.removed += deleted + unshared;
  counts.enrollments.unchanged += matched - restored - updated;
}
