/**
 * Every problem a sync finds is one SyncIssue. Codes are stable: districts script against them,
 * so add new ones, never rename. The header row is line 1.
 */
import { shorten } from './shorten';

export type Severity = 'error' | 'warning' | 'info';

export const ISSUE_CODES = {
  // the zip container
  'zip.unreadable': 'The file is not a readable zip archive',
  'zip.too_many_entries': 'The zip holds more entries than allowed',
  'zip.too_large': 'The zip would expand past the allowed uncompressed size',
  'zip.compression_ratio': 'An entry is compressed suspiciously well (zip bomb guard)',
  'zip.encrypted': 'Encrypted zip entries are not accepted',
  'zip.nested_path': 'CSV files must sit at the root of the zip, not in a folder',
  'zip.unsafe_path': 'An entry name is absolute, climbs out with .., or uses backslashes',
  'zip.duplicate_entry': 'The same file name appears twice in the zip',
  'zip.unknown_file': 'A file that is not part of OneRoster 1.1 is ignored',
  // manifest.csv
  'manifest.missing': 'manifest.csv is missing',
  'manifest.header': 'manifest.csv must start with the header propertyName,value',
  'manifest.version': 'manifest.version must be 1.0',
  'manifest.oneroster_version': 'oneroster.version must be 1.1',
  'manifest.missing_property': 'A required manifest property is missing',
  'manifest.unknown_property': 'The manifest has a property OneRoster 1.1 does not define',
  'manifest.duplicate_property': 'A manifest property is listed twice',
  'manifest.invalid_mode': 'A file mode must be bulk, delta or absent',
  'manifest.file_missing': 'The manifest marks a file bulk or delta but the zip lacks it',
  'manifest.file_unexpected': 'The zip holds a file the manifest marks absent or does not list',
  'manifest.required_file': 'An upload with a bulk file needs this file too (bulk or delta); only a delta upload may leave it out',
  'manifest.courses_absent': 'A bulk upload without courses.csv: sections are created without base courses',
  'manifest.nothing_to_apply': 'The manifest marks every file rosterdrop applies absent: the upload changes nothing',
  // CSV structure
  'csv.encoding': 'The file is not valid UTF-8',
  'csv.header_missing': 'The file is empty: it has no header row',
  'csv.header_mismatch': 'The header does not match OneRoster 1.1 (names, order and case are exact)',
  'csv.header_duplicate': 'A header name appears twice',
  'csv.extension_column': 'Extra columns must be named metadata.* and come after the defined ones',
  'csv.no_rows': 'The file has a header but no data rows (a warning for a file rosterdrop does not apply)',
  'csv.row_width': 'The row has a different number of fields than the header (a warning when the extra ones are empty: they are dropped)',
  'csv.quote': 'A quoted field is not closed, or a quote appears inside an unquoted field',
  'csv.line_break_in_field': 'OneRoster forbids line breaks inside a field',
  'csv.line_too_long': 'A line is longer than allowed',
  // values
  'value.required': 'A required value is blank',
  'value.enum': 'The value is not one of the allowed tokens (one in another case is value.enum_case)',
  'value.enum_case': 'The value is an allowed token in another case (e.g. TRUE, Student): accepted as the exact token',
  'value.date': 'Dates must be YYYY-MM-DD and real calendar dates',
  'value.datetime': 'Date-times must be ISO 8601 UTC, e.g. 2024-01-31T12:00:00.000Z',
  'value.year': 'Years must be four digits',
  'value.float': 'The value must be a decimal number',
  'value.sourced_id': 'A sourcedId must be 1-255 printable characters',
  'value.list': 'A list item is blank',
  'value.user_ids': 'userIds items must look like {type:identifier}',
  'value.grade': 'Grades should be CEDS codes such as KG or 09',
  'value.date_order': 'The end date is before the start date',
  'value.status_in_bulk': 'Bulk files leave status and dateLastModified blank (a tobedeleted row is applied as in a delta, other values are ignored)',
  'value.status_required': 'Delta files need status (active or tobedeleted) and dateLastModified',
  'value.too_long': 'The value is longer than rosterdrop stores',
  // references between records
  'ref.duplicate_id': 'The sourcedId appears more than once in this file',
  'ref.unknown': 'The referenced record is not in the file it should be in',
  'ref.rejected': 'The referenced record was rejected, so this row is skipped too',
  'ref.org_cycle': 'Org parents form a cycle',
  'ref.wrong_type': 'The referenced record has an unexpected type',
  'ref.school_mismatch': "The enrollment's school differs from its class's school",
  'ref.course_unknown': 'The class names a course that is not in courses.csv: no base courses for it',
  'ref.agent_role': 'An agent link should pair a student with a parent, guardian or relative',
  'ref.org_parent_missing': "An org's parent is not in orgs.csv (nor, in a delta, the LMS): the org is accepted without a parent, under the sync's root domain",
  'ref.deleted': 'The referenced record is marked tobedeleted: this row is not applied, or applied without it (the message says which)',
  // legal but suspicious (warnings: the row is applied)
  'ref.student_privileged': 'A user whose users.csv role is student is enrolled as teacher or administrator: they hold those rights in the class',
  'ref.primary_student': 'primary is true on a student enrollment (primary marks a class\'s main teacher)',
  'ref.outside_terms': "The enrollment's dates lie outside its class's terms",
  'ref.demographics_user': 'A demographics row names no user in users.csv (nor, in a delta, the LMS)',
  // applying
  'apply.username_taken': 'The username is already used in that domain by another user',
  'apply.safety_threshold': 'The sync would remove or deactivate too much; held for review',
  'apply.failed': 'Applying the sync failed; nothing was changed',
  'apply.duplicate_external_id': 'Two or more managed entities of one kind share an external ID; nothing was changed',
  'apply.unshared_skipped': 'Unshared handling was skipped because the file had errors',
} as const;

export type IssueCode = keyof typeof ISSUE_CODES;

export interface SyncIssue {
  severity: Severity;
  code: IssueCode;
  /** e.g. "users.csv"; null for problems with the whole upload */
  file: string | null;
  /** 1-based; the header is line 1 */
  line: number | null;
  /** the header name of the column, or null when the problem is the whole row */
  column: string | null;
  sourcedId: string | null;
  message: string;
}

/**
 * The most characters an issue keeps of each text it quotes from the upload: the sync_issue
 * columns' lengths (db/entities/sync-issue.ts takes them from here; the migrations repeat them).
 * A valid sourcedId (1-255) always fits whole; a longer one is shown shortened. `message` is TEXT:
 * its limit bounds what one issue costs in memory, the result files and the mail, far above any
 * message rosterdrop writes itself (their quoted values are cut to 80 characters, shorten.ts).
 */
export const ISSUE_TEXT_LIMITS = { file: 255, column: 255, sourcedId: 300, message: 2000 } as const;

/** The issue with every quoted text within ISSUE_TEXT_LIMITS (itself when all fit). */
export function shortenIssue(issue: SyncIssue): SyncIssue {
  const L = ISSUE_TEXT_LIMITS;
  const fits = (text: string | null, max: number) => text === null || text.length <= max;
  if (fits(issue.file, L.file) && fits(issue.column, L.column) && fits(issue.sourcedId, L.sourcedId) && fits(issue.message, L.message)) return issue;
  const cut = (text: string | null, max: number) => (text === null ? null : shorten(text, max));
  return {
    ...issue, file: cut(issue.file, L.file), column: cut(issue.column, L.column), sourcedId: cut(issue.sourcedId, L.sourcedId),
    message: shorten(issue.message, L.message),
  };
}

/**
 * Collects issues. Keeps the first `limit` in full (a broken 1M-row file must not fill memory)
 * and counts every one by severity and code. Kept issues are shortened (shortenIssue), so what the
 * sink holds is bounded by `limit` whatever the upload quotes.
 */
export class IssueSink {
  readonly kept: SyncIssue[] = [];
  readonly counts = { error: 0, warning: 0, info: 0 };
  readonly byCode = new Map<IssueCode, number>();
  dropped = 0;

  constructor(private readonly limit = 10_000) {}

  add(issue: SyncIssue): void {
    this.counts[issue.severity]++;
    this.byCode.set(issue.code, (this.byCode.get(issue.code) ?? 0) + 1);
    if (this.kept.length < this.limit) this.kept.push(shortenIssue(issue));
    else this.dropped++;
  }

  /** Counts `n` further issues like `sample` that were not materialized (set-based checks cap what they fetch). */
  addUnlisted(sample: Pick<SyncIssue, 'severity' | 'code'>, n: number): void {
    if (n <= 0) return;
    this.counts[sample.severity] += n;
    this.byCode.set(sample.code, (this.byCode.get(sample.code) ?? 0) + n);
    this.dropped += n;
  }

  /** how many more issues may still be kept in full */
  get room(): number {
    return Math.max(0, this.limit - this.kept.length);
  }

  error(code: IssueCode, at: IssueAt, message: string): void {
    this.add({ severity: 'error', code, ...normalizeAt(at), message });
  }

  warning(code: IssueCode, at: IssueAt, message: string): void {
    this.add({ severity: 'warning', code, ...normalizeAt(at), message });
  }

  info(code: IssueCode, at: IssueAt, message: string): void {
    this.add({ severity: 'info', code, ...normalizeAt(at), message });
  }

  get total(): number {
    return this.counts.error + this.counts.warning + this.counts.info;
  }
}

export interface IssueAt {
  file?: string | null;
  line?: number | null;
  column?: string | null;
  sourcedId?: string | null;
}

function normalizeAt(at: IssueAt): Pick<SyncIssue, 'file' | 'line' | 'column' | 'sourcedId'> {
  return { file: at.file ?? null, line: at.line ?? null, column: at.column ?? null, sourcedId: at.sourcedId ?? null };
}

/** Thrown when the upload as a whole is unusable; the sync fails and changes nothing. */
export class StructuralError extends Error {
  readonly issue: SyncIssue;

  constructor(issue: SyncIssue) {
    const short = shortenIssue(issue); // its message becomes the run's
    super(short.message);
    this.issue = short;
    this.name = 'StructuralError';
  }
}
