/**
 * The real Ed-Fi/ClassLink OneRoster 1.1 export (tests/fixtures/edfi-oneroster-1.1), zipped as it
 * is, read end to end: zip → manifest → every data file. Its known defects must show up exactly:
 * manifest.version "1" (a warning) and two teacher rows with an extra trailing comma (kept, with a warning).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { IssueSink } from '../../src/oneroster/issues';
import { RosterZip, DEFAULT_ZIP_LIMITS } from '../../src/oneroster/zip-reader';
import { readManifest } from '../../src/oneroster/manifest';
import { readCsv } from '../../src/oneroster/read-csv';
import { SCHEMAS, columnIndex } from '../../src/oneroster/schemas';
import { DATA_FILES, type DataFile, type ParsedRow } from '../../src/oneroster/types';
import { makeZip, sampleFiles, tempDir } from '../helpers/zip';

test('the Ed-Fi sample: only its known defects are reported', async () => {
  const { dir, cleanup } = tempDir();
  const issues = new IssueSink();
  const rows: Partial<Record<DataFile, ParsedRow[]>> = {};
  try {
    const files = sampleFiles();
    assert.deepEqual(Object.keys(files).sort(), [
      'academicSessions.csv', 'classes.csv', 'courses.csv', 'demographics.csv', 'enrollments.csv', 'manifest.csv', 'orgs.csv', 'users.csv',
    ]);
    const zip = await RosterZip.open(await makeZip(path.join(dir, 'edfi.zip'), files), DEFAULT_ZIP_LIMITS, issues);
    try {
      const manifest = await readManifest(zip, issues);
      for (const file of DATA_FILES) {
        const mode = manifest.modes[file];
        if (mode === 'absent') continue;
        const out: ParsedRow[] = [];
        for await (const batch of readCsv(await zip.openStream(`${file}.csv`), SCHEMAS[file], mode, issues)) out.push(...batch);
        rows[file] = out;
      }
      assert.equal(manifest.properties.get('source.systemName'), 'ClassLink OneRoster');
    } finally {
      zip.close();
    }
  } finally {
    cleanup();
  }

  // Issues: the manifest.version warning and the two 19-field teacher rows (kept), nothing else.
  assert.deepEqual(issues.kept.map((i) => [i.severity, i.code, i.file, i.line, i.sourcedId]), [
    ['warning', 'manifest.version', 'manifest.csv', 2, null],
    ['warning', 'csv.row_width', 'users.csv', 10, '207270'],
    ['warning', 'csv.row_width', 'users.csv', 11, '207268'],
  ]);
  assert.equal(issues.kept[1].message, 'users.csv line 10: the row has 19 fields but the header has 18 columns; ' +
    'the extra field is empty (a trailing comma), so it is dropped');

  // Row counts per file, as in the files.
  const counts = Object.fromEntries(Object.entries(rows).map(([file, list]) => [file, list?.length]));
  assert.deepEqual(counts, { academicSessions: 3, classes: 2, courses: 2, demographics: 8, enrollments: 24, orgs: 2, users: 10 });

  // users: every row ok, the two teacher rows without their empty 19th field.
  const users = rows.users ?? [];
  assert.ok(users.every((r) => r.ok));
  assert.deepEqual(users.filter((r) => r.line >= 10).map((r) => [r.line, r.sourcedId, r.values.length, r.values[columnIndex(SCHEMAS.users, 'role')]]),
    [[10, '207270', 18, 'teacher'], [11, '207268', 18, 'teacher']]);
  for (const file of ['academicSessions', 'classes', 'courses', 'demographics', 'enrollments', 'orgs'] as const) {
    assert.ok((rows[file] ?? []).every((r) => r.ok), `${file}: every row ok`);
  }

  // Spot checks of values as read.
  const mary = users[0];
  assert.equal(mary.sourcedId, '604863');
  assert.equal(mary.values[columnIndex(SCHEMAS.users, 'userIds')], '{Local:863}');
  assert.equal(mary.values[columnIndex(SCHEMAS.users, 'phone')], '(950) 336 6601');
  const classes = rows.classes ?? [];
  assert.equal(classes[0].values[columnIndex(SCHEMAS.classes, 'termSourcedIds')],
    '255901001_2021_2020-2021_Fall,255901001_2021_2020-2021_Spring');
  const enrollments = rows.enrollments ?? [];
  const teacher = enrollments.find((r) => r.sourcedId === '7381FA73-FC6A-42C8-8951-32346DEB84E1');
  assert.equal(teacher?.values[columnIndex(SCHEMAS.enrollments, 'primary')], 'true');
  assert.equal(enrollments[23].line, 25); // the last line has no newline
  const orgs = rows.orgs ?? [];
  assert.equal(orgs[1].values[columnIndex(SCHEMAS.orgs, 'parentSourcedId')], '255901');
  assert.equal(orgs[1].metadata, null); // all metadata.* columns are blank in the sample
});
