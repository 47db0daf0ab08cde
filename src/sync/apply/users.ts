/**
 * Users: each lands in the domain of its first org; a user whose first org changes moves there
 * (same id, history and enrollments). Passwords are set only on creation, hashed after commit
 * (see passwords.ts). Roles are never touched: a sync cannot grant Administrator.
 */
import { analyze, type SqlSession } from '../../db/sql-session';
import { type ApplyContext, count, IN_SCOPE, MANAGED, sameFlag } from './context';

const FIELDS = ['domain_id', 'username', 'given_name', 'family_name', 'email', 'metadata'] as const;
const differs = FIELDS.map((f) => `lms_user.${f} IS DISTINCT FROM t.${f}`).join(' OR ');
const assign = FIELDS.map((f) => `${f} = t.${f}`).join(', ');

/**
 * Flags taken in the join that finds each live user anyway, so that the conflict check and the
 * writes below look only at users that move, rename or change: on a re-sync of 200k unchanged
 * users each of those three statements otherwise joined every staged user to its live one again
 * (0.3–0.8 s each on PostgreSQL). The writes still compare the live row, as before.
 */
const TARGET_VALUES: Record<(typeof FIELDS)[number], string> = {
  domain_id: 'od.domain_id', username: 's.username', given_name: 's.given_name', family_name: 's.family_name', email: 's.email',
  metadata: 's.metadata',
};
const renamedFlag = "CASE WHEN u.id IS NOT NULL AND (u.username <> s.username OR u.domain_id <> od.domain_id) THEN 1 ELSE 0 END";
const same = sameFlag('u', 'u.id IS NOT NULL', TARGET_VALUES);

/**
 * Builds user_target (one row per valid staged user, with its domain and matching LMS user).
 * Returns how many users it rejected for username conflicts.
 */
export async function prepareUsers(ctx: ApplyContext): Promise<number> {
  const { db } = ctx;
  await db.run('DROP TABLE IF EXISTS user_target');
  await db.run(`CREATE ${db.scratch} user_target AS
    SELECT s.line, s.sid, s.ext, od.domain_id, s.username, s.given_name, s.family_name, s.email, s.metadata, s.deleted,
           u.id AS live_id, u.status AS live_status, ${renamedFlag} AS renamed, ${same} AS same
    FROM stage_users s
    JOIN org_domain od ON od.sid = s.first_org_sid
    LEFT JOIN lms_user u ON u.external_id = s.ext AND u.domain_id IN ${IN_SCOPE}
    WHERE s.ok = 1`);
  await db.run('CREATE INDEX ix_user_target_live ON user_target (live_id)');
  await db.run('CREATE INDEX ix_user_target_name ON user_target (domain_id, username)');
  // sizes for the planner: the statements below start from the few flagged rows
  await analyze(db, ['user_target']);
  return rejectUsernameConflicts(ctx);
}

/**
 * Usernames are unique per domain. A staged user loses to an earlier row of the file with the same
 * username in the same domain, and to any LMS user that keeps that username after the sync.
 */
async function rejectUsernameConflicts(ctx: ApplyContext): Promise<number> {
  const { db } = ctx;
  type Conflict = { line: number; sid: string; username: string; other_line: number | null; other_ext: string | null };
  const inFile = await sharesAUsername(db) ? await db.query<Conflict>(`
    SELECT t.line, t.sid, t.username, d.first_line AS other_line, NULL AS other_ext
    FROM user_target t
    JOIN (SELECT domain_id, username, min(line) AS first_line FROM user_target WHERE deleted = 0
          GROUP BY domain_id, username HAVING count(*) > 1) d ON d.domain_id = t.domain_id AND d.username = t.username
    WHERE t.deleted = 0 AND t.line > d.first_line`) : [];
  // another LMS user holds the name, and keeps it after the sync: it is not in the file (m), or the
  // file leaves its name as it is. Only a new or renamed user can meet one: a user that keeps its
  // name and domain holds that name itself, and the unique index allows no other holder
  const taken = await db.query<Conflict>(`
    SELECT t.line, t.sid, t.username, NULL AS other_line, coalesce(u.external_id, '(made by hand)') AS other_ext
    FROM user_target t
    JOIN lms_user u ON u.domain_id = t.domain_id AND u.username = t.username
    LEFT JOIN user_target m ON m.live_id = u.id AND m.deleted = 0
    WHERE t.deleted = 0 AND (t.live_id IS NULL OR (t.renamed = 1 AND u.id <> t.live_id))
      AND (m.live_id IS NULL OR (m.username = u.username AND m.domain_id = u.domain_id))`);
  const conflicts = [...inFile, ...taken].sort((a, b) => Number(a.line) - Number(b.line));
  const seen = new Set<number>();
  for (const c of conflicts) {
    if (seen.has(Number(c.line))) continue;
    seen.add(Number(c.line));
    const by = c.other_line ? `users.csv line ${c.other_line}` : `the LMS user with external ID ${c.other_ext}`;
    ctx.issues.error('apply.username_taken', { file: 'users.csv', line: Number(c.line), column: 'username', sourcedId: c.sid },
      `username "${c.username}" is already used in that domain by ${by}; this row is skipped`);
    await db.run('UPDATE stage_users SET ok = 0 WHERE line = $1', [c.line]);
    await db.run('DELETE FROM user_target WHERE line = $1', [c.line]);
  }
  return seen.size;
}

/**
 * Whether two rows of the file may give one domain the same username. PostgreSQL counts distinct
 * 64-bit hashes first (200k users: ~0.07 s against ~0.3 s for the grouping); a collision only
 * runs the grouping, which then finds nothing. SQLite groups along the (domain_id, username) index.
 */
async function sharesAUsername(db: SqlSession): Promise<boolean> {
  if (db.dialect !== 'postgres') return true;
  return (await count(db, `SELECT count(*) - count(DISTINCT hashtextextended(username, domain_id)) AS n
    FROM user_target WHERE deleted = 0`)) > 0;
}

/** Removals the users step would make (for the safety threshold). */
export async function plannedUserRemovals(ctx: ApplyContext): Promise<number> {
  const deletes = await count(ctx.db, "SELECT count(*) AS n FROM user_target WHERE deleted = 1 AND live_id IS NOT NULL AND live_status <> 'deleted'");
  return deletes + (await count(ctx.db, `SELECT count(*) AS n ${unsharedUsers(ctx)}`));
}

/** A user as a held run lists it: "Given Family (username)". */
export const USER_NAME = (u: string): string => `trim(${u}.given_name || ' ' || ${u}.family_name) || ' (' || ${u}.username || ')'`;

/** The removals plannedUserRemovals counts, as rows (external_id, name) for a held run's list. */
export function plannedUserRemovalRows(ctx: ApplyContext): string[] {
  return [
    `SELECT u.external_id AS external_id, ${USER_NAME('u')} AS name FROM user_target t JOIN lms_user u ON u.id = t.live_id
      WHERE t.deleted = 1 AND t.live_id IS NOT NULL AND t.live_status <> 'deleted'`,
    `SELECT external_id, ${USER_NAME('lms_user')} AS name ${unsharedUsers(ctx)}`,
  ];
}

function unsharedUsers(ctx: ApplyContext): string {
  const setting = ctx.settings.unsharedUsers;
  if (setting === 'nothing' || ctx.modes.users !== 'bulk') return 'FROM lms_user WHERE 1 = 0';
  const from = setting === 'delete' ? "status <> 'deleted'" : "status = 'active'";
  return `FROM lms_user WHERE ${MANAGED} AND domain_id IN ${IN_SCOPE} AND ${from}
    AND NOT EXISTS (SELECT 1 FROM stage_users s WHERE s.ext = lms_user.external_id)`;
}

export async function applyUsers(ctx: ApplyContext): Promise<void> {
  const { db, counts, now } = ctx;
  const matched = await count(db, 'SELECT count(*) AS n FROM user_target WHERE live_id IS NOT NULL AND deleted = 0');
  // Usernames may pass from one user to another in one file (s1 takes s2's, s2 a new one). The
  // unique (domain_id, username) index is checked row by row within an UPDATE, so first park every
  // changing username on a placeholder no real username has (it starts with U+0001).
  await db.run(`UPDATE lms_user SET username = $1 || CAST(lms_user.id AS text) FROM user_target t
    WHERE lms_user.id = t.live_id AND t.deleted = 0 AND t.renamed = 1 AND (lms_user.username <> t.username OR lms_user.domain_id <> t.domain_id)`,
  ['\u0001rename:']);
  const restored = await db.run(`UPDATE lms_user SET ${assign}, status = 'active', updated_at = $1 FROM user_target t
    WHERE lms_user.id = t.live_id AND t.deleted = 0 AND t.live_status <> 'active'`, [now]);
  const updated = await db.run(`UPDATE lms_user SET ${assign}, updated_at = $1 FROM user_target t
    WHERE lms_user.id = t.live_id AND t.deleted = 0 AND t.same = 0 AND (${differs})`, [now]);
  const created = await db.run(`INSERT INTO lms_user (domain_id, username, given_name, family_name, email, password_hash, roles, status,
      external_id, metadata, created_at, updated_at)
    SELECT domain_id, username, given_name, family_name, email, NULL, '[]', 'active', ext, metadata, $1, $1
    FROM user_target WHERE live_id IS NULL AND deleted = 0`, [now]);
  const deleted = await db.run(`UPDATE lms_user SET status = 'deleted', updated_at = $1 FROM user_target t
    WHERE lms_user.id = t.live_id AND t.deleted = 1 AND lms_user.status <> 'deleted'`, [now]);
  const target = ctx.settings.unsharedUsers === 'delete' ? 'deleted' : 'inactive';
  const unshared = await db.run(`UPDATE lms_user SET status = '${target}', updated_at = $1
    WHERE id IN (SELECT id ${unsharedUsers(ctx)})`, [now]);
  counts.users.restored += restored;
  counts.users.updated += updated;
  counts.users.created += created;
  counts.users.removed += deleted + unshared;
  counts.users.unchanged += matched - restored - updated;
}
