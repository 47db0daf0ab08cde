/**
 * Validates one record against its file's schema and the file's mode. Pure apart from the issues
 * it adds; it knows nothing of other rows (duplicates and references are checked in SQL later).
 *
 * The happy path allocates nothing but the ParsedRow: every message is built only on failure.
 */
import { IssueSink, type IssueCode, type Severity } from './issues';
import type { ColumnSpec, DataFile, FileSchema, ParsedRow } from './types';
import { BOOL_VALUES, GRADE_CODES, METADATA_PREFIX, STATUS_VALUES } from './schemas';
import { detach } from './csv/line-splitter';
import { quote } from './shorten';

/** rosterdrop stores at most this many characters of any one value. */
export const MAX_VALUE_CHARS = 2048;
export const MAX_SOURCED_ID_CHARS = 255;

export interface RowContext {
  readonly schema: FileSchema;
  readonly mode: 'bulk' | 'delta';
  /** header names of the metadata.* columns after the defined ones, prefix stripped */
  readonly metadataNames: readonly string[];
  /** total header width: defined + metadata columns */
  readonly width: number;
  /** [start, end] column pairs checked for order, precomputed from the file */
  readonly dateOrder: DateOrderRule | null;
}

interface DateOrderRule {
  start: number;
  end: number;
  severity: Severity;
}

/**
 * Builds the per-file context once, from the schema, the mode and the header's extension columns
 * (full names, e.g. "metadata.address1").
 */
export function rowContext(schema: FileSchema, mode: 'bulk' | 'delta', extensionColumns: readonly string[] = []): RowContext {
  const idx = (name: string): number => schema.columns.findIndex((c) => c.name === name);
  let dateOrder: DateOrderRule | null = null;
  if (schema.file === 'academicSessions') dateOrder = { start: idx('startDate'), end: idx('endDate'), severity: 'error' };
  if (schema.file === 'enrollments') dateOrder = { start: idx('beginDate'), end: idx('endDate'), severity: 'warning' };
  return {
    schema, mode, dateOrder,
    metadataNames: extensionColumns.map((n) => (n.startsWith(METADATA_PREFIX) ? n.slice(METADATA_PREFIX.length) : n)),
    width: schema.columns.length + extensionColumns.length,
  };
}

/** Reports for one row; keeps the row's location so every issue carries it. */
class RowReport {
  ok = true;
  constructor(
    private readonly issues: IssueSink,
    private readonly file: string,
    private readonly line: number,
    readonly sourcedId: string | null,
  ) {}

  add(severity: Severity, code: IssueCode, column: string | null, text: string): void {
    if (severity === 'error') this.ok = false;
    // Issues are kept past the row: detach so they do not pin the chunk the values came from.
    this.issues.add({
      severity, code, file: this.file, line: this.line, column,
      sourcedId: this.sourcedId === null ? null : detach(this.sourcedId),
      message: detach(`${this.file} line ${this.line}: ${text}`),
    });
  }
}

export function validateRow(input: readonly string[], line: number, ctx: RowContext, issues: IssueSink): ParsedRow {
  const { schema } = ctx;
  const columns = schema.columns;
  const defined = columns.length;
  let fields = input;
  const sourcedId = fields.length > 0 ? fields[0] : '';

  // Cheap (one small object per row) and simpler than creating it lazily behind a closure.
  const report = new RowReport(issues, schema.fileName, line, sourcedId || null);
  if (fields.length !== ctx.width) {
    const fit = fitWidth(fields, line, ctx);
    if (typeof fit === 'string') {
      report.add('error', 'csv.row_width', null, fit);
      const values = fields.slice(0, defined);
      while (values.length < defined) values.push('');
      return { line, ok: false, sourcedId: detach(sourcedId), values, metadata: null };
    }
    const one = fields.length - ctx.width === 1;
    report.add('warning', 'csv.row_width', null, `the row has ${fields.length} fields but the header has ${ctx.width} columns; ` +
      `the extra ${one ? 'field is' : 'fields are'} empty (a trailing comma), so ${one ? 'it is' : 'they are'} dropped`);
    fields = fit;
  }

  // The fields array itself becomes `values` when there are no metadata columns; it is copied
  // before any change, so the caller's array is never modified.
  let values = defined === fields.length ? (fields as string[]) : fields.slice(0, defined);

  for (let i = 0; i < defined; i++) {
    const col = columns[i];
    const value = values[i];
    if (value.length > MAX_VALUE_CHARS) {
      report.add('error', 'value.too_long', col.name,
        `${col.name} is ${value.length} characters long; rosterdrop stores at most ${MAX_VALUE_CHARS}`);
      continue;
    }
    if (col.kind === 'status' || col.kind === 'datetime') {
      const token = checkModeColumn(col, value, ctx.mode, schema.file, report);
      if (token !== value) {
        if (values === fields) values = fields.slice();
        values[i] = token;
      }
      continue;
    }
    if (value === '') {
      if (col.required) report.add('error', 'value.required', col.name, `${col.name} is required but blank`);
      continue;
    }
    switch (col.kind) {
      case 'sourcedId':
      case 'ref': {
        const why = sourcedIdProblem(value);
        if (why !== null) report.add('error', 'value.sourced_id', col.name, `${col.name} ${quote(value)} ${why}`);
        break;
      }
      case 'enum':
      case 'bool': {
        // the exact token first: the fallback below runs only for a value that is not one
        if (col.kind === 'bool' ? value === 'true' || value === 'false' : (col.values as readonly string[]).includes(value)) break;
        const token = caseToken(col, value, report);
        if (token !== value) {
          if (values === fields) values = fields.slice();
          values[i] = token;
        }
        break;
      }
      case 'date':
        if (!isDate(value)) report.add('error', 'value.date', col.name, dateMessage(col.name, value));
        break;
      case 'year':
        if (!/^\d{4}$/.test(value)) {
          report.add('error', 'value.year', col.name, `${col.name} ${quote(value)} is not a year; write four digits, e.g. 2021`);
        }
        break;
      case 'float':
        if (!FLOAT.test(value)) {
          report.add('error', 'value.float', col.name, `${col.name} ${quote(value)} is not a decimal number (e.g. 85 or 85.5)`);
        }
        break;
      case 'refList':
      case 'stringList':
      case 'grades':
      case 'userIds': {
        const normalized = checkList(col, value, report);
        if (normalized !== value) {
          if (values === fields) values = fields.slice();
          values[i] = normalized;
        }
        break;
      }
      case 'string':
        break;
    }
  }

  const rule = ctx.dateOrder;
  if (rule !== null) {
    const start = values[rule.start];
    const end = values[rule.end];
    // Valid dates only: YYYY-MM-DD strings compare in calendar order.
    if (start !== '' && end !== '' && end < start && isDate(start) && isDate(end)) {
      const startName = columns[rule.start].name;
      const endName = columns[rule.end].name;
      report.add(rule.severity, 'value.date_order', endName, `${endName} ${end} is before ${startName} ${start}`);
    }
  }

  let entries: Array<[string, string]> | null = null;
  for (let i = defined; i < fields.length; i++) {
    const value = fields[i];
    if (value === '') continue;
    const name = ctx.metadataNames[i - defined];
    if (value.length > MAX_VALUE_CHARS) {
      report.add('error', 'value.too_long', METADATA_PREFIX + name,
        `${METADATA_PREFIX}${name} is ${value.length} characters long; rosterdrop stores at most ${MAX_VALUE_CHARS}`);
      continue;
    }
    (entries ??= []).push([name, value]);
  }
  // Object.fromEntries defines own properties: a metadata.__proto__ column is kept as a value (an
  // assignment would have set the object's prototype and dropped the column without a word)
  const metadata = entries ? Object.fromEntries(entries) : null;

  // The engine remembers rejected sourcedIds for the whole sync: detach those (rare) ones.
  return { line, ok: report.ok, sourcedId: report.ok ? sourcedId : detach(sourcedId), values, metadata };
}

/**
 * status and dateLastModified: blank in bulk files, filled in delta files (§5). Returns the value to
 * store: the exact token when the file wrote a status in another case.
 */
function checkModeColumn(col: ColumnSpec, value: string, mode: 'bulk' | 'delta', file: DataFile, report: RowReport): string {
  if (mode === 'bulk') {
    if (value === '') return value;
    if (col.kind !== 'status') {
      report.add('warning', 'value.status_in_bulk', col.name,
        `${col.name} is ${quote(value)} in a bulk file, where it should be blank (bulk files are full snapshots); it is ignored`);
      return value;
    }
    const token = value === 'active' || value === 'tobedeleted' ? value : caseMatch(value, STATUS_VALUES);
    report.add('warning', 'value.status_in_bulk', col.name,
      `status is ${quote(value)} in a bulk file, where it should be blank (bulk files are full snapshots); ${bulkStatusEffect(value, token, file)}`);
    return token ?? value;
  }
  if (col.kind === 'status') {
    if (value === 'active' || value === 'tobedeleted') return value;
    const token = caseMatch(value, STATUS_VALUES);
    if (token !== undefined) {
      report.add('warning', 'value.enum_case', col.name, caseMessage(col.name, value, token));
      return token;
    }
    const hint = value === '' ? 'is blank'
      : value.toLowerCase() === 'inactive' ? `is ${quote(value)}, a OneRoster 1.0 token`
        : `${quote(value)} is not allowed${caseHint(value, STATUS_VALUES)}`;
    report.add('error', 'value.status_required', col.name, `status ${hint}; delta rows need status active or tobedeleted`);
    return value;
  }
  if (value === '') {
    report.add('error', 'value.status_required', col.name,
      'dateLastModified is blank; delta rows need the UTC date-time of the change, e.g. 2024-01-31T12:00:00.000Z');
    return value;
  }
  const kind = datetimeKind(value);
  if (kind === 'utc') return value;
  if (kind === 'invalid') {
    report.add('error', 'value.datetime', col.name,
      `dateLastModified ${quote(value)} is not an ISO 8601 date-time; write it in UTC, e.g. 2024-01-31T12:00:00.000Z`);
  } else {
    report.add('warning', 'value.datetime', col.name, kind === 'offset'
      ? `dateLastModified ${quote(value)} has a UTC offset; OneRoster wants UTC with "Z", e.g. 2024-01-31T12:00:00.000Z (accepted)`
      : `dateLastModified ${quote(value)} is a date without a time; OneRoster wants e.g. ${value}T00:00:00.000Z (accepted)`);
  }
  return value;
}

/**
 * What the engine does with a bulk row that has a status (apply/*.ts: a bulk row marked tobedeleted
 * is applied as the same row of a delta file would be; any other status is not read).
 */
function bulkStatusEffect(value: string, token: string | undefined, file: DataFile): string {
  const read = token !== undefined && token !== value ? `read as "${token}": ` : '';
  if (token === 'tobedeleted') return `${read}${BULK_DELETION[file]}`;
  if (token === 'active') return `${read}it is ignored, the record is imported as usual`;
  if (value.toLowerCase() === 'inactive') return 'OneRoster 1.1 has no "inactive" (a OneRoster 1.0 token): it is ignored and the record is imported as active';
  return 'it is not a status token (active or tobedeleted): it is ignored and the record is imported as active';
}

/** The deletion a bulk row marked tobedeleted makes, per file, as the apply steps make it. */
const BULK_DELETION: Record<DataFile, string> = {
  orgs: 'a sync never removes domains: the domain stays if the LMS has it (its metadata follows the row), and is not created otherwise',
  academicSessions: 'as in a delta, the session is not kept: rosterdrop forgets it if an earlier file sent it',
  courses: 'as in a delta, the course is not kept: rosterdrop forgets it if an earlier file sent it',
  classes: 'as in a delta, its section is deleted in the LMS if the LMS has it, and is not created otherwise',
  users: 'as in a delta, the user is deleted in the LMS if the LMS has them, and is not created otherwise',
  enrollments: 'as in a delta, the enrollment is removed from the LMS if the LMS has it, and is not created otherwise',
  categories: 'rosterdrop does not apply categories.csv, so the row is ignored',
  classResources: 'rosterdrop does not apply classResources.csv, so the row is ignored',
  courseResources: 'rosterdrop does not apply courseResources.csv, so the row is ignored',
  demographics: 'rosterdrop does not apply demographics.csv, so the row is ignored',
  lineItems: 'rosterdrop does not apply lineItems.csv, so the row is ignored',
  resources: 'rosterdrop does not apply resources.csv, so the row is ignored',
  results: 'rosterdrop does not apply results.csv, so the row is ignored',
};

/**
 * An enum or bool value that is not a token: the token it matches ignoring case (accepted with a
 * warning: an Excel round trip writes TRUE, Student), or an error. Spaces around it stay an error.
 */
function caseToken(col: ColumnSpec, value: string, report: RowReport): string {
  const allowed = col.kind === 'bool' ? BOOL_VALUES : col.values ?? [];
  const token = caseMatch(value, allowed);
  if (token === undefined) {
    report.add('error', 'value.enum', col.name, enumMessage({ ...col, values: allowed }, value));
    return value;
  }
  report.add('warning', 'value.enum_case', col.name, caseMessage(col.name, value, token));
  return token;
}

/** The one token that equals value ignoring case, or undefined (none, or more than one). */
function caseMatch(value: string, allowed: readonly string[]): string | undefined {
  const folded = value.toLowerCase();
  let found: string | undefined;
  for (const a of allowed) {
    if (a.toLowerCase() !== folded) continue;
    if (found !== undefined) return undefined;
    found = a;
  }
  return found;
}

function caseMessage(name: string, value: string, token: string): string {
  return `${name} ${quote(value)} is not a OneRoster token (tokens are case-sensitive); read as "${token}"`;
}

/**
 * Splits a list field on commas, trimming spaces around items (lenient), and checks each item.
 * Returns the value with its items re-joined without the spaces, so the engine can split on ",".
 */
function checkList(col: ColumnSpec, value: string, report: RowReport): string {
  const items = value.split(',');
  let changed = false;
  for (let k = 0; k < items.length; k++) {
    let item = items[k];
    if (item.charCodeAt(0) === 32 || item.charCodeAt(item.length - 1) === 32) {
      item = item.trim();
      items[k] = item;
      changed = true;
    }
    if (item === '') {
      report.add('error', 'value.list', col.name,
        `${col.name} ${quote(value)} has a blank item (item ${k + 1}); list items are separated by single commas`);
      continue;
    }
    switch (col.kind) {
      case 'refList': {
        const why = sourcedIdProblem(item);
        if (why !== null) report.add('error', 'value.sourced_id', col.name, `${col.name} item ${quote(item)} ${why}`);
        break;
      }
      case 'grades':
        if (!(GRADE_CODES as readonly string[]).includes(item)) {
          report.add('warning', 'value.grade', col.name,
            `${col.name} item ${quote(item)} is not a CEDS grade code${gradeHint(item)}`);
        }
        break;
      case 'userIds':
        if (!USER_ID.test(item)) {
          report.add('warning', 'value.user_ids', col.name,
            `${col.name} item ${quote(item)} is not of the form {type:identifier}, e.g. {LDAP:12}`);
        }
        break;
      case 'stringList': {
        if (!col.values || col.values.includes(item)) break;
        const token = caseMatch(item, col.values);
        if (token === undefined) {
          report.add('error', 'value.enum', col.name, enumMessage(col, item));
        } else {
          report.add('warning', 'value.enum_case', col.name, caseMessage(`${col.name} item`, item, token));
          items[k] = token;
          changed = true;
        }
        break;
      }
      default:
        break;
    }
  }
  return changed ? items.join(',') : value;
}

const FLOAT = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const USER_ID = /^\{[^{}:]+:[^{}]+\}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** Why a value cannot be a sourcedId (GUID or GUID reference), or null if it can. */
export function sourcedIdProblem(value: string): string | null {
  const n = value.length;
  if (n === 0) return 'is empty';
  if (n > MAX_SOURCED_ID_CHARS) return `is ${n} characters long; sourcedIds have 1-${MAX_SOURCED_ID_CHARS}`;
  if (value.charCodeAt(0) === 32 || value.charCodeAt(n - 1) === 32) return 'has leading or trailing spaces';
  // A regex scan beats a charCodeAt loop here by ~2x: the fields are sliced strings.
  if (CONTROL.test(value)) return 'contains a control character (a tab or line break?)';
  return null;
}

/**
 * YYYY-MM-DD and a real calendar date (no 2021-02-30). Hot (two dates per enrollment), so it
 * reads char codes instead of running a regex and Number() three times.
 */
export function isDate(value: string): boolean {
  if (value.length !== 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return false;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 7);
  const day = digits(value, 8, 10);
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(year, month);
}

/** The decimal number in value[from, to), or -1 if a character is not a digit. */
function digits(value: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** 'utc' is the canonical form; 'offset' and 'date' are accepted with a warning. */
export function datetimeKind(value: string): 'utc' | 'offset' | 'date' | 'invalid' {
  const m = DATETIME.exec(value);
  if (m === null) return isDate(value) ? 'date' : 'invalid';
  if (!isDate(m[1]) || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 60) return 'invalid';
  return m[5] === 'Z' ? 'utc' : 'offset';
}

function dateMessage(name: string, value: string): string {
  return DATE.test(value)
    ? `${name} ${quote(value)} is not a real calendar date`
    : `${name} ${quote(value)} is not a date; write YYYY-MM-DD, e.g. 2024-08-15`;
}

function enumMessage(col: ColumnSpec, value: string): string {
  const allowed = col.values ?? [];
  const hint = caseHint(value, allowed);
  return hint !== ''
    ? `${col.name} ${quote(value)} is not allowed${hint}`
    : `${col.name} ${quote(value)} is not allowed; use one of: ${allowed.join(', ')}`;
}

/** '; did you mean "teacher"?' when the value differs only in surrounding spaces (and case). */
function caseHint(value: string, allowed: readonly string[]): string {
  const folded = value.trim().toLowerCase();
  const match = allowed.find((a) => a.toLowerCase() === folded);
  if (match === undefined) return '';
  return `; did you mean "${match}"? (${value.trim() === value ? 'values are case-sensitive' : 'no spaces around a token'})`;
}

function gradeHint(item: string): string {
  let guess: string | undefined;
  if (/^\d$/.test(item)) guess = `0${item}`;
  else if (/^k$/i.test(item) || /^kindergarten$/i.test(item)) guess = 'KG';
  else guess = (GRADE_CODES as readonly string[]).find((g) => g.toLowerCase() === item.toLowerCase());
  return guess === undefined ? ' (e.g. KG, 01 ... 12, PK)' : `; did you mean "${guess}"?`;
}

/**
 * A row whose width differs from the header's: the fields to validate (the row without its empty
 * extra fields: a trailing comma), or the rejection message. Runs only for such rows.
 */
function fitWidth(fields: readonly string[], line: number, ctx: RowContext): readonly string[] | string {
  const n = fields.length;
  const width = ctx.width;
  const counts = `the row has ${n} fields but the header has ${width} columns`;
  if (n < width) return `${counts} (fields missing, or a list that is not quoted?); the row is rejected`;
  let surplusBlank = true;
  for (let i = width; i < n; i++) if (fields[i] !== '') surplusBlank = false;
  if (!surplusBlank) {
    const split = splitValues(fields, line, ctx, listSplit);
    const guess = split.length > 0 ? split : splitValues(fields, line, ctx, textSplit);
    return guess.length > 0
      ? `${counts}: ${splitHint(guess)}; the row is rejected`
      : `${counts} (a value with a comma that is not quoted?); the row is rejected`;
  }
  // An unquoted comma in front of a blank last column also leaves an empty extra field. When the
  // row reads well that way too (grades 09,10 and a blank password; "Doe, Jr"), it is ambiguous.
  const shifted = splitValues(fields, line, ctx, formedSplit);
  if (shifted.length > 0) {
    return `${counts}; the extra ${n - width === 1 ? 'field is' : 'fields are'} empty, but ${splitHint(shifted)}, ` +
      'so the columns after it would be shifted; the row is rejected';
  }
  const trimmed = fields.slice(0, width);
  if (validateRow(trimmed, line, ctx, new IssueSink(0)).ok) return trimmed;
  // it does not read well without the empty fields either: say which list split it, if one did
  const lists = splitValues(fields, line, ctx, listSplit);
  return lists.length > 0 ? `${counts}: ${splitHint(lists)}; the row is rejected` : trimmed;
}

interface SplitValue { column: string; value: string; list: boolean }

/** Whether `pieces` (fields of a row that is too wide) may be one value of `col` split at its commas. */
type SplitTest = (col: ColumnSpec | null, pieces: readonly string[]) => boolean;

const isList = (col: ColumnSpec | null): boolean =>
  col !== null && (col.kind === 'refList' || col.kind === 'stringList' || col.kind === 'grades' || col.kind === 'userIds');

/** a list with no blank item; items of the form its kind has (grade codes, {type:id}, tokens) */
const listSplit: SplitTest = (col, pieces) => col !== null && isList(col)
  && pieces.every((p) => p.trim() !== '' && (!hasForm(col) || itemHasForm(col, p.trim(), '')));

const hasForm = (col: ColumnSpec): boolean => col.kind === 'grades' || col.kind === 'userIds' || col.values !== undefined;

/** free text whose comma is followed by a space, as in "Doe, Jr" */
const textSplit: SplitTest = (col, pieces) => (col === null || col.kind === 'string')
  && pieces[0].trim() !== '' && pieces.every((p, k) => k === 0 || (p.charCodeAt(0) === 32 && p.trim() !== ''));

/**
 * Splits that read as likely as a trailing comma: "Doe, Jr" text, and lists whose items all have
 * the list's form: grade codes, {type:id}, tokens, or for free lists and sourcedIds the same shape
 * (t1,t2), so that sch1 before the role teacher, or subject code 01001 before period 1, do not count.
 */
const formedSplit: SplitTest = (col, pieces) => textSplit(col, pieces)
  || (col !== null && isList(col) && pieces.every((p) => p.trim() !== '' && itemHasForm(col, p.trim(), pieces[0].trim())));

function itemHasForm(col: ColumnSpec, item: string, first: string): boolean {
  if (col.kind === 'grades') return (GRADE_CODES as readonly string[]).includes(item);
  if (col.kind === 'userIds') return USER_ID.test(item);
  if (col.values !== undefined) return caseMatch(item, col.values) !== undefined;
  return shape(item) === shape(first);
}

/** A value's shape: each digit becomes 9, runs of letters a, the rest is kept (T-12 → a-99). */
function shape(value: string): string {
  return value.replace(/[0-9]/g, '9').replace(/\p{L}+/gu, 'a');
}

/**
 * The columns where joining the surplus fields back into one value passes `test` and gives a row
 * that validates: where an unquoted comma most likely split a value.
 */
function splitValues(fields: readonly string[], line: number, ctx: RowContext, test: SplitTest): SplitValue[] {
  const surplus = fields.length - ctx.width;
  const columns = ctx.schema.columns;
  const out: SplitValue[] = [];
  for (let j = 0; j < ctx.width; j++) {
    const col = j < columns.length ? columns[j] : null;
    if (col !== null && col.kind !== 'string' && !isList(col)) continue;
    const pieces = fields.slice(j, j + surplus + 1);
    if (!test(col, pieces)) continue;
    const value = pieces.join(',');
    const merged = [...fields.slice(0, j), value, ...fields.slice(j + surplus + 1)];
    if (!validateRow(merged, line, ctx, new IssueSink(0)).ok) continue;
    out.push({ column: col?.name ?? METADATA_PREFIX + ctx.metadataNames[j - columns.length], value, list: isList(col) });
  }
  return out;
}

function splitHint(splits: readonly SplitValue[]): string {
  const named = splits.map((s) => `${s.column} ${quote(s.value)}`).join(' or ');
  const what = splits.every((s) => s.list) ? 'a list' : 'a value';
  return `${named} looks like ${what} with a comma that is not quoted (${what} must be in double quotes when it has a comma)`;
}
