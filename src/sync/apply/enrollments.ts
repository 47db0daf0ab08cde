/**
 * Enrollments: the file's enrollments in their sections, plus each primary teacher's enrollment in
 * their teacher and term base courses. Roles and dates come from the settings. Unshared ones are
 * left, marked inactive or withdrawn, or deleted; a deleted enrollment shared again is new.
 */
import { type ApplyContext, count, IN_SCOPE, MANAGED } from './context';

export async function prepareEnrollments(ctx: ApplyContext): Promise<void> {
  const { db } = ctx;
  await db.run('DROP TABLE IF EXISTS enrollment_target');
  await db.run(`CREATE TEMP TABLE enrollment_target AS
    SELECT e.ext, c.id AS course_id, u.id AS user_id, c.domain_id, e.lms_role AS role, e.start_at, e.end_at, e.metadata, e.deleted,
           x.id AS live_id, x.status AS live_status
    FROM stage_enrollments e
    JOIN course c ON c.external_id = 'or-' || e.class_sid AND c.domain_id IN ${IN_SCOPE}
    JOIN lms_user u ON u.external_id = 'or-' || e.user_sid AND u.domain_id IN ${IN_SCOPE}
    LEFT JOIN enrollment x ON x.external_id = e.ext AND x.domain_id IN ${IN_SCOPE}
    WHERE e.ok = 1`);
  await db.run(`INSERT INTO enrollment_target (ext, course_id, user_id, domain_id, role, start_at, end_at, metadata, deleted, live_id, live_status)
    SELECT t.enrollment_ext, t.live_id, u.id, t.domain_id, $1, NULL, NULL, NULL, 0, x.id, x.status
    FROM course_target t
    JOIN lms_user u ON u.external_id = 'or-' || t.owner_sid AND u.domain_id IN ${IN_SCOPE}
    LEFT JOIN enrollment x ON x.external_id = t.enrollment_ext AND x.domain_id IN ${IN_SCOPE}
    WHERE t.enrollment_ext IS NOT NULL`, [ctx.settings.teacherRole]);
  if (db.dialect === 'sqlite') {
    // SQLite has no hash join; PostgreSQL hashes these 1M-row joins faster than it builds the indexes
    await db.run('CREATE INDEX ix_enrollment_target_ext ON enrollment_target (ext)');
    await db.run('CREATE INDEX ix_enrollment_target_live ON enrollment_target (live_id)');
  }
}

/** Enrollments the file does not list (stale base-course enrollments only when the file had no errors). */
function unsharedEnrollments(ctx: ApplyContext, action: 'delete' | 'deactivate'): string {
  if (ctx.settings.unsharedEnrollments === 'nothing' || ctx.modes.enrollments !== 'bulk') return 'FROM enrollment WHERE 1 = 0';
  const state = action === 'delete' ? '' : " AND status = 'active'";
  const bases = ctx.issues.counts.error === 0 ? '' : " AND external_id NOT LIKE 'or-base:%'";
  // rows of the file (valid or rejected) and base-course enrollments the sync derives are shared
  return `FROM enrollment WHERE ${MANAGED} AND domain_id IN ${IN_SCOPE}${state}${bases}
    AND NOT EXISTS (SELECT 1 FROM stage_enrollments s WHERE s.ext = enrollment.external_id)
    AND NOT EXISTS (SELECT 1 FROM course_target t WHERE t.enrollment_ext = enrollment.external_id)`;
}

function unsharedAction(ctx: ApplyContext): 'delete' | 'deactivate' {
  return ctx.settings.unsharedEnrollments === 'delete' ? 'delete' : 'deactivate';
}

/** Removals the enrollments step would make; runs before any course is written. */
export async function plannedEnrollmentRemovals(ctx: ApplyContext): Promise<number> {
  const deletes = await count(ctx.db, `SELECT count(*) AS n FROM stage_enrollments s
    JOIN enrollment x ON x.external_id = s.ext AND x.domain_id IN ${IN_SCOPE} WHERE s.ok = 1 AND s.deleted = 1`);
  return deletes + (await count(ctx.db, `SELECT count(*) AS n ${unsharedEnrollments(ctx, unsharedAction(ctx))}`));
}

const FIELDS = ['course_id', 'user_id', 'domain_id', 'role', 'start_at', 'end_at', 'metadata'] as const;
const assign = FIELDS.map((f) => `${f} = t.${f}`).join(', ');
const differs = FIELDS.map((f) => `enrollment.${f} IS DISTINCT FROM t.${f}`).join(' OR ');

export async function applyEnrollments(ctx: ApplyContext): Promise<void> {
  const { db, counts, now } = ctx;
  const matched = await count(db, 'SELECT count(*) AS n FROM enrollment_target WHERE live_id IS NOT NULL AND deleted = 0');
  const restored = await db.run(`UPDATE enrollment SET ${assign}, status = 'active', updated_at = $1 FROM enrollment_target t
    WHERE enrollment.id = t.live_id AND t.deleted = 0 AND t.live_status <> 'active'`, [now]);
  const updated = await db.run(`UPDATE enrollment SET ${assign}, updated_at = $1 FROM enrollment_target t
    WHERE enrollment.id = t.live_id AND t.deleted = 0 AND (${differs})`, [now]);
  const created = await db.run(`INSERT INTO enrollment (course_id, user_id, domain_id, role, status, start_at, end_at, external_id, metadata,
      created_at, updated_at)
    SELECT course_id, user_id, domain_id, role, 'active', start_at, end_at, ext, metadata, $1, $1
    FROM enrollment_target WHERE live_id IS NULL AND deleted = 0`, [now]);
  const deleted = await db.run('DELETE FROM enrollment WHERE id IN (SELECT live_id FROM enrollment_target WHERE deleted = 1 AND live_id IS NOT NULL)');
  const action = unsharedAction(ctx);
  const unshared = action === 'delete'
    ? await db.run(`DELETE FROM enrollment WHERE id IN (SELECT id ${unsharedEnrollments(ctx, action)})`)
    : await db.run(`UPDATE enrollment SET status = $1, updated_at = $2 WHERE id IN (SELECT id ${unsharedEnrollments(ctx, action)})`,
      [ctx.settings.unsharedEnrollments, now]);
  counts.enrollments.restored += restored;
  counts.enrollments.updated += updated;
  counts.enrollments.created += created;
  counts.enrollments.removed += deleted + unshared;
  counts.enrollments.unchanged += matched - restored - updated;
}
