import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { IssueSink, StructuralError } from '../../src/oneroster/issues';
import { readCsv } from '../../src/oneroster/read-csv';
import { SCHEMAS, headerLine } from '../../src/oneroster/schemas';
import type { DataFile, ParsedRow } from '../../src/oneroster/types';
import { tempDir } from '../helpers/zip';

const ENROLLMENTS = headerLine(SCHEMAS.enrollments);
const USERS = headerLine(SCHEMAS.users);
const ORGS = headerLine(SCHEMAS.orgs);

async function readAll(content: string | Buffer, file: DataFile, mode: 'bulk' | 'delta' = 'bulk', batchSize?: number) {
  const issues = new IssueSink();
  const batches: ParsedRow[][] = [];
  const input = Readable.from([typeof content === 'string' ? Buffer.from(content, 'utf8') : content]);
  for await (const batch of readCsv(input, SCHEMAS[file], mode, issues, { batchSize })) batches.push(batch);
  return { rows: batches.flat(), batches, issues };
}

/** Reads a file whose header is broken and returns the StructuralError and the sink. */
async function readFails(content: string, file: DataFile, mode: 'bulk' | 'delta' = 'bulk') {
  const issues = new IssueSink();
  let caught: unknown = null;
  try {
    for await (const batch of readCsv(Readable.from([Buffer.from(content)]), SCHEMAS[file], mode, issues)) void batch;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StructuralError, `expected a StructuralError, got ${String(caught)}`);
  // the thrown issue is the first recorded, and recorded once
  assert.equal(issues.kept.filter((i) => i === caught.issue).length, 1);
  return { error: caught, issues };
}

const enrollment = (id: string, extra = ''): string => `${id},,,c1,sch1,u1,student,,2024-08-15,2025-06-01${extra}`;

test('reads rows in batches with line numbers (header = line 1)', async () => {
  const body = [ENROLLMENTS, ...Array.from({ length: 5 }, (_, i) => enrollment(`e${i + 1}`))].join('\n');
  const { rows, batches, issues } = await readAll(body, 'enrollments', 'bulk', 2);
  assert.deepEqual(batches.map((b) => b.length), [2, 2, 1]);
  assert.deepEqual(rows.map((r) => [r.line, r.sourcedId, r.ok]), [[2, 'e1', true], [3, 'e2', true], [4, 'e3', true], [5, 'e4', true], [6, 'e5', true]]);
  assert.equal(rows[0].values[6], 'student');
  assert.equal(issues.total, 0);
});

test('BOM + CRLF are accepted', async () => {
  const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${ENROLLMENTS}\r\n${enrollment('e1')}\r\n${enrollment('e2')}\r\n`)]);
  const { rows, issues } = await readAll(body, 'enrollments');
  assert.equal(issues.total, 0, JSON.stringify(issues.kept));
  assert.deepEqual(rows.map((r) => [r.sourcedId, r.ok, r.values[9]]), [['e1', true, '2025-06-01'], ['e2', true, '2025-06-01']]);
});

test('quoted fields with commas and doubled quotes; every field may be quoted', async () => {
  const header = USERS.split(',').map((n) => `"${n}"`).join(',');
  const row = '"u1","","","true","sch1,sch2","teacher","jdoe","{LDAP:12},{LTI:15}","Jane ""JJ""","O\'Doe, Jr.","","","","","","","09,10",""';
  const { rows, issues } = await readAll(`${header}\n${row}\n`, 'users');
  assert.equal(issues.total, 0, JSON.stringify(issues.kept));
  assert.equal(rows[0].ok, true);
  assert.equal(rows[0].values[4], 'sch1,sch2');
  assert.equal(rows[0].values[8], 'Jane "JJ"');
  assert.equal(rows[0].values[9], "O'Doe, Jr.");
});

test('metadata columns after the defined ones', async () => {
  const { rows, issues } = await readAll(`${ORGS},metadata.address1,metadata.city\no1,,,District,district,,,1 Main St,\n`, 'orgs');
  assert.equal(issues.total, 0);
  assert.deepEqual(rows[0].metadata, { address1: '1 Main St' });
  assert.equal(rows[0].values.length, 7);
});

test('header: first difference named by position, with the 1.1 header', async () => {
  const bad = USERS.replace('orgSourcedIds', 'orgSourceIds');
  const { error, issues } = await readFails(`${bad}\nu1\n`, 'users');
  assert.equal(error.issue.code, 'csv.header_mismatch');
  assert.equal(error.issue.line, 1);
  assert.equal(error.issue.column, 'orgSourcedIds');
  assert.match(error.issue.message, /^users\.csv header: column 5: expected "orgSourcedIds", found "orgSourceIds"/);
  assert.ok(error.issue.message.includes(USERS));
  assert.equal(issues.counts.error, 1);
});

test('header: case, order and missing columns', async () => {
  const cased = await readFails(`${ENROLLMENTS.replace('role', 'Role')}\n`, 'enrollments');
  assert.match(cased.error.issue.message, /column 7: expected "role", found "Role"\. Header names are case-sensitive/);
  const short = await readFails('sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n', 'orgs');
  assert.match(short.error.issue.message, /column 4: expected "name", found "title"/);
  const missing = await readFails(`${ENROLLMENTS.replace(',endDate', '')}\n${enrollment('e1')}\n`, 'enrollments');
  assert.match(missing.error.issue.message, /column 10: expected "endDate", found nothing \(the header has only 9 columns/);
});

test('header: a OneRoster 1.0 layout is named as such', async () => {
  // 1.0 enrollments: status and dateLastModified after role
  const v10 = await readFails('sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role,status,dateLastModified,primary\ne1,c1,s1,u1,student,active,,false\n', 'enrollments');
  assert.equal(v10.error.issue.code, 'csv.header_mismatch');
  assert.match(v10.error.issue.message, /column 2: expected "status", found "classSourcedId"/);
  assert.match(v10.error.issue.message, /OneRoster 1\.0 layout \(status and dateLastModified come after role\)/);
  // 1.0 demographics
  const demo = await readFails('userSourcedId,status,dateLastModified,birthdate,sex\n', 'demographics');
  assert.match(demo.error.issue.message, /OneRoster 1\.0 layout \(it has "userSourcedId", "birthdate"\)/);
  // 1.0 academicSessions: no schoolYear
  const sessions = await readFails('sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId\n', 'academicSessions');
  assert.match(sessions.error.issue.message, /OneRoster 1\.0 layout \(it has no "schoolYear"\)/);
  // 1.0 orgs: metadata before parentSourcedId
  const orgs = await readFails('sourcedId,status,dateLastModified,name,type,identifier,metadata.classification,metadata.gender,metadata.boarding,parentSourcedId\n', 'orgs');
  assert.match(orgs.error.issue.message, /OneRoster 1\.0 layout \(metadata columns come before parentSourcedId\)/);
});

test('header: a OneRoster 1.2 users layout is named as such', async () => {
  const v12 = 'sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,preferredGivenName,preferredMiddleName,preferredFamilyName,pronouns,userMasterIdentifier,identifier,email,sms,phone,agentSourcedIds,grades,password,primaryOrgSourcedId';
  const { error } = await readFails(`${v12}\n`, 'users');
  assert.match(error.issue.message, /OneRoster 1\.2 layout/);
});

test('header: duplicate names', async () => {
  const { error, issues } = await readFails(`${ORGS},metadata.x,metadata.x\n`, 'orgs');
  assert.equal(error.issue.code, 'csv.header_duplicate');
  assert.match(error.issue.message, /"metadata\.x" appears in columns 8 and 9/);
  assert.equal(issues.total, 1);
});

test('header: extension columns must be metadata.<name>', async () => {
  const ext = await readFails(`${ORGS},ext_region\n`, 'orgs');
  assert.equal(ext.error.issue.code, 'csv.extension_column');
  assert.equal(ext.error.issue.column, 'ext_region');
  assert.match(ext.error.issue.message, /column 8 "ext_region" is not a OneRoster 1\.1 column; extra columns must be named metadata\.<name>/);
  const empty = await readFails(`${ORGS},metadata.\n`, 'orgs');
  assert.equal(empty.error.issue.code, 'csv.extension_column');
  const blank = await readFails(`${ORGS},\n`, 'orgs');
  assert.match(blank.error.issue.message, /column 8 has no name \(a trailing comma/);
  // metadata before the defined columns end: a mismatch that says where metadata goes
  const early = await readFails('sourcedId,status,dateLastModified,name,type,metadata.city,identifier,parentSourcedId\n', 'orgs');
  assert.equal(early.error.issue.code, 'csv.header_mismatch');
  assert.match(early.error.issue.message, /metadata\.\* columns must come after the last defined column \(parentSourcedId\)/);
});

test('header: all problems recorded, the first thrown', async () => {
  const bad = `${ENROLLMENTS.replace('role', 'rol')},other,other\n`;
  const { error, issues } = await readFails(bad, 'enrollments');
  assert.deepEqual(issues.kept.map((i) => i.code), ['csv.header_duplicate', 'csv.header_mismatch', 'csv.extension_column', 'csv.extension_column']);
  assert.equal(error.issue, issues.kept[0]);
});

test('empty file → csv.header_missing; header only → csv.no_rows in bulk, fine in delta', async () => {
  for (const empty of ['', '\ufeff']) {
    const { error } = await readFails(empty, 'users');
    assert.equal(error.issue.code, 'csv.header_missing');
  }
  const blankFirst = await readFails('\nsourcedId\n', 'users');
  assert.equal(blankFirst.error.issue.code, 'csv.header_missing');

  const { error } = await readFails(`${USERS}\n`, 'users', 'bulk');
  assert.equal(error.issue.code, 'csv.no_rows');
  assert.match(error.issue.message, /mark the file absent/);
  const delta = await readAll(`${USERS}\n`, 'users', 'delta');
  assert.deepEqual(delta.rows, []);
  assert.equal(delta.issues.total, 0);
});

test('invalid UTF-8 on one line: that row rejected with its line number, others fine', async () => {
  const body = Buffer.concat([
    Buffer.from(`${ORGS}\no1,,,Ok,district,,\no2,,,Caf`), Buffer.from([0xe9]), Buffer.from(',school,,o1\no3,,,Fine,school,,o1\n'),
  ]);
  const { rows, issues } = await readAll(body, 'orgs');
  assert.deepEqual(rows.map((r) => [r.line, r.sourcedId, r.ok]), [[2, 'o1', true], [3, 'o2', false], [4, 'o3', true]]);
  assert.equal(issues.total, 1);
  const [issue] = issues.kept;
  assert.deepEqual([issue.code, issue.line, issue.sourcedId, issue.file], ['csv.encoding', 3, 'o2', 'orgs.csv']);
  assert.match(issue.message, /^orgs\.csv line 3: the line is not valid UTF-8/);
});

test('a line break inside a quoted field: joined, reported once, row rejected, next rows aligned', async () => {
  const body = `${ORGS}\no1,,,"Grand\nBend ISD",district,,\no2,,,School,school,,o1\n`;
  const { rows, issues } = await readAll(body, 'orgs');
  assert.deepEqual(rows.map((r) => [r.line, r.sourcedId, r.ok]), [[2, 'o1', false], [4, 'o2', true]]);
  assert.equal(issues.total, 1);
  const [issue] = issues.kept;
  assert.deepEqual([issue.code, issue.line, issue.column], ['csv.line_break_in_field', 2, 'name']);
  assert.match(issue.message, /^orgs\.csv line 2, column 4 \(name\): the quoted field contains a line break and runs on to line 3/);
});

test('quote errors name the column and keep the sourcedId', async () => {
  const { rows, issues } = await readAll(`${ORGS}\no1,,,St "Mary" School,school,,\n`, 'orgs');
  assert.equal(rows[0].ok, false);
  assert.equal(rows[0].sourcedId, 'o1');
  assert.deepEqual([issues.kept[0].code, issues.kept[0].column, issues.kept[0].sourcedId], ['csv.quote', 'name', 'o1']);
});

test('a line over the limit is rejected and reading goes on', async () => {
  const issues = new IssueSink();
  const body = `${ORGS}\no1,,,${'n'.repeat(500)},district,,\no2,,,B,school,,\n`;
  const rows: ParsedRow[] = [];
  for await (const b of readCsv(Readable.from([Buffer.from(body)]), SCHEMAS.orgs, 'bulk', issues, { maxLineBytes: 200 })) rows.push(...b);
  assert.deepEqual(rows.map((r) => [r.sourcedId, r.ok]), [['o1', false], ['o2', true]]);
  assert.equal(issues.kept[0].code, 'csv.line_too_long');
  assert.equal(issues.kept[0].line, 2);
});

test('blank lines: inside the file a warning, at the end ignored', async () => {
  const { rows, issues } = await readAll(`${ORGS}\no1,,,A,district,,\n\n\no2,,,B,school,,\n\n\n`, 'orgs');
  assert.equal(rows.length, 2);
  assert.equal(issues.total, 1);
  assert.deepEqual([issues.kept[0].severity, issues.kept[0].line], ['warning', 3]);
  assert.match(issues.kept[0].message, /lines 3-4 are blank/);
});

test('the generator is lazy: input is read only as batches are pulled', async () => {
  let chunksRead = 0;
  const row = `${enrollment('e')}\n`;
  function* chunks(): Generator<Buffer> {
    yield Buffer.from(`${ENROLLMENTS}\n`);
    for (let i = 0; i < 1000; i++) {
      chunksRead++;
      yield Buffer.from(row.repeat(100));
    }
  }
  const input = Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
  const gen = readCsv(input, SCHEMAS.enrollments, 'bulk', new IssueSink(), { batchSize: 100 });
  const first = await gen.next();
  assert.equal(first.done, false);
  assert.ok(chunksRead < 50, `read ${chunksRead} chunks of 1000 before the first batch was consumed`);
  await gen.return(undefined);
  assert.ok(input.destroyed, 'stopping early destroys the input');
});

test('300k rows with flat memory (heap growth well under 50 MB)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'enrollments.csv');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, `${ENROLLMENTS}\n`);
    for (let k = 0; k < 300; k++) {
      const lines: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const n = k * 1000 + i;
        lines.push(`enr-${n}-5f0c2e1a-9b7d-4c1e-8e0f,,,class-${n % 4000}-2024-fall,school-${n % 40},user-${n % 90000}-a1b2c3,student,,2024-08-15,2025-06-01`);
      }
      fs.writeSync(fd, `${lines.join('\n')}\n`);
    }
    fs.closeSync(fd);

    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let rows = 0;
    let bad = 0;
    const issues = new IssueSink();
    for await (const batch of readCsv(fs.createReadStream(file), SCHEMAS.enrollments, 'bulk', issues)) {
      rows += batch.length;
      for (const r of batch) if (!r.ok) bad++;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    assert.equal(rows, 300_000);
    assert.equal(bad, 0);
    assert.equal(issues.total, 0);
    const growthMb = (peak - before) / 1024 / 1024;
    assert.ok(growthMb < 50, `heap grew by ${growthMb.toFixed(1)} MB`);
  } finally {
    cleanup();
  }
});

test('kept issues and rejected sourcedIds do not pin the chunks they were cut from', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // 200k rows, one bad row in 500: 400 issues spread over ~400 different 64 KiB chunks
  function* chunks(): Generator<Buffer> {
    yield Buffer.from(`${ENROLLMENTS}\n`);
    for (let k = 0; k < 200; k++) {
      const lines: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const n = k * 1000 + i;
        lines.push(`enrollment-${n}-0123456789abcdef,,,class-${n % 4000}-2024-fall,school-${n % 40},user-${n}-abcdef,${n % 500 === 7 ? 'pupil' : 'student'},,2024-08-15,2025-06-01`);
      }
      yield Buffer.from(`${lines.join('\n')}\n`);
    }
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  const issues = new IssueSink();
  const rejected: string[] = [];
  for await (const batch of readCsv(Readable.from(chunks()), SCHEMAS.enrollments, 'bulk', issues)) {
    for (const row of batch) if (!row.ok) rejected.push(row.sourcedId);
  }
  gc();
  const growthMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
  assert.equal(issues.kept.length, 400);
  assert.equal(rejected.length, 400);
  assert.ok(growthMb < 8, `400 issues + 400 sourcedIds retain ${growthMb.toFixed(1)} MB`);
});
