/**
 * Cross-row rules, run as set-based SQL over the staging tables once the whole file is loaded:
 * duplicate sourcedIds, references between files, org cycles. A failing row is marked ok = 0 and
 * reported; checks run in dependency order, so rows that depend on a rejected row are rejected
 * (and say so) in turn. A reference into a delta file, or into a file a delta upload leaves out,
 * may also name a record the LMS already holds.
 * Then what is legal but would be lost or is suspicious, as warnings on the row's line: rows that
 * need a record marked tobedeleted (not applied, or applied without it), an org whose parent the
 * file left out, and contradictions between an enrollment and its user, class or school.
 */
import { analyze, type SqlSession, type SqlValue } from '../db/sql-session';
import type { IssueCode, IssueSink, Severity, SyncIssue } from '../oneroster/issues';
import { buildsOnEarlierSyncs, type DataFile, type FileMode } from '../oneroster/types';
import { SCHEMAS } from '../oneroster/schemas';
import { KEPT_RECORDS } from './apply/kept-records';
import type { ZonedDates } from './dates';
import { FILE_TABLES, stageColumns, type StageTable } from './stage-tables';

type Modes = Record<DataFile, FileMode>;

interface Failure { line: number; sid: string | null; ref: string; ref_line: number | null }

const REFERABLE = Object.values(KEPT_RECORDS).filter((k) => k.referable);

/**
 * What can satisfy a reference in delta mode besides the file: managed LMS rows inside the sync's
 * scope, and the academic sessions and courses earlier files sent (apply/kept-records.ts).
 */
const LIVE: Partial<Record<StageTable, string>> = {
  ...Object.fromEntries(REFERABLE.map((k) => [k.stage,
    `SELECT 1 FROM ${k.table} x WHERE x.external_id = 'or-' || s.ref AND x.domain_id IN (SELECT id FROM scope_domain)`])),
  stage_orgs: `SELECT 1 FROM domain x WHERE x.external_id = 'or-' || s.ref AND x.id IN (SELECT id FROM scope_domain)`,
  stage_users: `SELECT 1 FROM lms_user x WHERE x.external_id = 'or-' || s.ref AND x.domain_id IN (SELECT id FROM scope_domain)`,
  stage_classes: `SELECT 1 FROM course x WHERE x.external_id = 'or-' || s.ref AND x.domain_id IN (SELECT id FROM scope_domain)`,
};

const KEPT_TARGETS: ReadonlySet<StageTable> = new Set(REFERABLE.map((k) => k.stage));

const TABLE_FILE: Partial<Record<StageTable, DataFile>> = Object.fromEntries(
  Object.entries(FILE_TABLES).map(([file, table]) => [table, file as DataFile]),
);

interface RefRule {
  /**
   * rows that hold the reference: `line`, `sid` (the row's own sourcedId) and `ref`; from the owner
   * table itself (see `sel`) also `ok` and `deleted`, so no join back to the owner is needed
   */
  from: string;
  /** the owner's column holding the reference, when `from` reads the owner table itself */
  direct?: string;
  /** the file table whose row is rejected (matched by line) when the rule is an error */
  owner: StageTable;
  column: string;
  target: StageTable;
  severity: Severity;
  /** code for a reference to nothing (ref.unknown unless said) */
  unknownCode?: IssueCode;
  /**
   * not checked for tobedeleted rows: deleting the record does not need it (a delta that deletes
   * a class need not carry its terms, which an earlier file may never have sent)
   */
  notForDeleted?: boolean;
  /**
   * only a reference to a row of the file that was rejected fails; one to nothing is another
   * check's (orgParents: a parent the export left out is accepted with a warning)
   */
  rejectedOnly?: boolean;
}

/** In dependency order: each rule sees the rejections of the ones before it. */
const RULES: RefRule[] = [
  // a child of a rejected parent stays rejected: placed under the root instead, it would stay
  // there once the parent is fixed (a domain's parent is set on creation only)
  { ...sel('stage_orgs', 'parent_sid'), column: 'parentSourcedId', target: 'stage_orgs', severity: 'error', rejectedOnly: true },
  { ...sel('stage_sessions', 'parent_sid'), column: 'parentSourcedId', target: 'stage_sessions', severity: 'warning' },
  { ...sel('stage_courses', 'org_sid'), column: 'orgSourcedId', target: 'stage_orgs', severity: 'error' },
  { ...sel('stage_courses', 'school_year_sid'), column: 'schoolYearSourcedId', target: 'stage_sessions', severity: 'warning' },
  { ...sel('stage_classes', 'school_sid'), column: 'schoolSourcedId', target: 'stage_orgs', severity: 'error' },
  { from: 'SELECT t.line, t.class_sid AS sid, t.term_sid AS ref FROM stage_class_terms t', owner: 'stage_classes', column: 'termSourcedIds', target: 'stage_sessions', severity: 'error', notForDeleted: true },
  { ...sel('stage_classes', 'course_sid'), column: 'courseSourcedId', target: 'stage_courses', severity: 'warning', unknownCode: 'ref.course_unknown', notForDeleted: true },
  { from: 'SELECT t.line, t.user_sid AS sid, t.org_sid AS ref FROM stage_user_orgs t', owner: 'stage_users', column: 'orgSourcedIds', target: 'stage_orgs', severity: 'error' },
  { ...sel('stage_enrollments', 'class_sid'), column: 'classSourcedId', target: 'stage_classes', severity: 'error' },
  { ...sel('stage_enrollments', 'user_sid'), column: 'userSourcedId', target: 'stage_users', severity: 'error' },
  { ...sel('stage_enrollments', 'school_sid'), column: 'schoolSourcedId', target: 'stage_orgs', severity: 'error' },
  { from: 'SELECT t.line, t.user_sid AS sid, t.agent_sid AS ref FROM stage_user_agents t', owner: 'stage_users', column: 'agentSourcedIds', target: 'stage_users', severity: 'warning' },
];

export class ReferenceChecker {
  constructor(private readonly db: SqlSession, private readonly issues: IssueSink, private readonly modes: Modes,
    private readonly dates: ZonedDates) {}

  async run(): Promise<void> {
    for (const table of Object.values(FILE_TABLES)) await this.duplicates(table);
    await this.orgCycles();
    const rules = RULES.filter((r) => this.checked(r));
    for (let i = 0; i < rules.length;) {
      const group = sameOwnerGroup(rules, i);
      // one pass over a big file for all its references, the rule by rule passes only if one fails
      if (group.length === 1 || await this.anyFails(group)) for (const rule of group) await this.reference(rule);
      i += group.length;
    }
    await this.orgParents();
    for (const d of DEPENDANTS) await this.deletedDependant(d);
    await this.schoolTypes();
    await this.enrollmentChecks();
    await this.demographics();
  }

  /** After users were rejected late (username conflicts), reject what depends on them too. */
  async afterUserRejections(): Promise<void> {
    for (const rule of RULES.filter((r) => r.target === 'stage_users' && r.severity === 'error')) await this.reference(rule);
  }

  /**
   * A reference into a file a bulk upload leaves out cannot be checked: only courses.csv may be
   * left out (manifest.ts), which the manifest check reports once for the whole upload.
   */
  private checked(rule: RefRule): boolean {
    const target = TABLE_FILE[rule.target]!;
    return this.modes[target] !== 'absent' || buildsOnEarlierSyncs(this.modes, target);
  }

  /** Whether any row of the group's owner breaks one of its rules (ignoring the LMS: a superset). */
  private async anyFails(group: RefRule[]): Promise<boolean> {
    const broken = group.map((r) => `(s.${r.direct} IS NOT NULL${r.notForDeleted ? ' AND s.deleted = 0' : ''}
      AND NOT EXISTS (SELECT 1 FROM ${r.target} t WHERE t.sid = s.${r.direct} AND t.ok = 1))`);
    return (await this.db.query(`SELECT 1 AS hit FROM ${group[0].owner} s WHERE s.ok = 1 AND (${broken.join(' OR ')}) LIMIT 1`)).length > 0;
  }

  /** The first occurrence of a sourcedId wins; later ones are rejected and point back to it. */
  private async duplicates(table: StageTable): Promise<void> {
    if (!(await this.anyDuplicate(table))) return;
    const file = fileName(table);
    const dupes = `SELECT sid, min(line) AS first_line FROM ${table} WHERE sid IS NOT NULL GROUP BY sid HAVING count(*) > 1`;
    const rows = await this.db.query<{ line: number; sid: string; first_line: number }>(
      `SELECT s.line, s.sid, d.first_line FROM ${table} s JOIN (${dupes}) d ON d.sid = s.sid
       WHERE s.line > d.first_line AND s.ok = 1 ORDER BY s.line LIMIT ${this.issues.room + 1}`);
    if (!rows.length) return;
    const total = await this.db.run(
      `UPDATE ${table} SET ok = 0 WHERE ok = 1 AND line > (SELECT min(d.line) FROM ${table} d WHERE d.sid = ${table}.sid)
       AND sid IN (SELECT sid FROM (${dupes}) x)`);
    this.report(rows.map((r) => ({ severity: 'error' as const, code: 'ref.duplicate_id' as const, file, line: Number(r.line),
      column: 'sourcedId', sourcedId: r.sid, message: `sourcedId "${r.sid}" already appears on line ${r.first_line}; this row is skipped` })), total);
  }

  /**
   * One sort instead of the grouping and join below, which cost 3.3 s at 1M enrollments (a hash
   * aggregate of every sourcedId, built again in each parallel worker). PostgreSQL sorts 64-bit
   * hashes of the sourcedIds, not the text (1M: ~0.55 s against ~0.9–1.3 s): two different IDs
   * with the same hash only send the sync to the exact grouping, which then finds nothing.
   */
  private async anyDuplicate(table: StageTable): Promise<boolean> {
    const key = this.db.dialect === 'postgres' ? 'hashtextextended(sid, 0)' : 'sid';
    const [row] = await this.db.query<{ n: number | string }>(`SELECT count(sid) - count(DISTINCT ${key}) AS n FROM ${table}`);
    return Number(row.n) > 0;
  }

  private async reference(rule: RefRule): Promise<void> {
    const file = fileName(rule.owner);
    const targetFile = fileName(rule.target);
    const earlier = buildsOnEarlierSyncs(this.modes, TABLE_FILE[rule.target]!);
    const live = earlier && LIVE[rule.target] ? ` AND NOT EXISTS (${LIVE[rule.target]})` : '';
    const usable = (row: string) => `${row}.ok = 1${rule.notForDeleted ? ` AND ${row}.deleted = 0` : ''}`;
    const valid = rule.direct ? usable('s') : `EXISTS (SELECT 1 FROM ${rule.owner} o WHERE o.line = s.line AND ${usable('o')})`;
    const rejectedOnly = rule.rejectedOnly ? ` AND EXISTS (SELECT 1 FROM ${rule.target} t WHERE t.sid = s.ref)` : '';
    const failing = `FROM (${rule.from}) s WHERE s.ref IS NOT NULL AND ${valid}
      AND NOT EXISTS (SELECT 1 FROM ${rule.target} t WHERE t.sid = s.ref AND t.ok = 1)${live}${rejectedOnly}`;
    const rows = await this.db.query<Failure>(
      `SELECT s.line, s.sid, s.ref, (SELECT min(t.line) FROM ${rule.target} t WHERE t.sid = s.ref) AS ref_line
       ${failing} ORDER BY s.line LIMIT ${this.issues.room + 1}`);
    if (!rows.length) return;
    const total = rule.severity === 'error'
      ? await this.db.run(`UPDATE ${rule.owner} SET ok = 0 WHERE ok = 1 AND line IN (SELECT s.line ${failing})`)
      : Number((await this.db.query<{ n: number }>(`SELECT count(*) AS n ${failing}`))[0].n);
    const skipped = rule.severity === 'error' ? '; this row is skipped' : '';
    this.report(rows.map((r) => {
      const rejected = r.ref_line !== null;
      const code: IssueCode = rejected ? 'ref.rejected' : rule.unknownCode ?? 'ref.unknown';
      const where = !earlier ? '' : KEPT_TARGETS.has(rule.target) ? ' nor sent by an earlier file' : ' nor already in the LMS';
      const message = rejected
        ? `${rule.column} "${r.ref}" refers to ${targetFile} line ${r.ref_line}, which was rejected${skipped}`
        : rule.unknownCode === 'ref.course_unknown'
          ? `${rule.column} "${r.ref}" is not in ${targetFile}${where}: the section is created without teacher or term base courses`
          : `${rule.column} "${r.ref}" is not in ${targetFile}${where}${skipped}`;
      return { severity: rule.severity, code, file, line: Number(r.line), column: rule.column, sourcedId: r.sid, message };
    }), total);
  }

  /** Org parents must form a tree; every org on a cycle is rejected. */
  private async orgCycles(): Promise<void> {
    const orgs = await this.db.query<{ line: number; sid: string; parent_sid: string | null }>(
      'SELECT line, sid, parent_sid FROM stage_orgs WHERE ok = 1');
    const parent = new Map(orgs.map((o) => [o.sid, o.parent_sid]));
    const onCycle = new Set<string>();
    for (const start of parent.keys()) {
      const path: string[] = [];
      const seen = new Set<string>();
      for (let at: string | null | undefined = start; at && parent.has(at); at = parent.get(at)) {
        if (seen.has(at)) { for (const s of path.slice(path.indexOf(at))) onCycle.add(s); break; }
        seen.add(at); path.push(at);
      }
    }
    if (!onCycle.size) return;
    const cycle = [...onCycle];
    for (const o of orgs.filter((x) => onCycle.has(x.sid))) {
      await this.db.run('UPDATE stage_orgs SET ok = 0 WHERE line = $1', [o.line]);
      this.issues.error('ref.org_cycle', { file: 'orgs.csv', line: Number(o.line), column: 'parentSourcedId', sourcedId: o.sid },
        `org "${o.sid}" is on a parent cycle (${cycle.join(' → ')}); this row is skipped`);
    }
  }

  /** A class's school should be an org of type school (a warning: it still works as a domain). */
  private async schoolTypes(): Promise<void> {
    const rows = await this.db.query<{ line: number; sid: string; school_sid: string; type: string }>(
      `SELECT c.line, c.sid, c.school_sid, o.type FROM stage_classes c JOIN stage_orgs o ON o.sid = c.school_sid AND o.ok = 1
       WHERE c.ok = 1 AND o.type <> 'school' ORDER BY c.line LIMIT ${this.issues.room + 1}`);
    this.report(rows.map((r) => ({ severity: 'warning' as const, code: 'ref.wrong_type' as const, file: 'classes.csv', line: Number(r.line),
      column: 'schoolSourcedId', sourcedId: r.sid, message: `schoolSourcedId "${r.school_sid}" is an org of type ${r.type}, not school` })), rows.length);
  }

  /**
   * An org whose parent is not in the file (a state org the export left out) is accepted without
   * it, with a warning; so is one whose parent is tobedeleted and not in the LMS (applyDomains
   * skips such a parent). Either way a new domain goes under the sync's root domain. In a delta, a
   * parent the LMS already holds is fine. Orgs are few: one query, no cap needed on what it reads.
   */
  private async orgParents(): Promise<void> {
    const inLms = `CASE WHEN EXISTS (SELECT 1 FROM domain x WHERE x.external_id = 'or-' || s.parent_sid
      AND x.id IN (SELECT id FROM scope_domain)) THEN 1 ELSE 0 END`;
    const rows = await this.db.query<{ line: number; sid: string; parent_sid: string; parent_line: number | null; in_lms: number }>(
      `SELECT s.line, s.sid, s.parent_sid, p.line AS parent_line, ${inLms} AS in_lms
       FROM stage_orgs s LEFT JOIN stage_orgs p ON p.sid = s.parent_sid AND p.ok = 1
       WHERE s.ok = 1 AND s.deleted = 0 AND s.parent_sid IS NOT NULL AND (p.sid IS NULL OR p.deleted = 1) ORDER BY s.line`);
    const delta = this.modes.orgs === 'delta';
    const out: SyncIssue[] = [];
    for (const r of rows) {
      const inLmsToo = Number(r.in_lms) === 1;
      const at = { severity: 'warning' as const, file: 'orgs.csv', line: Number(r.line), column: 'parentSourcedId', sourcedId: r.sid };
      const underRoot = "the org is accepted without a parent (a new domain goes under the sync's root domain)";
      if (r.parent_line === null) {
        if (inLmsToo && delta) continue;
        out.push({ ...at, code: 'ref.org_parent_missing', message: inLmsToo
          ? `parentSourcedId "${r.parent_sid}" is not in orgs.csv; the LMS holds that org, so a new domain goes under it`
          : `parentSourcedId "${r.parent_sid}" is not in orgs.csv${delta ? ' nor already in the LMS' : ''}: ${underRoot}` });
      } else if (!inLmsToo) {
        out.push({ ...at, code: 'ref.deleted',
          message: `parentSourcedId "${r.parent_sid}" is marked tobedeleted on orgs.csv line ${r.parent_line} and the LMS has no such domain: ${underRoot}` });
      }
    }
    this.reportAll(out, counted(out));
  }

  /**
   * Rows that need a record marked tobedeleted (or a record not applied because of one) would be
   * dropped or changed without a word further on: each gets a warning on its own line, and those
   * that cannot be applied are set aside (ok = 0, deleted = 2). A tobedeleted row needs nothing.
   * Checked only when such a record exists: the big files are read only then.
   */
  private async deletedDependant(d: Dependant): Promise<void> {
    if (!(await this.db.query(`SELECT 1 AS hit FROM ${d.target} t WHERE ${d.gone} LIMIT 1`)).length) return;
    const from = `FROM ${d.owner} s JOIN ${d.target} t ON t.sid = s.${d.refCol} AND ${d.gone} WHERE s.ok = 1 AND s.deleted = 0`;
    const rows = await this.db.query<{ line: number; sid: string; ref: string; ref_line: number; ref_deleted: number }>(
      `SELECT s.line, s.sid, s.${d.refCol} AS ref, t.line AS ref_line, t.deleted AS ref_deleted ${from} ORDER BY s.line LIMIT ${this.issues.room + 1}`);
    if (!rows.length) return;
    const total = d.drop
      ? await this.db.run(`UPDATE ${d.owner} SET ok = 0, deleted = 2 WHERE ok = 1 AND deleted = 0
          AND ${d.refCol} IN (SELECT t.sid FROM ${d.target} t WHERE ${d.gone})`)
      : await this.overflowCount(rows.length, `SELECT count(*) AS n ${from}`);
    const file = fileName(d.owner), targetFile = fileName(d.target);
    this.report(rows.map((r) => ({
      severity: 'warning' as const, code: 'ref.deleted' as const, file, line: Number(r.line), column: d.column, sourcedId: r.sid,
      message: Number(r.ref_deleted) === 1
        ? `${d.column} "${r.ref}" is marked tobedeleted on ${targetFile} line ${r.ref_line}${d.target === 'stage_orgs' ? ' and the LMS has no such domain' : ''}: ${d.consequence}`
        : `${d.column} "${r.ref}" is not applied (${targetFile} line ${r.ref_line} needs a record marked tobedeleted): ${d.consequence} either`,
    })), total);
  }

  /**
   * Every enrollment check in one pass over the enrollments (a million rows): a school that
   * differs from the class's or is not a school, a student enrolled as teacher or administrator,
   * primary on a student, dates outside the class's terms. Warnings only. The rows are fetched up
   * to the issue cap; they are counted in a second pass only when there are more.
   */
  private async enrollmentChecks(): Promise<void> {
    await this.stageClassChecks();
    const nonSchools = Number((await this.db.query<{ n: number }>("SELECT count(*) AS n FROM stage_orgs WHERE ok = 1 AND type <> 'school'"))[0].n) > 0;
    const inFile = 'SELECT 1 FROM stage_users u WHERE u.sid = e.user_sid AND u.ok = 1';
    // in a delta the user may be one an earlier file sent: its metadata starts with its role (mapping.ts)
    const lmsStudent = this.modes.users === 'bulk' ? '' : ` OR (NOT EXISTS (${inFile}) AND EXISTS (SELECT 1 FROM lms_user x
      WHERE x.external_id = 'or-' || e.user_sid AND x.domain_id IN (SELECT id FROM scope_domain) AND x.metadata LIKE '{"role":"student"%'))`;
    const privileged = `e.or_role IN ('teacher', 'administrator') AND (EXISTS (${inFile} AND u.role = 'student')${lmsStudent})`;
    const primary = "e.is_primary = 1 AND e.or_role = 'student'";
    // an enrollment [begin, end) must lie within its terms' [first start, last end): only where both are known
    const outside = 'e.start_at < cc.span_start OR e.end_at > cc.span_end';
    // an enrollment at its class's school is not checked again: the class's own warning (schoolTypes) says it
    const otherSchool = "e.school_sid IN (SELECT sid FROM stage_orgs WHERE ok = 1 AND type <> 'school')";
    const checks: Record<EnrollmentCheck, string> = {
      mismatch: 'e.school_sid <> cc.school_sid',
      privileged: `e.deleted = 0 AND ${privileged}`,
      primary: `e.deleted = 0 AND ${primary}`,
      outside: `e.deleted = 0 AND (${outside})`,
      wrong_type: nonSchools ? `e.deleted = 0 AND (cc.sid IS NULL OR e.school_sid <> cc.school_sid) AND ${otherSchool}` : '1 = 0',
    };
    const names = Object.keys(checks) as EnrollmentCheck[];
    // the same rows as the checks' OR, written for a cheap pass over every row: a mismatch is found
    // anyway, so the school's type is looked up only for an enrollment whose class is not in the file
    const byClass = nonSchools && this.modes.classes !== 'bulk' ? ` OR (cc.sid IS NULL AND ${otherSchool})` : '';
    const from = `FROM stage_enrollments e LEFT JOIN class_check cc ON cc.sid = e.class_sid
      WHERE e.ok = 1 AND (${checks.mismatch} OR (e.deleted = 0 AND ((${primary}) OR ${outside} OR (${privileged})${byClass})))`;
    // aliased: primary is an SQL keyword
    const flags = names.map((n) => `CASE WHEN ${checks[n]} THEN 1 ELSE 0 END AS is_${n}`).join(', ');
    const rows = await this.withoutJit(() => this.db.query<EnrollmentRow>(
      `SELECT e.line, e.sid, e.user_sid, e.school_sid, e.or_role, e.metadata, cc.school_sid AS class_school, cc.first_date, cc.last_date,
         (SELECT min(u.line) FROM stage_users u WHERE u.sid = e.user_sid AND u.ok = 1) AS user_line,
         (SELECT min(o.type) FROM stage_orgs o WHERE o.sid = e.school_sid AND o.ok = 1) AS school_type, ${flags}
       ${from} ORDER BY e.line LIMIT ${this.issues.room + 1}`));
    if (!rows.length) return;
    const found = rows.flatMap((r) => names.filter((n) => Number(r[`is_${n}`]) === 1).map((n) => enrollmentIssue(n, r)));
    let totals = counted(found);
    if (rows.length > this.issues.room) {
      const [sums] = await this.withoutJit(() => this.db.query<Record<`is_${EnrollmentCheck}`, number | string | null>>(
        `SELECT ${names.map((n) => `sum(CASE WHEN ${checks[n]} THEN 1 ELSE 0 END) AS is_${n}`).join(', ')} ${from}`));
      totals = new Map(names.map((n) => [ENROLLMENT_CODES[n], Number(sums[`is_${n}`] ?? 0)]));
    }
    this.reportAll(found, totals);
  }

  /**
   * PostgreSQL JIT-compiles a query it deems costly (its subqueries' costs count per row): for the
   * enrollment checks' expressions that took 2 s at 100k enrollments, for a query that runs in 0.1 s.
   */
  private async withoutJit<T>(run: () => Promise<T>): Promise<T> {
    if (this.db.dialect !== 'postgres') return run();
    await this.db.run('SET jit = off');
    try {
      return await run();
    } finally {
      await this.db.run('RESET jit');
    }
  }

  /**
   * class_check: each valid class's school and, when every one of its terms has known dates, the
   * span of its terms, as dates and as instants converted the way mapping.ts converts the
   * enrollments' dates (so comparing the instants compares the dates). In a delta, a term may be
   * one an earlier file sent.
   */
  private async stageClassChecks(): Promise<void> {
    const kept = this.modes.academicSessions === 'bulk' ? '' : `UNION ALL SELECT substr(k.external_id, 4) AS sid, k.start_date, k.end_date
      FROM academic_session k WHERE k.domain_id IN (SELECT id FROM scope_domain)
      AND NOT EXISTS (SELECT 1 FROM stage_sessions x WHERE 'or-' || x.sid = k.external_id AND x.ok = 1)`;
    const sessions = await this.db.query<{ sid: string; start_date: string | null; end_date: string | null }>(
      `SELECT sid, start_date, end_date FROM stage_sessions WHERE ok = 1 AND deleted = 0 ${kept}`);
    const spans: SqlValue[][] = sessions.map((x) => [x.sid, x.start_date, x.end_date,
      x.start_date ? this.dates.startText(x.start_date) : null, x.end_date ? this.dates.endText(x.end_date) : null]);
    await this.db.load('stage_session_spans', stageColumns('stage_session_spans'), [spans]);
    await this.db.run('DROP TABLE IF EXISTS class_check');
    await this.db.run(`CREATE ${this.db.scratch} class_check AS
      SELECT c.sid, c.school_sid, sp.first_date, sp.last_date, sp.span_start, sp.span_end
      FROM stage_classes c LEFT JOIN (
        SELECT t.line, min(ss.start_date) AS first_date, max(ss.end_date) AS last_date, min(ss.start_at) AS span_start, max(ss.end_at) AS span_end
        FROM stage_class_terms t LEFT JOIN stage_session_spans ss ON ss.sid = t.term_sid
        GROUP BY t.line HAVING count(ss.start_at) = count(*) AND count(ss.end_at) = count(*)) sp ON sp.line = c.line
      WHERE c.ok = 1`);
    // PostgreSQL hashes it (a few thousand rows) and needs neither index nor statistics
    if (this.db.dialect === 'sqlite') {
      await this.db.run('CREATE INDEX ix_class_check_sid ON class_check (sid)');
      await analyze(this.db, ['class_check']);
    }
  }

  /** A demographics row (its sourcedId is its user's) for no user of users.csv nor, unless users.csv is bulk, of the LMS. */
  private async demographics(): Promise<void> {
    const lms = this.modes.users === 'bulk' ? '' : ` AND NOT EXISTS (SELECT 1 FROM lms_user x WHERE x.external_id = 'or-' || d.sid
      AND x.domain_id IN (SELECT id FROM scope_domain))`;
    const from = `FROM stage_demographics d WHERE d.deleted = 0 AND NOT EXISTS (SELECT 1 FROM stage_users u WHERE u.sid = d.sid)${lms}`;
    const rows = await this.db.query<{ line: number; sid: string }>(`SELECT d.line, d.sid ${from} ORDER BY d.line LIMIT ${this.issues.room + 1}`);
    if (!rows.length) return;
    const where = this.modes.users === 'bulk' ? 'in users.csv' : 'in users.csv nor in the LMS';
    this.report(rows.map((r) => ({ severity: 'warning' as const, code: 'ref.demographics_user' as const, file: 'demographics.csv',
      line: Number(r.line), column: 'sourcedId', sourcedId: r.sid,
      message: `no user has sourcedId "${r.sid}" ${where}: this demographics row describes no one (demographics are not applied)` })),
    await this.overflowCount(rows.length, `SELECT count(*) AS n ${from}`));
  }

  /** The total of a check whose rows were fetched up to the cap: counted again only past it. */
  private async overflowCount(fetched: number, countSql: string): Promise<number> {
    if (fetched <= this.issues.room) return fetched;
    return Number((await this.db.query<{ n: number | string }>(countSql))[0].n);
  }

  /** Like report, for issues of several codes: keeps what fits, in line order, and counts the rest per code. */
  private reportAll(found: SyncIssue[], totals: Map<IssueCode, number>): void {
    const added = new Map<IssueCode, number>();
    for (const issue of [...found].sort((a, b) => (a.line ?? 0) - (b.line ?? 0))) {
      if (this.issues.room === 0) break;
      this.issues.add(issue);
      added.set(issue.code, (added.get(issue.code) ?? 0) + 1);
    }
    for (const [code, total] of totals) this.issues.addUnlisted({ severity: 'warning', code }, total - (added.get(code) ?? 0));
  }

  /** Keeps what fits under the issue cap and counts the rest, so totals stay exact. */
  private report(kept: Parameters<IssueSink['add']>[0][], total: number): void {
    let added = 0;
    for (const issue of kept) {
      if (this.issues.room === 0) break;
      this.issues.add(issue);
      added++;
    }
    if (kept.length) this.issues.addUnlisted(kept[0], total - added);
  }
}

/** A reference to a record marked tobedeleted (or set aside because of one): see deletedDependant. */
interface Dependant {
  owner: StageTable;
  refCol: string;
  column: string;
  target: StageTable;
  /** the target rows (t) that make the reference fail */
  gone: string;
  /** whether the owner row cannot be applied (else it is, without the record) */
  drop: boolean;
  consequence: string;
}

/** A domain is never removed: a tobedeleted org the LMS holds still takes its users and classes. */
const ORG_GONE = `t.ok = 1 AND t.deleted = 1 AND NOT EXISTS (SELECT 1 FROM domain x WHERE x.external_id = 'or-' || t.sid
  AND x.id IN (SELECT id FROM scope_domain))`;
const GONE = '((t.ok = 1 AND t.deleted = 1) OR (t.ok = 0 AND t.deleted = 2))';

/** In dependency order: classes and users set aside come before the enrollments that name them. */
const DEPENDANTS: Dependant[] = [
  { owner: 'stage_classes', refCol: 'school_sid', column: 'schoolSourcedId', target: 'stage_orgs', gone: ORG_GONE, drop: true,
    consequence: 'this class is not applied' },
  { owner: 'stage_users', refCol: 'first_org_sid', column: 'orgSourcedIds', target: 'stage_orgs', gone: ORG_GONE, drop: true,
    consequence: "this user is not applied (a user lives in their first org's domain)" },
  { owner: 'stage_classes', refCol: 'course_sid', column: 'courseSourcedId', target: 'stage_courses', gone: 't.ok = 1 AND t.deleted = 1', drop: false,
    consequence: 'the section is created without teacher or term base courses' },
  { owner: 'stage_enrollments', refCol: 'class_sid', column: 'classSourcedId', target: 'stage_classes', gone: GONE, drop: true,
    consequence: 'this enrollment is not applied' },
  { owner: 'stage_enrollments', refCol: 'user_sid', column: 'userSourcedId', target: 'stage_users', gone: GONE, drop: true,
    consequence: 'this enrollment is not applied' },
];

type EnrollmentCheck = 'mismatch' | 'privileged' | 'primary' | 'outside' | 'wrong_type';

const ENROLLMENT_CODES: Record<EnrollmentCheck, IssueCode> = {
  mismatch: 'ref.school_mismatch', privileged: 'ref.student_privileged', primary: 'ref.primary_student', outside: 'ref.outside_terms',
  wrong_type: 'ref.wrong_type',
};

interface EnrollmentRow extends Record<`is_${EnrollmentCheck}`, number> {
  line: number; sid: string; user_sid: string; school_sid: string; or_role: string; metadata: string | null;
  class_school: string | null; first_date: string | null; last_date: string | null; user_line: number | null; school_type: string | null;
}

/** The warning one check gives one enrollment row. */
function enrollmentIssue(check: EnrollmentCheck, r: EnrollmentRow): SyncIssue {
  const at = { severity: 'warning' as const, code: ENROLLMENT_CODES[check], file: 'enrollments.csv', line: Number(r.line), sourcedId: r.sid };
  switch (check) {
    case 'mismatch':
      return { ...at, column: 'schoolSourcedId',
        message: `schoolSourcedId "${r.school_sid}" differs from the class's school "${r.class_school}"; the class's school is used` };
    case 'privileged': {
      const where = r.user_line === null ? 'as the LMS holds them' : `on users.csv line ${r.user_line}`;
      return { ...at, column: 'role', message: `userSourcedId "${r.user_sid}" is a student ${where} but is enrolled as ${r.or_role}: ` +
        `they hold ${r.or_role} rights in this class (applied as given; check the role)` };
    }
    case 'primary':
      return { ...at, column: 'primary', message: "primary is true on a student enrollment; primary marks a class's main teacher (no effect on a student)" };
    case 'outside': {
      const { begin, end } = enrollmentDates(r.metadata);
      const early = begin !== '' && r.first_date !== null && begin < r.first_date;
      const dates = [begin && `beginDate ${begin}`, end && `endDate ${end}`].filter(Boolean).join(', ');
      return { ...at, column: early ? 'beginDate' : 'endDate',
        message: `the enrollment (${dates}) lies outside its class's terms (${r.first_date} to ${r.last_date}, end dates exclusive); applied as given` };
    }
    case 'wrong_type':
      return { ...at, column: 'schoolSourcedId', message: `schoolSourcedId "${r.school_sid}" is an org of type ${r.school_type}, not school` };
  }
}

/** An enrollment's beginDate and endDate as the file gave them (its metadata keeps them, mapping.ts). */
function enrollmentDates(metadata: string | null): { begin: string; end: string } {
  try {
    const m = JSON.parse(metadata ?? '{}') as Record<string, unknown>;
    return { begin: typeof m.beginDate === 'string' ? m.beginDate : '', end: typeof m.endDate === 'string' ? m.endDate : '' };
  } catch {
    return { begin: '', end: '' };
  }
}

/** Issues per code, for reportAll when every issue was fetched. */
function counted(found: readonly SyncIssue[]): Map<IssueCode, number> {
  const totals = new Map<IssueCode, number>();
  for (const i of found) totals.set(i.code, (totals.get(i.code) ?? 0) + 1);
  return totals;
}

/** A rule's rows read straight from its owner table. */
function sel(table: StageTable, col: string): Pick<RefRule, 'from' | 'owner' | 'direct'> {
  return { from: `SELECT line, sid, ${col} AS ref, ok, deleted FROM ${table}`, owner: table, direct: col };
}

/** rules[i] and the direct rules right after it with the same owner (a group of one otherwise). */
function sameOwnerGroup(rules: readonly RefRule[], i: number): RefRule[] {
  const group = [rules[i]];
  if (!rules[i].direct) return group;
  while (rules[i + group.length]?.direct && rules[i + group.length].owner === rules[i].owner) group.push(rules[i + group.length]);
  return group;
}

function fileName(table: StageTable): string {
  const file = TABLE_FILE[table];
  return file ? SCHEMAS[file].fileName : table;
}
