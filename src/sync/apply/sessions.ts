/**
 * Academic sessions: not LMS entities (a course keeps its term's title and dates), but kept per
 * domain as the files sent them, so that a delta file's class may name a term an earlier file sent
 * (reference-checks.ts, and the class's term in courses.ts). A bulk file replaces the domain's set
 * (a session the file lists but rejected stays as it was); a delta file adds, updates and deletes.
 */
import type { ApplyContext } from './context';

const COLUMNS = ['title', 'type', 'start_date', 'end_date', 'school_year', 'parent_sid'] as const;

export async function applySessions(ctx: ApplyContext): Promise<void> {
  const { db, root } = ctx;
  const mode = ctx.modes.academicSessions;
  if (mode === 'bulk') {
    await db.run(`DELETE FROM academic_session WHERE domain_id = $1
      AND external_id NOT IN (SELECT 'or-' || sid FROM stage_sessions WHERE sid IS NOT NULL)`, [root.id]);
  } else if (mode === 'delta') {
    await db.run(`DELETE FROM academic_session WHERE domain_id = $1
      AND external_id IN (SELECT 'or-' || sid FROM stage_sessions WHERE ok = 1 AND deleted = 1)`, [root.id]);
  } else {
    return;
  }
  // SQLite needs the SELECT's WHERE to read ON CONFLICT as the upsert clause; the update's WHERE
  // leaves unchanged sessions unwritten (the same file twice writes nothing)
  await db.run(`INSERT INTO academic_session (domain_id, external_id, ${COLUMNS.join(', ')})
    SELECT $1, 'or-' || sid, ${COLUMNS.join(', ')} FROM stage_sessions WHERE ok = 1 AND deleted = 0
    ON CONFLICT (domain_id, external_id) DO UPDATE SET ${COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}
    WHERE ${COLUMNS.map((c) => `academic_session.${c} IS DISTINCT FROM excluded.${c}`).join(' OR ')}`, [root.id]);
}
