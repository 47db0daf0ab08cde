/**
 * Checks a data file's header row against its OneRoster 1.1 layout (§1, §3, §8): defined columns
 * exactly, in order and case; unique names; extension columns only as trailing metadata.*.
 * Spots the usual causes (1.0 or 1.2 exports, case, stray spaces, a glued BOM) so the message
 * tells the admin what to fix, not just that something differs.
 */
import { IssueSink, StructuralError, type IssueCode, type SyncIssue } from './issues';
import type { FileSchema } from './types';
import { METADATA_PREFIX } from './schemas';

export interface HeaderInfo {
  /** full names of the metadata.* columns after the defined ones */
  extensionColumns: string[];
}

/**
 * Returns the extension columns, or records every header problem and throws a StructuralError
 * carrying the first (already recorded).
 */
export function checkHeader(names: readonly string[], schema: FileSchema, issues: IssueSink): HeaderInfo {
  const file = schema.fileName;
  const found: SyncIssue[] = [];
  const add = (code: IssueCode, column: string | null, text: string): void => {
    const issue: SyncIssue = {
      severity: 'error', code, file, line: 1, column, sourcedId: null, message: `${file} header: ${text}`,
    };
    issues.add(issue);
    found.push(issue);
  };

  const firstAt = new Map<string, number>();
  names.forEach((name, i) => {
    const first = firstAt.get(name);
    if (first === undefined) firstAt.set(name, i);
    else if (name !== '') add('csv.header_duplicate', name, `"${name}" appears in columns ${first + 1} and ${i + 1}; each name must be unique`);
  });

  const defined = schema.columns.map((c) => c.name);
  const mismatch = defined.findIndex((name, i) => names[i] !== name);
  // said once per header: on the mismatch, or else on the first bad extension column (a newer
  // layout may start with every 1.1 column and add its own after them)
  let layout = layoutHint(schema, names);
  if (mismatch >= 0) {
    const expected = defined[mismatch];
    const got = names[mismatch];
    const what = got === undefined
      ? `found nothing (the header has only ${names.length} columns; every defined column must be present, even when empty)`
      : `found "${visible(got)}"`;
    const hints = [nameHint(expected, got, names, defined), layout].filter((h) => h !== '');
    layout = '';
    add('csv.header_mismatch', expected,
      `column ${mismatch + 1}: expected "${expected}", ${what}${hints.map((h) => `. ${h}`).join('')}. ` +
      `The OneRoster 1.1 header is: ${defined.join(',')}`);
  }

  const extensionColumns = names.slice(defined.length);
  extensionColumns.forEach((name, k) => {
    const position = defined.length + k + 1;
    if (name === '') {
      add('csv.extension_column', null, `column ${position} has no name (a trailing comma at the end of the header?)`);
    } else if (!name.startsWith(METADATA_PREFIX) || name.length === METADATA_PREFIX.length) {
      add('csv.extension_column', name,
        `column ${position} "${visible(name)}" is not a OneRoster 1.1 column; extra columns must be named ` +
        `metadata.<name> and come after ${defined[defined.length - 1]}${layout ? `. ${layout}` : ''}`);
      layout = '';
    }
  });

  if (found.length > 0) throw new StructuralError(found[0]);
  return { extensionColumns };
}

/** Why `got` is not `expected`, when a common slip explains it. */
function nameHint(expected: string, got: string | undefined, names: readonly string[], defined: readonly string[]): string {
  if (got === undefined) return '';
  if (got.charCodeAt(0) === 0xfeff) return 'The name starts with a byte-order mark (the file has two, or was re-encoded)';
  if (got.includes('\r')) return 'The file seems to use CR-only line endings; save it with LF or CRLF line endings';
  if (got.trim() === expected) return 'Remove the spaces around the name';
  if (got.toLowerCase() === expected.toLowerCase()) return 'Header names are case-sensitive';
  if (got.startsWith(METADATA_PREFIX)) {
    return `metadata.* columns must come after the last defined column (${defined[defined.length - 1]})`;
  }
  if (names.includes(expected)) return `"${expected}" is present but in another position: the order of the columns is fixed`;
  return '';
}

// §8: names that only exist in other OneRoster versions.
// (prefferedGivenName: the misspelling of the Moodle 1.2 fixture)
const V12_NAMES = ['userMasterIdentifier', 'preferredGivenName', 'preferredMiddleName', 'preferredFamilyName', 'primaryOrgSourcedId', 'pronouns',
  'prefferedGivenName'];
const V10_NAMES: Record<string, readonly string[]> = {
  courses: ['schoolYearId', 'grade'],
  classes: ['grade', 'termSourcedId'],
  users: ['userId', 'agents'],
  demographics: ['userSourcedId', 'birthdate'],
};

/** "This looks like a OneRoster 1.0 …" when the header matches a known older or newer layout. */
function layoutHint(schema: FileSchema, names: readonly string[]): string {
  const v12 = names.filter((n) => V12_NAMES.includes(n));
  if (v12.length > 0) return versionText('1.2', `it has ${v12.map((n) => `"${n}"`).join(', ')}`);

  const v10 = names.filter((n) => (V10_NAMES[schema.file] ?? []).includes(n));
  if (v10.length > 0) return versionText('1.0', `it has ${v10.map((n) => `"${n}"`).join(', ')}`);

  const at = (n: string): number => names.indexOf(n);
  switch (schema.file) {
    case 'users':
      if (at('enabledUser') < 0 && at('orgSourcedIds') >= 0) return versionText('1.0', 'it has no "enabledUser"');
      if (at('orgSourcedIds') < 0 && at('role') < 0 && at('username') >= 0) {
        return versionText('1.2', 'it has no "orgSourcedIds" or "role" (1.2 moved them to roles.csv)');
      }
      break;
    case 'enrollments':
      if (at('role') >= 0 && at('status') > at('role')) return versionText('1.0', 'status and dateLastModified come after role');
      break;
    case 'orgs': {
      const meta = names.findIndex((n) => n.startsWith(METADATA_PREFIX));
      if (meta >= 0 && at('parentSourcedId') > meta) return versionText('1.0', 'metadata columns come before parentSourcedId');
      break;
    }
    case 'academicSessions':
      if (at('schoolYear') < 0 && names[names.length - 1] === 'parentSourcedId') return versionText('1.0', 'it has no "schoolYear"');
      break;
    default:
      break;
  }
  return '';
}

function versionText(version: string, reason: string): string {
  return `This looks like a OneRoster ${version} layout (${reason}); rosterdrop reads OneRoster 1.1 only: ` +
    'export the files as OneRoster 1.1';
}

/** Makes invisible characters in a header name visible in a message. */
function visible(name: string): string {
  const shown = name.length > 80 ? `${name.slice(0, 77)}...` : name;
  return shown.replace(/\ufeff/g, '<BOM>').replace(/\r/g, '<CR>').replace(/\t/g, '<TAB>');
}
