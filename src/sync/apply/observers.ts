/**
 * Observer links from agentSourcedIds: a student listing a parent, guardian or relative (or such
 * an agent listing the student) links the agent as the student's observer. Both directions give
 * the same link. With a bulk users.csv, managed links no longer listed are removed: a former
 * guardian must not keep seeing a child's data.
 */
import { type ApplyContext, count, IN_SCOPE } from './context';

const OBSERVER_ROLES = "('parent', 'guardian', 'relative')";

export async function applyObservers(ctx: ApplyContext): Promise<void> {
  const { db } = ctx;
  const pairs = `FROM stage_user_agents a
    JOIN stage_users su ON su.line = a.line AND su.ok = 1 AND su.deleted = 0
    JOIN stage_users ag ON ag.sid = a.agent_sid AND ag.ok = 1 AND ag.deleted = 0`;
  const odd = await db.query<{ line: number; sid: string; agent_sid: string; role: string; agent_role: string }>(
    `SELECT a.line, su.sid, a.agent_sid, su.role, ag.role AS agent_role ${pairs}
     WHERE NOT ((su.role = 'student' AND ag.role IN ${OBSERVER_ROLES}) OR (su.role IN ${OBSERVER_ROLES} AND ag.role = 'student'))
     ORDER BY a.line LIMIT ${ctx.issues.room + 1}`);
  for (const o of odd.slice(0, ctx.issues.room)) {
    ctx.issues.warning('ref.agent_role', { file: 'users.csv', line: Number(o.line), column: 'agentSourcedIds', sourcedId: o.sid },
      `agent "${o.agent_sid}" (${o.agent_role}) of this ${o.role} makes no observer link; links pair a student with a parent, guardian or relative`);
  }

  // pairs first, materialized: SQLite would otherwise re-run the pair query for every LMS user it joins
  await db.run('DROP TABLE IF EXISTS observer_pair');
  await db.run(`CREATE ${db.scratch} observer_pair AS SELECT DISTINCT
      CASE WHEN su.role = 'student' THEN ag.sid ELSE su.sid END AS observer_sid,
      CASE WHEN su.role = 'student' THEN su.sid ELSE ag.sid END AS student_sid ${pairs}
    WHERE (su.role = 'student' AND ag.role IN ${OBSERVER_ROLES}) OR (su.role IN ${OBSERVER_ROLES} AND ag.role = 'student')`);
  await db.run('DROP TABLE IF EXISTS observer_target');
  await db.run(`CREATE ${db.scratch} observer_target AS
    SELECT DISTINCT ob.id AS observer_id, st.id AS student_id, 'or-observer:' || p.observer_sid || ':' || p.student_sid AS ext
    FROM observer_pair p
    JOIN lms_user ob ON ob.external_id = 'or-' || p.observer_sid AND ob.domain_id IN ${IN_SCOPE}
    JOIN lms_user st ON st.external_id = 'or-' || p.student_sid AND st.domain_id IN ${IN_SCOPE}`);
  await db.run('CREATE INDEX ix_observer_target ON observer_target (observer_id, student_id)');

  const existing = await count(db, `SELECT count(*) AS n FROM observer_target t
    WHERE EXISTS (SELECT 1 FROM observer_link l WHERE l.observer_id = t.observer_id AND l.student_id = t.student_id)`);
  const created = await db.run(`INSERT INTO observer_link (observer_id, student_id, external_id, created_at)
    SELECT observer_id, student_id, ext, $1 FROM observer_target t
    WHERE NOT EXISTS (SELECT 1 FROM observer_link l WHERE l.observer_id = t.observer_id AND l.student_id = t.student_id)`, [ctx.now]);
  let removed = 0;
  if (ctx.modes.users === 'bulk') {
    // links of users whose rows were rejected stay: the file did not really drop them
    removed = await db.run(`DELETE FROM observer_link WHERE substr(external_id, 1, 12) = 'or-observer:'
      AND student_id IN (SELECT id FROM lms_user WHERE domain_id IN ${IN_SCOPE})
      AND NOT EXISTS (SELECT 1 FROM observer_target t WHERE t.observer_id = observer_link.observer_id AND t.student_id = observer_link.student_id)
      AND NOT EXISTS (SELECT 1 FROM lms_user u JOIN stage_users s ON s.sid = substr(u.external_id, 4) AND s.ok = 0
                      WHERE u.id IN (observer_link.observer_id, observer_link.student_id))`);
  }
  ctx.counts.observers.created += created;
  ctx.counts.observers.unchanged += existing;
  ctx.counts.observers.removed += removed;
}
