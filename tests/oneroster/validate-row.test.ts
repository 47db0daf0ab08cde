import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IssueSink, type SyncIssue } from '../../src/oneroster/issues';
import { SCHEMAS, columnIndex } from '../../src/oneroster/schemas';
import { rowContext, validateRow, isDate, datetimeKind } from '../../src/oneroster/validate-row';
import type { DataFile, ParsedRow } from '../../src/oneroster/types';

// Valid rows, one per file used below, in header order.
const GOOD: Partial<Record<DataFile, Record<string, string>>> = {
  users: {
    sourcedId: 'u1', enabledUser: 'true', orgSourcedIds: 'sch1', role: 'teacher', username: 'jdoe',
    userIds: '{LDAP:12}', givenName: 'Jane', familyName: 'Doe', grades: '09',
  },
  enrollments: {
    sourcedId: 'e1', classSourcedId: 'c1', schoolSourcedId: 'sch1', userSourcedId: 'u1', role: 'student',
    primary: 'false', beginDate: '2024-08-15', endDate: '2025-06-01',
  },
  academicSessions: {
    sourcedId: 'as1', title: 'Fall', type: 'term', startDate: '2024-08-15', endDate: '2024-12-20', schoolYear: '2025',
  },
  classes: {
    sourcedId: 'cl1', title: 'Math', courseSourcedId: 'co1', classType: 'scheduled', schoolSourcedId: 'sch1',
    termSourcedIds: 't1,t2', periods: '1,2',
  },
  lineItems: {
    sourcedId: 'li1', title: 'Quiz', assignDate: '2024-09-01', dueDate: '2024-09-08', classSourcedId: 'cl1',
    categorySourcedId: 'cat1', resultValueMin: '0', resultValueMax: '100',
  },
  resources: { sourcedId: 'r1', vendorResourceId: 'v1', roles: 'teacher,student' },
};

function fields(file: DataFile, change: Record<string, string> = {}, metadata: string[] = []): string[] {
  const values = { ...GOOD[file], ...change };
  return [...SCHEMAS[file].columns.map((c) => values[c.name] ?? ''), ...metadata];
}

function run(file: DataFile, change: Record<string, string> = {}, mode: 'bulk' | 'delta' = 'bulk',
  ext: string[] = [], meta: string[] = []): { row: ParsedRow; issues: SyncIssue[] } {
  const sink = new IssueSink();
  const row = validateRow(fields(file, change, meta), 7, rowContext(SCHEMAS[file], mode, ext), sink);
  return { row, issues: sink.kept };
}

/** Asserts exactly one issue with this code/severity/column, and returns it. */
function only(issues: SyncIssue[], code: string, severity: 'error' | 'warning', column: string | null): SyncIssue {
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 1));
  const [issue] = issues;
  assert.equal(issue.code, code);
  assert.equal(issue.severity, severity);
  assert.equal(issue.column, column);
  return issue;
}

test('a valid row is ok, with its values in header order and no metadata', () => {
  for (const file of Object.keys(GOOD) as DataFile[]) {
    const { row, issues } = run(file);
    assert.deepEqual(issues, [], file);
    assert.equal(row.ok, true);
    assert.equal(row.line, 7);
    assert.equal(row.sourcedId, GOOD[file]?.sourcedId);
    assert.deepEqual(row.values, fields(file));
    assert.equal(row.metadata, null);
  }
});

test('issues carry file, line, column, sourcedId, and a message naming rule and value', () => {
  const { row, issues } = run('users', { role: ' Teacher' });
  assert.equal(row.ok, false);
  const issue = only(issues, 'value.enum', 'error', 'role');
  assert.equal(issue.file, 'users.csv');
  assert.equal(issue.line, 7);
  assert.equal(issue.sourcedId, 'u1');
  assert.equal(issue.message, 'users.csv line 7: role " Teacher" is not allowed; did you mean "teacher"? (no spaces around a token)');
});

test('enum without a case match lists the allowed tokens; enrollments allow only four roles', () => {
  const issue = only(run('enrollments', { role: 'aide' }).issues, 'value.enum', 'error', 'role');
  assert.match(issue.message, /role "aide" is not allowed; use one of: administrator, proctor, student, teacher/);
  assert.equal(run('users', { role: 'aide' }).issues.length, 0);
  only(run('users', { role: 'principal' }).issues, 'value.enum', 'error', 'role');
});

test('row width: fewer fields are rejected with both counts and a hint, sourcedId kept', () => {
  const sink = new IssueSink();
  const short = validateRow(['u9', '', ''], 12, rowContext(SCHEMAS.users, 'bulk'), sink);
  assert.equal(short.ok, false);
  const issue = only(sink.kept, 'csv.row_width', 'error', null);
  assert.equal(issue.message, 'users.csv line 12: the row has 3 fields but the header has 18 columns ' +
    '(fields missing, or a list that is not quoted?); the row is rejected');
  assert.equal(short.sourcedId, 'u9');
  assert.equal(short.values.length, 18);
});

test('required blank → value.required', () => {
  const issue = only(run('users', { givenName: '' }).issues, 'value.required', 'error', 'givenName');
  assert.match(issue.message, /givenName is required but blank/);
  only(run('enrollments', { sourcedId: '' }).issues, 'value.required', 'error', 'sourcedId');
  // optional blanks are fine
  assert.deepEqual(run('enrollments', { primary: '', beginDate: '', endDate: '' }).issues, []);
  // a space is a value, not a blank
  only(run('enrollments', { primary: ' ' }).issues, 'value.enum', 'error', 'primary');
});

test('booleans are true or false (in any case, with a warning)', () => {
  const issue = only(run('users', { enabledUser: 'TRUE ' }).issues, 'value.enum', 'error', 'enabledUser');
  assert.match(issue.message, /did you mean "true"\?/);
  only(run('enrollments', { primary: '1' }).issues, 'value.enum', 'error', 'primary');
  assert.deepEqual(run('enrollments', { primary: 'true' }).issues, []);
});

test('dates: YYYY-MM-DD and real calendar dates', () => {
  const bad = only(run('enrollments', { beginDate: '9/1/2023' }).issues, 'value.date', 'error', 'beginDate');
  assert.match(bad.message, /beginDate "9\/1\/2023" is not a date; write YYYY-MM-DD/);
  const unreal = only(run('enrollments', { endDate: '2025-02-29' }).issues, 'value.date', 'error', 'endDate');
  assert.match(unreal.message, /not a real calendar date/);
  assert.equal(isDate('2024-02-29'), true);
  assert.equal(isDate('2100-02-29'), false);
  assert.equal(isDate('2000-02-29'), true);
  assert.equal(isDate('2024-04-31'), false);
  assert.equal(isDate('2024-13-01'), false);
  assert.equal(isDate('2024-1-01'), false);
  assert.equal(isDate('2024-01-01T00:00:00Z'), false);
});

test('year: four digits', () => {
  only(run('academicSessions', { schoolYear: '21' }).issues, 'value.year', 'error', 'schoolYear');
  only(run('academicSessions', { schoolYear: '2021-22' }).issues, 'value.year', 'error', 'schoolYear');
});

test('float: decimal numbers only', () => {
  for (const ok of ['0', '85', '85.5', '-1', '.5', '+3']) assert.deepEqual(run('lineItems', { resultValueMax: ok }).issues, [], ok);
  for (const bad of ['85,5', 'abc', '1e3', 'NaN', '']) {
    const { issues } = run('lineItems', { resultValueMin: bad });
    assert.equal(issues[0].code, bad === '' ? 'value.required' : 'value.float', bad);
  }
});

test('sourcedIds and references: 1-255 chars, no control characters, no surrounding spaces', () => {
  only(run('users', { sourcedId: 'x'.repeat(256) }).issues, 'value.sourced_id', 'error', 'sourcedId');
  assert.deepEqual(run('users', { sourcedId: 'x'.repeat(255) }).issues, []);
  only(run('users', { sourcedId: ' u1' }).issues, 'value.sourced_id', 'error', 'sourcedId');
  only(run('enrollments', { userSourcedId: 'u1 ' }).issues, 'value.sourced_id', 'error', 'userSourcedId');
  const tab = only(run('enrollments', { classSourcedId: 'c\t1' }).issues, 'value.sourced_id', 'error', 'classSourcedId');
  assert.match(tab.message, /control character/);
  // any printable characters are fine (GUIDs need not be UUIDs)
  assert.deepEqual(run('users', { sourcedId: 'a.b_c-d/e@f:g ü' }).issues, []);
});

test('lists: items trimmed leniently, blank items are errors, items of refLists are sourcedIds', () => {
  const { row, issues } = run('classes', { termSourcedIds: 't1, t2' });
  assert.deepEqual(issues, []);
  assert.equal(row.values[columnIndex(SCHEMAS.classes, 'termSourcedIds')], 't1,t2');
  const blank = only(run('classes', { termSourcedIds: 't1,,t2' }).issues, 'value.list', 'error', 'termSourcedIds');
  assert.match(blank.message, /blank item \(item 2\)/);
  only(run('classes', { periods: '1,' }).issues, 'value.list', 'error', 'periods');
  only(run('users', { orgSourcedIds: 'a,b\u0001' }).issues, 'value.sourced_id', 'error', 'orgSourcedIds');
  // the caller's array is not modified by the normalisation
  const input = fields('classes', { termSourcedIds: 't1 , t2' });
  validateRow(input, 2, rowContext(SCHEMAS.classes, 'bulk'), new IssueSink());
  assert.equal(input[columnIndex(SCHEMAS.classes, 'termSourcedIds')], 't1 , t2');
});

test('list items of an enumeration (resources.roles) are checked', () => {
  only(run('resources', { roles: 'teacher,principal' }).issues, 'value.enum', 'error', 'roles');
  const cased = run('resources', { roles: 'teacher,Student' });
  assert.equal(cased.row.ok, true);
  assert.match(only(cased.issues, 'value.enum_case', 'warning', 'roles').message, /roles item "Student" is not a OneRoster token .*read as "student"/);
  assert.equal(cased.row.values[columnIndex(SCHEMAS.resources, 'roles')], 'teacher,student');
});

test('grades: unknown CEDS codes are warnings only, with a hint', () => {
  const { row, issues } = run('users', { grades: '9' });
  assert.equal(row.ok, true);
  const issue = only(issues, 'value.grade', 'warning', 'grades');
  assert.match(issue.message, /did you mean "09"\?/);
  assert.match(only(run('users', { grades: 'K' }).issues, 'value.grade', 'warning', 'grades').message, /"KG"/);
  assert.deepEqual(run('users', { grades: 'KG,01,Other' }).issues, []);
});

test('userIds: items not {type:identifier} are warnings only', () => {
  const { row, issues } = run('users', { userIds: '{LDAP:12},LTI:15' });
  assert.equal(row.ok, true);
  assert.match(only(issues, 'value.user_ids', 'warning', 'userIds').message, /"LTI:15" is not of the form \{type:identifier\}/);
  assert.deepEqual(run('users', { userIds: '{LDAP:12},{LTI:15}' }).issues, []);
});

test('any value over 2048 characters → value.too_long', () => {
  only(run('users', { password: 'p'.repeat(2049) }).issues, 'value.too_long', 'error', 'password');
  assert.deepEqual(run('users', { password: 'p'.repeat(2048) }).issues, []);
});

test('bulk: status or dateLastModified filled in → warning, row ok, values kept', () => {
  const { row, issues } = run('users', { status: 'active', dateLastModified: '2024-01-01T00:00:00Z' });
  assert.equal(row.ok, true);
  assert.deepEqual(issues.map((i) => [i.code, i.severity, i.column]), [
    ['value.status_in_bulk', 'warning', 'status'], ['value.status_in_bulk', 'warning', 'dateLastModified'],
  ]);
  assert.equal(row.values[1], 'active');
});

test('delta: status active/tobedeleted and a UTC datetime are required', () => {
  const good = run('users', { status: 'tobedeleted', dateLastModified: '2024-01-31T12:00:00.000Z' }, 'delta');
  assert.deepEqual(good.issues, []);
  assert.equal(good.row.ok, true);
  assert.deepEqual(run('users', { status: 'active', dateLastModified: '2024-01-31T12:00:00Z' }, 'delta').issues, []);

  only(run('users', { dateLastModified: '2024-01-31T12:00:00Z' }, 'delta').issues, 'value.status_required', 'error', 'status');
  const inactive = only(run('users', { status: 'inactive', dateLastModified: '2024-01-31T12:00:00Z' }, 'delta').issues,
    'value.status_required', 'error', 'status');
  assert.match(inactive.message, /OneRoster 1\.0 token/);
  only(run('users', { status: 'Actve', dateLastModified: '2024-01-31T12:00:00Z' }, 'delta').issues, 'value.status_required', 'error', 'status');
  only(run('users', { status: 'active' }, 'delta').issues, 'value.status_required', 'error', 'dateLastModified');
});

test('delta datetimes: offset and bare date accepted with a warning; garbage is an error', () => {
  const offset = run('users', { status: 'active', dateLastModified: '2024-01-31T12:00:00+02:00' }, 'delta');
  assert.equal(offset.row.ok, true);
  assert.match(only(offset.issues, 'value.datetime', 'warning', 'dateLastModified').message, /UTC offset/);
  const bare = run('users', { status: 'active', dateLastModified: '2024-01-31' }, 'delta');
  assert.equal(bare.row.ok, true);
  only(bare.issues, 'value.datetime', 'warning', 'dateLastModified');
  for (const bad of ['yesterday', '2024-01-31 12:00:00', '2024-01-31T12:00:00', '2024-02-30T00:00:00Z', '2024-01-31T25:00:00Z']) {
    const { row, issues } = run('users', { status: 'active', dateLastModified: bad }, 'delta');
    assert.equal(row.ok, false, bad);
    only(issues, 'value.datetime', 'error', 'dateLastModified');
  }
  assert.equal(datetimeKind('2017-04-24T14:30:05.123Z'), 'utc');
  assert.equal(datetimeKind('2017-04-24T14:30:05Z'), 'utc');
  assert.equal(datetimeKind('2017-04-24T14:30:05-0500'), 'offset');
});

test('date order: academicSessions error, enrollments warning', () => {
  const session = run('academicSessions', { startDate: '2024-08-15', endDate: '2024-08-01' });
  assert.equal(session.row.ok, false);
  assert.match(only(session.issues, 'value.date_order', 'error', 'endDate').message, /endDate 2024-08-01 is before startDate 2024-08-15/);
  assert.deepEqual(run('academicSessions', { startDate: '2024-08-15', endDate: '2024-08-15' }).issues, []);
  const enrollment = run('enrollments', { beginDate: '2025-01-01', endDate: '2024-12-31' });
  assert.equal(enrollment.row.ok, true);
  only(enrollment.issues, 'value.date_order', 'warning', 'endDate');
});

test('a metadata.__proto__ column is kept as a value like any other, not dropped (nor taken as a prototype)', () => {
  const ext = ['metadata.__proto__', 'metadata.constructor'];
  const { row, issues } = run('users', {}, 'bulk', ext, ['{"admin":true}', 'x']);
  assert.deepEqual(issues, []);
  assert.deepEqual(Object.entries(row.metadata ?? {}), [['__proto__', '{"admin":true}'], ['constructor', 'x']]);
  assert.equal(JSON.stringify(row.metadata), '{"__proto__":"{\\"admin\\":true}","constructor":"x"}');
});

test('metadata.* columns: prefix stripped, blanks left out, null when none', () => {
  const ext = ['metadata.address1', 'metadata.city', 'metadata.gm.additionalroles'];
  const { row, issues } = run('users', {}, 'bulk', ext, ['1 Main St', '', 'aide']);
  assert.deepEqual(issues, []);
  assert.deepEqual(row.metadata, { address1: '1 Main St', 'gm.additionalroles': 'aide' });
  assert.equal(row.values.length, 18);
  assert.equal(run('users', {}, 'bulk', ext, ['', '', '']).row.metadata, null);
  only(run('users', {}, 'bulk', ext, ['x'.repeat(3000), '', '']).issues, 'value.too_long', 'error', 'metadata.address1');
});

test('several problems in one row are all reported', () => {
  const { row, issues } = run('enrollments', { role: 'pupil', beginDate: '2024-13-01', userSourcedId: '' });
  assert.equal(row.ok, false);
  assert.deepEqual(issues.map((i) => i.code).sort(), ['value.date', 'value.enum', 'value.required']);
});

// ---- issue 18: trailing empty fields, unquoted lists, enumerations in another case, bulk status ----

/** A row as a reader splits it when nothing is quoted: every comma separates fields. */
function unquoted(file: DataFile, change: Record<string, string>, extra: string[] = []): string[] {
  return [...fields(file, change).join(',').split(','), ...extra];
}

function validate(input: string[], file: DataFile, mode: 'bulk' | 'delta' = 'bulk'): { row: ParsedRow; issues: SyncIssue[] } {
  const sink = new IssueSink();
  const row = validateRow(input, 9, rowContext(SCHEMAS[file], mode), sink);
  return { row, issues: sink.kept };
}

test('trailing empty fields: the row is kept without them, with a csv.row_width warning', () => {
  for (const extra of [[''], ['', '']]) {
    const input = [...fields('users'), ...extra];
    const { row, issues } = validate(input, 'users');
    assert.equal(row.ok, true);
    assert.deepEqual(row.values, fields('users'));
    const issue = only(issues, 'csv.row_width', 'warning', null);
    assert.equal(issue.line, 9);
    assert.equal(issue.sourcedId, 'u1');
    assert.match(issue.message, new RegExp(`^users\\.csv line 9: the row has ${18 + extra.length} fields but the header has 18 columns; ` +
      `the extra fields? (is|are) empty \\(a trailing comma\\), so (it is|they are) dropped$`));
    assert.equal(input.length, 18 + extra.length, "the caller's array is not modified");
  }
  // with metadata columns: the width counts them; their values are kept
  const sink = new IssueSink();
  const ctx = rowContext(SCHEMAS.users, 'bulk', ['metadata.house']);
  const row = validateRow([...fields('users'), 'Blue', ''], 3, ctx, sink);
  assert.equal(row.ok, true);
  assert.deepEqual(row.metadata, { house: 'Blue' });
  only(sink.kept, 'csv.row_width', 'warning', null);
  // the kept row is still validated
  const bad = validate([...fields('users', { role: 'principal' }), ''], 'users');
  assert.equal(bad.row.ok, false);
  assert.deepEqual(bad.issues.map((i) => [i.code, i.severity]), [['csv.row_width', 'warning'], ['value.enum', 'error']]);
});

test('a ClassLink teacher row (its blank last columns and a trailing comma) is kept', () => {
  const line = '207270,,,true,255901001,teacher,Kelley Heidi Christian,,Kelley,Christian,Heidi,,Kelley.Christian@example.org,,,,,,';
  const { row, issues } = validate(line.split(','), 'users');
  assert.equal(row.ok, true);
  assert.equal(row.values.length, 18);
  assert.equal(row.values[columnIndex(SCHEMAS.users, 'role')], 'teacher');
  only(issues, 'csv.row_width', 'warning', null);
});

test('an unquoted list is named in the rejection, not taken for a trailing comma', () => {
  const orgs = validate(unquoted('users', { orgSourcedIds: '255901001,255901' }), 'users');
  assert.equal(orgs.row.ok, false);
  assert.equal(only(orgs.issues, 'csv.row_width', 'error', null).message,
    'users.csv line 9: the row has 19 fields but the header has 18 columns: orgSourcedIds "255901001,255901" looks like a list ' +
    'with a comma that is not quoted (a list must be in double quotes when it has a comma); the row is rejected');
  const terms = validate(unquoted('classes', { termSourcedIds: 't1,t2,t3', periods: '4' }), 'classes');
  assert.match(only(terms.issues, 'csv.row_width', 'error', null).message,
    /^classes\.csv line 9: the row has 16 fields but the header has 14 columns: termSourcedIds "t1,t2,t3" looks like a list with a comma that is not quoted/);
  // the same with blank last columns: two empty extra fields, still not a trailing comma
  const blankTerms = validate(unquoted('classes', { termSourcedIds: 't1,t2,t3', periods: '' }), 'classes');
  assert.equal(blankTerms.row.ok, false);
  assert.match(only(blankTerms.issues, 'csv.row_width', 'error', null).message,
    /the extra fields are empty, but termSourcedIds "t1,t2,t3" looks like a list with a comma that is not quoted/);
  // the ClassLink case with a blank password: the row read without the empty field fails, so the list is named
  const classLink = validate(unquoted('users', { orgSourcedIds: '255901001,255901', userIds: '', grades: '' }), 'users');
  assert.match(only(classLink.issues, 'csv.row_width', 'error', null).message,
    /^users\.csv line 9: the row has 19 fields but the header has 18 columns: orgSourcedIds "255901001,255901" looks like a list/);
  // no list explains it: text with ", " is named, else the generic hint
  const name = validate(unquoted('users', { familyName: 'Doe, Jr', password: 'pw' }), 'users');
  assert.match(only(name.issues, 'csv.row_width', 'error', null).message,
    /19 fields but the header has 18 columns: familyName "Doe, Jr" looks like a value with a comma that is not quoted/);
  const other = validate(unquoted('users', { familyName: 'Doe,Jr', password: 'pw' }), 'users');
  assert.match(only(other.issues, 'csv.row_width', 'error', null).message,
    /19 fields but the header has 18 columns \(a value with a comma that is not quoted\?\); the row is rejected$/);
  // and with a blank last column, ", " in a text is not taken for a trailing comma
  const blankLast = validate(unquoted('users', { familyName: 'Doe, Jr' }), 'users');
  assert.equal(blankLast.row.ok, false);
  assert.match(only(blankLast.issues, 'csv.row_width', 'error', null).message,
    /the extra field is empty, but familyName "Doe, Jr" looks like a value with a comma that is not quoted/);
});

test('empty extra fields after an unquoted list of grades (the password column blank) are not a trailing comma', () => {
  // grades 09,10 unquoted shifts 10 into password and the blank password out past the header
  const input = unquoted('users', { grades: '09,10', password: '' });
  assert.equal(input[input.length - 1], '');
  const { row, issues } = validate(input, 'users');
  assert.equal(row.ok, false);
  assert.match(only(issues, 'csv.row_width', 'error', null).message,
    /the extra field is empty, but grades "09,10" looks like a list with a comma that is not quoted .*so the columns after it would be shifted; the row is rejected$/);
  // a free-text list reads well either way: the trailing comma is the likely reading
  const classes = validate([...fields('classes', { subjects: 'Math', subjectCodes: '01001', periods: '1' }), ''], 'classes');
  assert.equal(classes.row.ok, true);
  only(classes.issues, 'csv.row_width', 'warning', null);
});

test('enumerations and booleans in another case: accepted as the exact token, with value.enum_case', () => {
  const cases: Array<[DataFile, string, string, string]> = [
    ['users', 'role', 'Student', 'student'],
    ['users', 'enabledUser', 'TRUE', 'true'],
    ['enrollments', 'role', 'TEACHER', 'teacher'],
    ['enrollments', 'primary', 'True', 'true'],
    ['enrollments', 'primary', 'FALSE', 'false'],
    ['classes', 'classType', 'Scheduled', 'scheduled'],
    ['academicSessions', 'type', 'SchoolYear', 'schoolYear'],
    ['academicSessions', 'type', 'gradingperiod', 'gradingPeriod'],
    ['resources', 'importance', 'Primary', 'primary'],
  ];
  for (const [file, column, value, token] of cases) {
    const input = fields(file, { [column]: value });
    const { row, issues } = validate(input, file);
    assert.equal(row.ok, true, `${file}.${column} ${value}`);
    const issue = only(issues, 'value.enum_case', 'warning', column);
    assert.equal(issue.line, 9);
    assert.equal(issue.file, `${file}.csv`);
    assert.equal(issue.message, `${file}.csv line 9: ${column} "${value}" is not a OneRoster token (tokens are case-sensitive); read as "${token}"`);
    assert.equal(row.values[columnIndex(SCHEMAS[file], column)], token);
    assert.equal(input[columnIndex(SCHEMAS[file], column)], value, "the caller's array is not modified");
  }
  const demo = validate(SCHEMAS.demographics.columns.map((c) => ({ sourcedId: 'u1', sex: 'Female', asian: 'True', white: 'FALSE' })[c.name] ?? ''),
    'demographics');
  assert.equal(demo.row.ok, true);
  assert.deepEqual(demo.issues.map((i) => [i.code, i.column]), [['value.enum_case', 'sex'], ['value.enum_case', 'asian'], ['value.enum_case', 'white']]);
  assert.deepEqual([4, 6, 9].map((i) => demo.row.values[i]), ['female', 'true', 'false']);
  const orgs = validate(SCHEMAS.orgs.columns.map((c) => ({ sourcedId: 'o1', name: 'X', type: 'School' })[c.name] ?? ''), 'orgs');
  assert.equal(orgs.row.values[columnIndex(SCHEMAS.orgs, 'type')], 'school');
  // spaces around a token, or a token that is not one in any case, stay errors
  for (const value of [' student', 'student ', 'Pupil']) {
    const { row, issues } = validate(fields('users', { role: value }), 'users');
    assert.equal(row.ok, false, value);
    only(issues, 'value.enum', 'error', 'role');
  }
});

test('delta status in another case: accepted as the exact token; inactive stays an error', () => {
  for (const [value, token] of [['Active', 'active'], ['TOBEDELETED', 'tobedeleted'], ['ToBeDeleted', 'tobedeleted']]) {
    const { row, issues } = validate(fields('enrollments', { status: value, dateLastModified: '2024-01-31T12:00:00.000Z' }), 'enrollments', 'delta');
    assert.equal(row.ok, true, value);
    assert.match(only(issues, 'value.enum_case', 'warning', 'status').message, new RegExp(`status "${value}" is not a OneRoster token .*read as "${token}"`));
    assert.equal(row.values[1], token);
  }
  const inactive = validate(fields('users', { status: 'Inactive', dateLastModified: '2024-01-31T12:00:00.000Z' }), 'users', 'delta');
  assert.match(only(inactive.issues, 'value.status_required', 'error', 'status').message, /"Inactive", a OneRoster 1\.0 token/);
});

test('bulk status: the warning says what is done with the row, per file', () => {
  const effect: Array<[DataFile, RegExp]> = [
    ['users', /as in a delta, the user is deleted in the LMS if the LMS has them, and is not created otherwise$/],
    ['enrollments', /as in a delta, the enrollment is removed from the LMS if the LMS has it, and is not created otherwise$/],
    ['classes', /as in a delta, its section is deleted in the LMS if the LMS has it, and is not created otherwise$/],
    ['academicSessions', /as in a delta, the session is not kept: rosterdrop forgets it if an earlier file sent it$/],
    ['resources', /rosterdrop does not apply resources\.csv, so the row is ignored$/],
  ];
  for (const [file, text] of effect) {
    const { row, issues } = validate(fields(file, { status: 'tobedeleted' }), file);
    assert.equal(row.ok, true);
    const issue = only(issues, 'value.status_in_bulk', 'warning', 'status');
    assert.match(issue.message, new RegExp(`^${file}\\.csv line 9: status "tobedeleted" in a bulk file`.replace('status "', 'status is "')));
    assert.match(issue.message, text);
  }
  const upper = validate(fields('users', { status: 'TOBEDELETED' }), 'users');
  assert.match(only(upper.issues, 'value.status_in_bulk', 'warning', 'status').message, /; read as "tobedeleted": as in a delta, the user is deleted/);
  assert.equal(upper.row.values[1], 'tobedeleted');
  for (const value of ['inactive', 'Inactive']) {
    const { row, issues } = validate(fields('users', { status: value }), 'users');
    assert.match(only(issues, 'value.status_in_bulk', 'warning', 'status').message,
      /OneRoster 1\.1 has no "inactive" \(a OneRoster 1\.0 token\): it is ignored and the record is imported as active$/);
    assert.equal(row.values[1], value);
  }
  assert.match(only(validate(fields('users', { status: 'active' }), 'users').issues, 'value.status_in_bulk', 'warning', 'status').message,
    /; it is ignored, the record is imported as usual$/);
});
