/**
 * The staging tables a sync loads the file into (work tables only its session uses), so that
 * duplicates, references, the plan and the apply are set-based SQL rather than per-row round trips
 * or in-memory maps. Every row keeps its line number for issues.
 */
import { analyze, type Dialect, type SqlSession } from '../db/sql-session';

type ColType = 'int' | 'text' | 'instant';
type Columns = Record<string, ColType>;

/**
 * Every file's table starts with these. A row rejected while reading stays with ok = 0 and only
 * its line and sourcedId: it is then not "unshared", and rows that depend on it can cite it.
 * deleted = 1 marks a row with status tobedeleted; deleted = 2 (with ok = 0) a row not applied
 * because a record it needs is tobedeleted (reference-checks.ts says so on its line).
 */
const base = { line: 'int', sid: 'text', ok: 'int', deleted: 'int' } as const satisfies Columns;

export const STAGE = {
  stage_orgs: { ...base, ext: 'text', name: 'text', type: 'text', parent_sid: 'text', metadata: 'text' },
  stage_sessions: { ...base, title: 'text', type: 'text', start_date: 'text', end_date: 'text', parent_sid: 'text', school_year: 'text' },
  stage_courses: { ...base, title: 'text', code: 'text', org_sid: 'text', school_year_sid: 'text', metadata: 'text' },
  stage_classes: { ...base, title: 'text', course_sid: 'text', school_sid: 'text', first_term_sid: 'text', term_sids: 'text', metadata: 'text' },
  stage_users: {
    ...base, ext: 'text', first_org_sid: 'text', role: 'text', username: 'text', given_name: 'text', family_name: 'text',
    email: 'text', password: 'text', org_sids: 'text', agent_sids: 'text', metadata: 'text',
  },
  stage_enrollments: {
    ...base, ext: 'text', class_sid: 'text', school_sid: 'text', user_sid: 'text', or_role: 'text', lms_role: 'text',
    is_primary: 'int', start_at: 'instant', end_at: 'instant', metadata: 'text',
  },
  /** list fields exploded from the JSON arrays above (see explodeLists) */
  stage_class_terms: { line: 'int', class_sid: 'text', term_sid: 'text', pos: 'int' },
  stage_user_orgs: { line: 'int', user_sid: 'text', org_sid: 'text', pos: 'int' },
  stage_user_agents: { line: 'int', user_sid: 'text', agent_sid: 'text' },
  /** demographics.csv is not applied: its rows' lines and sourcedIds (a user's) are kept to check that the user exists */
  stage_demographics: { line: 'int', sid: 'text', deleted: 'int' },
  /** the academic sessions' dates as the enrollments' dates are staged (reference-checks.ts compares them) */
  stage_session_spans: { sid: 'text', start_date: 'text', end_date: 'text', start_at: 'instant', end_at: 'instant' },
  /** every course the sync should hold: sections and the derived base courses */
  stage_target_courses: {
    ext: 'text', kind: 'text', domain_id: 'int', title: 'text', base_ext: 'text', owner_sid: 'text', term: 'text',
    start_at: 'instant', end_at: 'instant', metadata: 'text', class_sid: 'text', enrollment_ext: 'text',
  },
} as const satisfies Record<string, Columns>;

export type StageTable = keyof typeof STAGE;

export function stageColumns<T extends StageTable>(table: T): Array<keyof (typeof STAGE)[T] & string> {
  return Object.keys(STAGE[table]) as Array<keyof (typeof STAGE)[T] & string>;
}

function sqlType(dialect: Dialect, type: ColType): string {
  if (type === 'int') return 'integer';
  if (type === 'instant') return dialect === 'postgres' ? 'timestamptz' : 'text';
  return 'text';
}

/**
 * Indexes on the staging tables, created after loading (faster). PostgreSQL joins the big tables
 * by hashing and needs indexes only on the small ones that rows look up one by one; SQLite has
 * no hash join and needs one on every column a join looks rows up by. Enrollments are never looked
 * up by class or user (every such join scans them), so those two indexes are not built: 1.7 s of a
 * 1M-enrollment sync on SQLite.
 */
const INDEXES: Array<[StageTable, string, 'both' | 'sqlite']> = [
  ['stage_orgs', 'sid', 'both'], ['stage_sessions', 'sid', 'both'], ['stage_courses', 'sid', 'both'], ['stage_classes', 'sid', 'both'],
  ['stage_users', 'sid', 'both'], ['stage_users', 'line', 'sqlite'], ['stage_users', 'ext', 'sqlite'], ['stage_enrollments', 'sid', 'sqlite'],
  ['stage_enrollments', 'ext', 'sqlite'],
];

export async function createStageTables(db: SqlSession): Promise<void> {
  for (const [table, cols] of Object.entries(STAGE)) {
    const defs = Object.entries(cols).map(([name, type]) => `${name} ${sqlType(db.dialect, type)}`).join(', ');
    await db.run(`DROP TABLE IF EXISTS ${table}`);
    // stage_users holds the file's plain passwords: a TEMP table, which no other session can read
    await db.run(`CREATE ${table === 'stage_users' ? 'TEMP TABLE' : db.scratch} ${table} (${defs})`);
  }
}

/** The file tables, in the order they are read, and the OneRoster file each one holds. */
export const FILE_TABLES = {
  orgs: 'stage_orgs', academicSessions: 'stage_sessions', courses: 'stage_courses', classes: 'stage_classes',
  users: 'stage_users', enrollments: 'stage_enrollments',
} as const satisfies Record<string, StageTable>;

/** Fills the exploded list tables from the JSON list columns (one statement each). */
export async function explodeLists(db: SqlSession): Promise<void> {
  const each = (table: string, col: string) => db.dialect === 'postgres'
    ? `FROM ${table} s CROSS JOIN LATERAL json_array_elements_text(s.${col}::json) WITH ORDINALITY AS j(value, pos) WHERE s.ok = 1`
    : `FROM ${table} s, json_each(s.${col}) AS j WHERE s.ok = 1`;
  const pos = db.dialect === 'postgres' ? 'j.pos' : 'j.key + 1';
  await db.run(`INSERT INTO stage_class_terms (line, class_sid, term_sid, pos) SELECT s.line, s.sid, j.value, ${pos} ${each('stage_classes', 'term_sids')}`);
  await db.run(`INSERT INTO stage_user_orgs (line, user_sid, org_sid, pos) SELECT s.line, s.sid, j.value, ${pos} ${each('stage_users', 'org_sids')}`);
  await db.run(`INSERT INTO stage_user_agents (line, user_sid, agent_sid) SELECT s.line, s.sid, j.value ${each('stage_users', 'agent_sids')}`);
  for (const [t, c] of [['stage_class_terms', 'class_sid'], ['stage_class_terms', 'term_sid'], ['stage_user_orgs', 'user_sid'],
    ['stage_user_orgs', 'org_sid'], ['stage_user_agents', 'user_sid'], ['stage_user_agents', 'agent_sid']]) {
    await db.run(`CREATE INDEX IF NOT EXISTS ix_${t}_${c} ON ${t} (${c})`);
  }
}

/**
 * Statistics for the staging tables (never auto-analyzed) and, on SQLite, for the LMS tables the
 * sync joins: SQLite plans from sqlite_stat1 alone and otherwise walks course × lms_user before
 * the staged rows (minutes at 10k rows).
 */
export async function analyzeStageTables(db: SqlSession, tables: readonly StageTable[] = Object.keys(STAGE) as StageTable[]): Promise<void> {
  await analyze(db, db.dialect === 'sqlite' ? [...tables, ...LMS_TABLES] : tables);
}

const LMS_TABLES = ['domain', 'lms_user', 'course', 'enrollment', 'observer_link'];

export async function indexStageTables(db: SqlSession): Promise<void> {
  for (const [table, col, where] of INDEXES) {
    if (where === 'both' || db.dialect === 'sqlite') await db.run(`CREATE INDEX IF NOT EXISTS ix_${table}_${col} ON ${table} (${col})`);
  }
  await analyzeStageTables(db);
}
