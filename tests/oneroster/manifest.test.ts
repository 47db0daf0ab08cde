import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { IssueSink, StructuralError, type SyncIssue } from '../../src/oneroster/issues';
import { RosterZip, DEFAULT_ZIP_LIMITS } from '../../src/oneroster/zip-reader';
import { readManifest } from '../../src/oneroster/manifest';
import { APPLIED_FILES, type Manifest } from '../../src/oneroster/types';
import { makeZip, tempDir } from '../helpers/zip';

let dir = '';
let cleanup = (): void => {};
let counter = 0;
before(() => ({ dir, cleanup } = tempDir()));
after(() => cleanup());

const GOOD_ROWS = [
  'manifest.version,1.0', 'oneroster.version,1.1',
  'file.academicSessions,bulk', 'file.categories,absent', 'file.classes,bulk', 'file.classResources,absent',
  'file.courses,bulk', 'file.courseResources,absent', 'file.demographics,absent', 'file.enrollments,bulk',
  'file.lineItems,absent', 'file.orgs,bulk', 'file.resources,absent', 'file.results,absent', 'file.users,bulk',
  'source.systemName,Example SIS', 'source.systemCode,EXSIS',
];
const REQUIRED_CSVS = Object.fromEntries(APPLIED_FILES.map((f) => [`${f}.csv`, 'sourcedId\n']));

/** A manifest from GOOD_ROWS with rows replaced (name → new row, or null to drop) and extra rows appended. */
function manifest(change: Record<string, string | null> = {}, extra: string[] = [], header = 'propertyName,value'): string {
  const rows = GOOD_ROWS.flatMap((row) => {
    const name = row.split(',')[0];
    if (!(name in change)) return [row];
    const replacement = change[name];
    return replacement === null ? [] : [replacement];
  });
  return [header, ...rows, ...extra].join('\n') + '\n';
}

async function read(manifestText: string | null, csvs: Record<string, string> = REQUIRED_CSVS) {
  const files: Record<string, string> = { ...csvs };
  if (manifestText !== null) files['manifest.csv'] = manifestText;
  const zipPath = await makeZip(path.join(dir, `m${++counter}.zip`), files);
  const issues = new IssueSink();
  const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, issues);
  try {
    const result: Manifest = await readManifest(zip, issues);
    return { manifest: result, issues: issues.kept, error: null };
  } catch (err) {
    assert.ok(err instanceof StructuralError, String(err));
    assert.equal(issues.kept.filter((i) => i === err.issue).length, 1, 'the thrown issue is recorded exactly once');
    assert.equal(err.issue, issues.kept.find((i) => i.severity === 'error'), 'the first fatal issue is thrown');
    return { manifest: null, issues: issues.kept, error: err };
  } finally {
    zip.close();
  }
}

const codes = (issues: SyncIssue[]): string[][] => issues.map((i) => [i.severity, i.code]);

test('a correct manifest: modes and properties, no issues', async () => {
  const { manifest: m, issues } = await read(manifest());
  assert.deepEqual(issues, []);
  assert.equal(m?.modes.users, 'bulk');
  assert.equal(m?.modes.results, 'absent');
  assert.equal(m?.properties.get('source.systemName'), 'Example SIS');
  assert.equal(m?.properties.get('oneroster.version'), '1.1');
});

test('BOM, CRLF and quoted header are fine', async () => {
  const text = `\ufeff${manifest({}, [], '"propertyName","value"').replace(/\n/g, '\r\n')}`;
  const { issues, manifest: m } = await read(text);
  assert.deepEqual(issues, []);
  assert.equal(m?.modes.enrollments, 'bulk');
});

test('manifest.csv missing → manifest.missing', async () => {
  const { error } = await read(null);
  assert.equal(error?.issue.code, 'manifest.missing');
});

test('header must be propertyName,value; propertyValue is named', async () => {
  const { error } = await read(manifest({}, [], 'propertyName,propertyValue'));
  assert.equal(error?.issue.code, 'manifest.header');
  assert.equal(error?.issue.line, 1);
  assert.match(error?.issue.message ?? '', /"value", not "propertyValue"/);
  const empty = await read('');
  assert.equal(empty.error?.issue.code, 'manifest.header');
});

test('manifest.version: 1 is a warning, other values fatal', async () => {
  const one = await read(manifest({ 'manifest.version': 'manifest.version,1' }));
  assert.equal(one.error, null);
  assert.deepEqual(codes(one.issues), [['warning', 'manifest.version']]);
  assert.deepEqual([one.issues[0].line, one.issues[0].column], [2, 'value']);
  const two = await read(manifest({ 'manifest.version': 'manifest.version,2.0' }));
  assert.equal(two.error?.issue.code, 'manifest.version');
});

test('oneroster.version must be 1.1; 1.0 and 1.2 layouts are refused', async () => {
  for (const version of ['1.0', '1.2']) {
    const { error } = await read(manifest({ 'oneroster.version': `oneroster.version,${version}` }));
    assert.equal(error?.issue.code, 'manifest.oneroster_version');
    assert.match(error?.issue.message ?? '', /OneRoster 1\.0 and 1\.2 layouts are not accepted/);
    assert.equal(error?.issue.line, 3);
  }
  const missing = await read(manifest({ 'oneroster.version': null }));
  assert.equal(missing.error?.issue.code, 'manifest.oneroster_version');
});

test('invalid mode → manifest.invalid_mode with the line and a case hint', async () => {
  const { error } = await read(manifest({ 'file.users': 'file.users,Bulk' }));
  assert.equal(error?.issue.code, 'manifest.invalid_mode');
  assert.deepEqual([error?.issue.line, error?.issue.column], [16, 'value']);
  assert.match(error?.issue.message ?? '', /file\.users is "Bulk"; a file mode must be bulk, delta or absent; did you mean "bulk"\?/);
});

test('a missing file.X property is a warning and means absent', async () => {
  const { manifest: m, issues } = await read(manifest({ 'file.results': null }));
  assert.deepEqual(codes(issues), [['warning', 'manifest.missing_property']]);
  assert.match(issues[0].message, /file\.results row is missing/);
  assert.equal(m?.modes.results, 'absent');
});

test('duplicate property: same value a warning, different values fatal', async () => {
  const same = await read(manifest({}, ['file.orgs,bulk']));
  assert.equal(same.error, null);
  assert.deepEqual(codes(same.issues), [['warning', 'manifest.duplicate_property']]);
  assert.deepEqual([same.issues[0].line, same.issues[0].column], [19, 'propertyName']);
  const differ = await read(manifest({}, ['file.orgs,delta']));
  assert.equal(differ.error?.issue.code, 'manifest.duplicate_property');
  assert.match(differ.error?.issue.message ?? '', /first on line 13/);
});

test('unknown property → warning with the likely intended name; source.* is free', async () => {
  const { manifest: m, issues } = await read(manifest({}, ['fiel.demographics,absent', 'source.anything,x', 'vendor.flag,1']));
  assert.deepEqual(codes(issues), [['warning', 'manifest.unknown_property'], ['warning', 'manifest.unknown_property']]);
  assert.match(issues[0].message, /"fiel\.demographics" is not a OneRoster 1\.1 manifest property.*did you mean "file\.demographics"\?/);
  assert.doesNotMatch(issues[1].message, /did you mean/);
  assert.equal(m?.properties.get('source.anything'), 'x');
});

test('a file marked bulk/delta but not in the zip → manifest.file_missing', async () => {
  const { error, issues } = await read(manifest({ 'file.demographics': 'file.demographics,delta' }));
  assert.equal(error?.issue.code, 'manifest.file_missing');
  assert.match(error?.issue.message ?? '', /file\.demographics is delta but the zip has no demographics\.csv/);
  assert.equal(issues.length, 1);
});

test('a case-variant file name is pointed out', async () => {
  const csvs = { ...REQUIRED_CSVS, 'Users.csv': 'x' };
  delete (csvs as Record<string, string>)['users.csv'];
  const { error } = await read(manifest(), csvs);
  assert.equal(error?.issue.code, 'manifest.file_missing');
  assert.match(error?.issue.message ?? '', /it has "Users\.csv"; file names are case-sensitive/);
});

test('a CSV in the zip marked absent or not listed → manifest.file_unexpected warning', async () => {
  const csvs = { ...REQUIRED_CSVS, 'demographics.csv': 'x', 'results.csv': 'x' };
  const { manifest: m, issues } = await read(manifest({ 'file.results': null }), csvs);
  assert.equal(m?.modes.demographics, 'absent');
  assert.deepEqual(issues.map((i) => [i.severity, i.code, i.message.includes('marks it absent') ? 'absent' : 'unlisted']).sort(), [
    ['warning', 'manifest.file_unexpected', 'absent'],
    ['warning', 'manifest.file_unexpected', 'unlisted'],
    ['warning', 'manifest.missing_property', 'unlisted'],
  ]);
});

test('an upload with a bulk file needs orgs, academicSessions, classes, users and enrollments → manifest.required_file', async () => {
  const csvs: Record<string, string> = { ...REQUIRED_CSVS };
  delete csvs['users.csv'];
  const { error, issues } = await read(manifest({ 'file.users': 'file.users,absent' }), csvs);
  assert.equal(error?.issue.code, 'manifest.required_file');
  assert.equal(error?.issue.line, 16);
  assert.equal(error?.issue.column, 'value');
  assert.match(error?.issue.message ?? '', /needs users\.csv, as bulk or delta, in an upload that has a bulk file/);
  assert.equal(issues.length, 1);
  // delta is as good as bulk
  const delta = await read(manifest({ 'file.users': 'file.users,delta' }));
  assert.equal(delta.error, null);
  assert.equal(delta.manifest?.modes.users, 'delta');
});

test('courses.csv absent from a bulk upload: accepted, one manifest.courses_absent warning', async () => {
  const csvs: Record<string, string> = { ...REQUIRED_CSVS };
  delete csvs['courses.csv'];
  const { manifest: m, issues } = await read(manifest({ 'file.courses': 'file.courses,absent' }), csvs);
  assert.equal(m?.modes.courses, 'absent');
  assert.deepEqual(issues.map((i) => [i.severity, i.code, i.file, i.line, i.column]), [['warning', 'manifest.courses_absent', 'manifest.csv', 8, 'value']]);
  assert.match(issues[0].message, /without teacher or term base courses \(those need courses\.csv\)/);
});

test('a delta upload (no file bulk) may mark any file absent', async () => {
  const onlyEnrollments = manifest(Object.fromEntries(['academicSessions', 'classes', 'courses', 'orgs', 'users']
    .map((f) => [`file.${f}`, `file.${f},absent`]).concat([['file.enrollments', 'file.enrollments,delta']])));
  const { manifest: m, issues, error } = await read(onlyEnrollments, { 'enrollments.csv': 'sourcedId\n' });
  assert.equal(error, null);
  assert.deepEqual(issues, [], 'no courses_absent warning in a delta upload: its classes keep the courses earlier uploads sent');
  assert.equal(m?.modes.enrollments, 'delta');
  assert.equal(m?.modes.users, 'absent');
  // nothing at all to apply: said, not refused
  const nothing = await read(manifest(Object.fromEntries([...APPLIED_FILES, 'demographics']
    .map((f) => [`file.${f}`, `file.${f},${f === 'demographics' ? 'delta' : 'absent'}`]))), { 'demographics.csv': 'sourcedId\n' });
  assert.equal(nothing.error, null);
  assert.deepEqual(nothing.issues.map((i) => [i.severity, i.code, i.line]), [['warning', 'manifest.nothing_to_apply', null]]);
  // one bulk file makes it a bulk upload, which needs the others again
  const mixed = await read(onlyEnrollments.replace('file.enrollments,delta', 'file.enrollments,bulk'), { 'enrollments.csv': 'sourcedId\n' });
  assert.deepEqual(mixed.issues.filter((i) => i.severity === 'error').map((i) => i.message.match(/needs (\w+)\.csv/)?.[1]),
    ['orgs', 'academicSessions', 'classes', 'users']);
});

test('all problems are recorded before the throw', async () => {
  const { error, issues } = await read(manifest({
    'manifest.version': 'manifest.version,1', 'file.users': 'file.users,full', 'file.results': 'file.results,bulk',
  }, ['fiel.demographics,absent']));
  assert.equal(error?.issue.code, 'manifest.invalid_mode');
  assert.deepEqual(codes(issues), [
    ['warning', 'manifest.unknown_property'],
    ['warning', 'manifest.version'],
    ['error', 'manifest.invalid_mode'],
    ['error', 'manifest.file_missing'],
  ]);
});
