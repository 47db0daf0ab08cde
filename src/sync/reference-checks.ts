/**
 * Cross-row rules, run as set-based SQL over the staging tables once the whole file is loaded:
 * duplicate sourcedIds, references between files, org cycles. A failing row is marked ok = 0 and
 * reported; checks run in dependency order, so rows that depend on a rejected row are rejected
 * (and say so) in turn. A reference into a delta file, or into a file a delta upload leaves out,
 * may also name a record the LMS already holds.
 */
import type { SqlSession } from '../db/sql-session';
import type { IssueCode, IssueSink, Severity } from '../oneroster/issues';
import { buildsOnEarlierSyncs, type DataFile, type FileMode } from '../oneroster/types';
import { SCHEMAS } from '../oneroster/schemas';
import { KEPT_RECORDS } from './apply/kept-records';
import { FILE_TABLES, type StageTable } from './stage-tables';

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
}

/** In dependency order: each rule sees the rejections of the ones before it. */
const RULES: RefRule[] = [
  { ...sel('stage_orgs', 'parent_sid'), column: 'parentSourcedId', target: 'stage_orgs', severity: 'error' },
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
  constructor(private readonly db: SqlSession, private readonly issues: IssueSink, private readonly modes: Modes) {}

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
    await this.schoolTypes();
    await this.enrollmentSchools();
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
    const failing = `FROM (${rule.from}) s WHERE s.ref IS NOT NULL AND ${valid}
      AND NOT EXISTS (SELECT 1 FROM ${rule.target} t WHERE t.sid = s.ref AND t.ok = 1)${live}`;
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

  private async enrollmentSchools(): Promise<void> {
    const failing = `FROM stage_enrollments e JOIN stage_classes c ON c.sid = e.class_sid AND c.ok = 1
       WHERE e.ok = 1 AND e.school_sid <> c.school_sid`;
    const rows = await this.db.query<{ line: number; sid: string; school_sid: string; class_school: string }>(
      `SELECT e.line, e.sid, e.school_sid, c.school_sid AS class_school ${failing} ORDER BY e.line LIMIT ${this.issues.room + 1}`);
    if (!rows.length) return;
    const total = Number((await this.db.query<{ n: number }>(`SELECT count(*) AS n ${failing}`))[0].n);
    this.report(rows.map((r) => ({ severity: 'warning' as const, code: 'ref.school_mismatch' as const, file: 'enrollments.csv',
      line: Number(r.line), column: 'schoolSourcedId', sourcedId: r.sid,
      message: `schoolSourcedId "${r.school_sid}" differs from the class's school "${r.class_school}"; the class's school is used` })), total);
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
