/**
 * The start-of-file check (structure.ts): a file is read only up to its header and first data
 * record, and every problem of its start is recorded without a throw, so the read phase can look
 * at every file before failing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { IssueSink } from '../../src/oneroster/issues';
import { SCHEMAS, headerLine } from '../../src/oneroster/schemas';
import { checkFileStart } from '../../src/oneroster/structure';
import type { DataFile } from '../../src/oneroster/types';

const USERS = headerLine(SCHEMAS.users);
const ORG_ROW = 'o1,,,Org One,school,,';

async function start(chunks: Array<string | Buffer>, file: DataFile = 'users') {
  const issues = new IssueSink();
  const result = await checkFileStart(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), SCHEMAS[file], issues);
  return { ...result, issues: issues.kept.map((i) => [i.severity, i.code, i.line, i.column]) };
}

test('stops at the first data record: the rest of the file is not read', async () => {
  let pulled = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    yield Buffer.from(`${headerLine(SCHEMAS.orgs)}\n\n`);
    pulled++;
    yield Buffer.from(`${ORG_ROW}\n`);
    pulled++;
    yield Buffer.from(`${ORG_ROW}\n`.repeat(1000)); // never needed
    pulled++;
    throw new Error('read past the first data record');
  }
  const issues = new IssueSink();
  const result = await checkFileStart(Readable.from(chunks()), SCHEMAS.orgs, issues);
  assert.deepEqual(result, { problem: null, hasRows: true });
  assert.equal(issues.total, 0);
  assert.ok(pulled <= 2, `pulled ${pulled} chunks`);
});

test('header only: no rows, no issue (the caller decides what that means); blank lines are not rows', async () => {
  assert.deepEqual(await start([`${USERS}\n`]), { problem: null, hasRows: false, issues: [] });
  assert.deepEqual(await start([`${USERS}\n\n\n`]), { problem: null, hasRows: false, issues: [] });
  // an unreadable first record is still a row: the full read reports it
  const quoted = await start([`${USERS}\nu1,"open\n`]);
  assert.equal(quoted.hasRows, true);
  assert.deepEqual(quoted.issues, []);
});

test('empty file, BOM only, blank first line → csv.header_missing; returned, not thrown', async () => {
  for (const [empty, line] of [['', null], ['\ufeff', 1]] as const) {
    const r = await start([empty]);
    assert.deepEqual(r.issues, [['error', 'csv.header_missing', line, null]]);
    assert.equal(r.problem?.code, 'csv.header_missing');
  }
  assert.deepEqual((await start([`\n${USERS}\nu1\n`])).issues, [['error', 'csv.header_missing', 1, null]]);
});

test('a broken header: every problem recorded, the first returned', async () => {
  const r = await start([`${USERS.replace('role', 'Role')},x\nu1\n`]);
  assert.deepEqual(r.issues, [['error', 'csv.header_mismatch', 1, 'role'], ['error', 'csv.extension_column', 1, 'x']]);
  assert.equal(r.problem?.code, 'csv.header_mismatch');
  assert.equal(r.hasRows, false, 'a broken header ends the check');
  const quote = await start([`sourcedId,"status\n`]);
  assert.deepEqual(quote.issues.map((i) => i[1]), ['csv.quote']);
});

test('a 1.2 layout that keeps every 1.1 column and adds its own: the extension error says which version, once', async () => {
  const r = await start([`${USERS},userMasterIdentifier,pronouns\n`]);
  assert.deepEqual(r.issues, [['error', 'csv.extension_column', 1, 'userMasterIdentifier'], ['error', 'csv.extension_column', 1, 'pronouns']]);
  const issues = new IssueSink();
  await checkFileStart(Readable.from([Buffer.from(`${USERS},userMasterIdentifier,pronouns\n`)]), SCHEMAS.users, issues);
  assert.match(issues.kept[0].message, /This looks like a OneRoster 1\.2 layout \(it has "userMasterIdentifier", "pronouns"\)/);
  assert.doesNotMatch(issues.kept[1].message, /looks like/);
});
