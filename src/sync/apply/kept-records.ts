/**
 * OneRoster records that are not LMS entities but that a later delta file builds on: academic
 * sessions (the LMS keeps a course's term and dates, not the session), courses (the LMS holds the
 * base courses derived from them) and classes (the LMS holds the section, not the class's course,
 * school and terms). Kept per domain as the files sent them, so that a delta file is applied onto
 * what earlier files sent: its class may name a term or a course sent earlier (reference-checks.ts),
 * and every class keeps its term, course and base courses whatever the delta leaves out
 * (courses.ts). A bulk file replaces the domain's set (a record the file lists but rejected stays
 * as it was, one it marks tobedeleted goes); a delta file adds, updates and deletes.
 */
import type { DataFile } from '../../oneroster/types';
import type { StageTable } from '../stage-tables';
import type { ApplyContext } from './context';

interface Kept {
  table: string;
  file: DataFile;
  stage: StageTable;
  /** the staged columns kept, under the same names */
  columns: readonly string[];
  /**
   * whether a delta file's reference may name it (a class is named by its section, which the LMS
   * holds anyway)
   */
  referable: boolean;
}

export const KEPT_RECORDS = {
  sessions: {
    table: 'academic_session', file: 'academicSessions', stage: 'stage_sessions', referable: true,
    columns: ['title', 'type', 'start_date', 'end_date', 'school_year', 'parent_sid'],
  },
  courses: {
    table: 'oneroster_course', file: 'courses', stage: 'stage_courses', referable: true,
    columns: ['title', 'code', 'org_sid', 'school_year_sid', 'metadata'],
  },
  classes: {
    table: 'oneroster_class', file: 'classes', stage: 'stage_classes', referable: false,
    columns: ['title', 'course_sid', 'school_sid', 'first_term_sid', 'term_sids', 'metadata'],
  },
} as const satisfies Record<string, Kept>;

export async function applyKeptRecords(ctx: ApplyContext): Promise<void> {
  for (const kept of Object.values(KEPT_RECORDS)) await applyKept(ctx, kept);
}

async function applyKept(ctx: ApplyContext, { table, file, stage, columns }: Kept): Promise<void> {
  const { db, root } = ctx;
  const mode = ctx.modes[file];
  if (mode === 'bulk') {
    // a bulk row marked tobedeleted removes its record as a delta row does (validate-row says so)
    await db.run(`DELETE FROM ${table} WHERE domain_id = $1
      AND external_id NOT IN (SELECT 'or-' || sid FROM ${stage} WHERE sid IS NOT NULL AND (ok = 0 OR deleted = 0))`, [root.id]);
  } else if (mode === 'delta') {
    await db.run(`DELETE FROM ${table} WHERE domain_id = $1
      AND external_id IN (SELECT 'or-' || sid FROM ${stage} WHERE ok = 1 AND deleted = 1)`, [root.id]);
  } else {
    return;
  }
  // SQLite needs the SELECT's WHERE to read ON CONFLICT as the upsert clause; the update's WHERE
  // leaves unchanged records unwritten (the same file twice writes nothing)
  await db.run(`INSERT INTO ${table} (domain_id, external_id, ${columns.join(', ')})
    SELECT $1, 'or-' || sid, ${columns.join(', ')} FROM ${stage} WHERE ok = 1 AND deleted = 0
    ON CONFLICT (domain_id, external_id) DO UPDATE SET ${columns.map((c) => `${c} = excluded.${c}`).join(', ')}
    WHERE ${columns.map((c) => `${table}.${c} IS DISTINCT FROM excluded.${c}`).join(' OR ')}`, [root.id]);
}
