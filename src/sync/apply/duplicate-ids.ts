/**
 * Managed entities of one kind that share an external ID inside the district: a sync cannot tell
 * which of them is the SIS's record, and would match the file's row to both (updating both, and
 * writing an enrollment once per match, differently on each run). It happens by hand, e.g. when an
 * admin replacing a managed course copies its external ID onto the new course instead of moving
 * it (product-rules.md). The sync then fails and changes nothing, naming what to fix.
 *
 * Users and courses cost ~0.3 s at 200k users (PostgreSQL). Grouping a million enrollments would
 * cost about a second on every sync, so they are grouped only when the sync's own join shows that a
 * row of the file matched two of them (findDuplicateEnrollmentIds).
 */
import type { SqlSession } from '../../db/sql-session';
import { count, IN_SCOPE, MANAGED } from './context';

export interface DuplicateId {
  kind: 'domain' | 'user' | 'course' | 'enrollment';
  externalId: string;
  count: number;
  firstId: number;
  lastId: number;
}

const TABLES: Array<[DuplicateId['kind'], string, string]> = [
  ['domain', 'domain', `id IN ${IN_SCOPE}`],
  ['user', 'lms_user', `domain_id IN ${IN_SCOPE}`],
  ['course', 'course', `domain_id IN ${IN_SCOPE}`],
];

/** At most `limit` of each kind, by external ID. */
export async function findDuplicateIds(db: SqlSession, limit = 20): Promise<DuplicateId[]> {
  // PostgreSQL: bytewise grouping (the database's collation sorts 200k IDs 3× slower), and no
  // ORDER BY or LIMIT, which lead the planner to a nested loop over the external_id index
  const key = db.dialect === 'postgres' ? 'external_id COLLATE "C"' : 'external_id';
  const out: DuplicateId[] = [];
  for (const [kind, table, scope] of TABLES) {
    const rows = await db.query<{ ext: string; n: number | string; first_id: number | string; last_id: number | string }>(
      `SELECT ${key} AS ext, count(*) AS n, min(id) AS first_id, max(id) AS last_id FROM ${table}
       WHERE ${MANAGED} AND ${scope} GROUP BY 1 HAVING count(*) > 1`);
    rows.sort((a, b) => (a.ext < b.ext ? -1 : a.ext > b.ext ? 1 : 0));
    for (const r of rows.slice(0, limit)) out.push({ kind, externalId: r.ext, count: Number(r.n), firstId: Number(r.first_id), lastId: Number(r.last_id) });
  }
  return out;
}

/**
 * Enrollments that a valid row of the file matched twice, read from enrollment_target before the
 * base-course enrollments join it. Each valid row resolves to exactly one course and one user: the
 * reference checks found them under the join's conditions, a row whose user or class the apply
 * skipped was rejected with it, and duplicated courses and users failed the sync already. So the
 * target has one row per valid row unless a row matched two live enrollments: two cheap counts,
 * and the grouping only when they differ. Managed enrollments that share an ID but that no row
 * lists are left to the unshared handling, which treats them alike.
 */
export async function findDuplicateEnrollmentIds(db: SqlSession, limit = 20): Promise<DuplicateId[]> {
  const valid = await count(db, 'SELECT count(*) AS n FROM stage_enrollments WHERE ok = 1');
  if ((await count(db, 'SELECT count(*) AS n FROM enrollment_target')) <= valid) return [];
  const rows = await db.query<{ ext: string; n: number | string; first_id: number | string; last_id: number | string }>(
    `SELECT ext, count(*) AS n, min(live_id) AS first_id, max(live_id) AS last_id FROM enrollment_target
     WHERE live_id IS NOT NULL GROUP BY ext HAVING count(*) > 1`);
  rows.sort((a, b) => (a.ext < b.ext ? -1 : a.ext > b.ext ? 1 : 0));
  return rows.slice(0, limit).map((r) => ({ kind: 'enrollment', externalId: r.ext, count: Number(r.n), firstId: Number(r.first_id), lastId: Number(r.last_id) }));
}

const PLURAL: Record<DuplicateId['kind'], string> = { domain: 'domains', user: 'users', course: 'courses', enrollment: 'enrollments' };

export function duplicateMessage(d: DuplicateId): string {
  const ids = d.count === 2 ? `ids ${d.firstId} and ${d.lastId}` : `ids ${d.firstId} to ${d.lastId}`;
  return `${d.count} ${PLURAL[d.kind]} of this district have the external ID ${d.externalId} (${ids}): a sync cannot tell ` +
    'which one is the SIS\'s. Remove the ID from all but one of them (to replace an entity, move its ID, do not copy it)';
}
