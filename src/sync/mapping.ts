/**
 * The field mapping of product-rules.md, as pure functions: one validated OneRoster row in, the
 * staged LMS-shaped values out (in the column order of stage-tables.ts). No I/O here.
 */
import { SCHEMAS } from '../oneroster/schemas';
import { detach } from '../oneroster/csv/line-splitter';
import { shorten } from '../oneroster/shorten';
import { MAX_SOURCED_ID_CHARS } from '../oneroster/validate-row';
import type { DataFile, ParsedRow } from '../oneroster/types';
import type { SqlValue } from '../db/sql-session';
import type { ZonedDates } from './dates';
import { externalId } from './external-ids';
import type { SyncSettings } from './settings';

/** Column positions by header name, resolved once per file. */
function positions<F extends DataFile>(file: F): Record<string, number> {
  const out: Record<string, number> = {};
  SCHEMAS[file].columns.forEach((c, i) => { out[c.name] = i; });
  return out;
}

export interface MappingContext {
  /** the domain's time zone, formatting instants for the database */
  dates: ZonedDates;
  settings: SyncSettings;
}

const list = (v: string): string[] => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const blankToNull = (v: string | undefined): string | null => (v ? v : null);

/**
 * Metadata JSON with a stable key order (defined fields first, then metadata.* columns sorted),
 * blanks left out, so an unchanged row always produces the same text and compares equal in SQL.
 */
export function metadataJson(fields: Array<[string, string | string[] | undefined]>, extra: Record<string, string> | null): string | null {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of fields) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  if (extra) for (const k of Object.keys(extra).sort()) out[`metadata.${k}`] = extra[k];
  return Object.keys(out).length ? JSON.stringify(out) : null;
}

const deletedFlag = (row: ParsedRow, p: Record<string, number>): number => (row.values[p.status] === 'tobedeleted' ? 1 : 0);

const P = {
  orgs: positions('orgs'),
  academicSessions: positions('academicSessions'),
  courses: positions('courses'),
  classes: positions('classes'),
  users: positions('users'),
  enrollments: positions('enrollments'),
};

export function mapOrg(row: ParsedRow): SqlValue[] {
  const v = row.values, p = P.orgs;
  return [row.line, row.sourcedId, 1, deletedFlag(row, p), externalId(row.sourcedId), v[p.name], v[p.type], blankToNull(v[p.parentSourcedId]),
    metadataJson([['type', v[p.type]], ['identifier', v[p.identifier]]], row.metadata)];
}

export function mapSession(row: ParsedRow): SqlValue[] {
  const v = row.values, p = P.academicSessions;
  return [row.line, row.sourcedId, 1, deletedFlag(row, p), v[p.title], v[p.type], v[p.startDate], v[p.endDate],
    blankToNull(v[p.parentSourcedId]), v[p.schoolYear]];
}

export function mapCourse(row: ParsedRow): SqlValue[] {
  const v = row.values, p = P.courses;
  return [row.line, row.sourcedId, 1, deletedFlag(row, p), v[p.title], blankToNull(v[p.courseCode]), v[p.orgSourcedId],
    blankToNull(v[p.schoolYearSourcedId]),
    metadataJson([['courseCode', v[p.courseCode]], ['grades', list(v[p.grades])], ['subjects', list(v[p.subjects])],
      ['subjectCodes', list(v[p.subjectCodes])], ['schoolYearSourcedId', v[p.schoolYearSourcedId]]], row.metadata)];
}

export function mapClass(row: ParsedRow): SqlValue[] {
  const v = row.values, p = P.classes;
  const terms = list(v[p.termSourcedIds]);
  return [row.line, row.sourcedId, 1, deletedFlag(row, p), v[p.title], v[p.courseSourcedId], v[p.schoolSourcedId], terms[0] ?? null,
    JSON.stringify(terms),
    metadataJson([['grades', list(v[p.grades])], ['classCode', v[p.classCode]], ['classType', v[p.classType]],
      ['location', v[p.location]], ['subjects', list(v[p.subjects])], ['subjectCodes', list(v[p.subjectCodes])],
      ['periods', list(v[p.periods])], ['termSourcedIds', terms]], row.metadata)];
}

export function mapUser(row: ParsedRow): SqlValue[] {
  const v = row.values, p = P.users;
  const orgs = list(v[p.orgSourcedIds]);
  const agents = list(v[p.agentSourcedIds]);
  return [row.line, row.sourcedId, 1, deletedFlag(row, p), externalId(row.sourcedId), orgs[0] ?? null, v[p.role], v[p.username],
    v[p.givenName], v[p.familyName], blankToNull(v[p.email]), blankToNull(v[p.password]), JSON.stringify(orgs), JSON.stringify(agents),
    metadataJson([['role', v[p.role]], ['enabledUser', v[p.enabledUser]], ['orgSourcedIds', orgs], ['userIds', list(v[p.userIds])],
      ['middleName', v[p.middleName]], ['identifier', v[p.identifier]], ['sms', v[p.sms]], ['phone', v[p.phone]],
      ['agentSourcedIds', agents], ['grades', list(v[p.grades])]], row.metadata)];
}

/** The LMS role an enrollment gets: from the settings, by OneRoster role. */
export function lmsRole(orRole: string, s: SyncSettings): string {
  switch (orRole) {
    case 'teacher': return s.teacherRole;
    case 'student': return s.studentRole;
    case 'administrator': return s.administratorRole;
    default: return s.proctorRole;
  }
}

/**
 * Enrollment metadata without extension columns repeats across a file (a few roles and date pairs
 * for a million rows), so its JSON is built once per distinct combination.
 */
const enrollmentMetadataCache = new Map<string, string | null>();

function enrollmentMetadata(row: ParsedRow, p: Record<string, number>): string | null {
  const v = row.values;
  const build = () => metadataJson([['role', v[p.role]], ['primary', v[p.primary]], ['beginDate', v[p.beginDate]], ['endDate', v[p.endDate]]], row.metadata);
  if (row.metadata) return build();
  const key = `${v[p.role]}|${v[p.primary]}|${v[p.beginDate]}|${v[p.endDate]}`;
  let json = enrollmentMetadataCache.get(key);
  if (json === undefined) {
    json = build();
    if (enrollmentMetadataCache.size > 10_000) enrollmentMetadataCache.clear();
    // a new string, so the cache holds no slice of the reader's 64 KiB chunks
    enrollmentMetadataCache.set(detach(key), json);
  }
  return json;
}

export function mapEnrollment(row: ParsedRow, ctx: MappingContext): SqlValue[] {
  const v = row.values, p = P.enrollments;
  const ignore = ctx.settings.ignoreSisDates;
  const start = ignore ? null : ctx.dates.startText(v[p.beginDate]);
  const end = ignore ? null : ctx.dates.endText(v[p.endDate]);
  return [row.line, row.sourcedId, 1, deletedFlag(row, p), externalId(row.sourcedId), v[p.classSourcedId], v[p.schoolSourcedId],
    v[p.userSourcedId], v[p.role], lmsRole(v[p.role], ctx.settings), v[p.primary] === 'true' ? 1 : 0,
    start, end,
    enrollmentMetadata(row, p)];
}

/**
 * A row rejected while reading keeps only its line, sourcedId and external ID (ok = 0), padded to
 * the table's width: enough to cite it and to know its record was not dropped from the file.
 */
export function rejectedRow(row: ParsedRow, columns: readonly string[]): SqlValue[] {
  const out: SqlValue[] = new Array<SqlValue>(columns.length).fill(null);
  // a sourcedId too long to be valid matches no valid reference: staged shortened, so that 6,000
  // rows of 64 KiB ids do not stage (and hold in memory) 400 MB of nothing
  const sid = row.sourcedId && row.sourcedId.length > MAX_SOURCED_ID_CHARS ? shorten(row.sourcedId, MAX_SOURCED_ID_CHARS) : row.sourcedId;
  out[0] = row.line; out[1] = sid || null; out[2] = 0; out[3] = 0;
  const ext = columns.indexOf('ext');
  if (ext >= 0 && sid) out[ext] = externalId(sid);
  return out;
}
