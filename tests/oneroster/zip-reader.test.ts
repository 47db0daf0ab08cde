import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { IssueSink, StructuralError } from '../../src/oneroster/issues';
import { RosterZip, DEFAULT_ZIP_LIMITS } from '../../src/oneroster/zip-reader';
import { readCsv } from '../../src/oneroster/read-csv';
import { SCHEMAS, headerLine } from '../../src/oneroster/schemas';
import type { ZipLimits } from '../../src/oneroster/types';
import {
  makeZip, patchZip, renameEntry, setCompressionMethod, setEncryptedFlag, setUncompressedSize, tempDir, type ZipContent,
} from '../helpers/zip';

let dir = '';
let cleanup = (): void => {};
let counter = 0;
before(() => ({ dir, cleanup } = tempDir()));
after(() => cleanup());

const MANIFEST = 'propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n';
const USERS = 'sourcedId,status\nu1,\n';

async function zipOf(files: ZipContent, opts?: Parameters<typeof makeZip>[2]): Promise<string> {
  return makeZip(path.join(dir, `t${++counter}.zip`), files, opts);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Opens a zip that must be refused; checks the thrown issue is the first recorded one. */
async function refused(zipPath: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS) {
  const issues = new IssueSink();
  let caught: unknown = null;
  try {
    (await RosterZip.open(zipPath, limits, issues)).close();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StructuralError, `expected a StructuralError, got ${String(caught)}`);
  assert.equal(caught.issue, issues.kept.find((i) => i.severity === 'error'));
  assert.equal(issues.kept.filter((i) => i === caught.issue).length, 1);
  return { error: caught, issues };
}

test('a good zip: names, sizes and streamed content, deflated or stored', async () => {
  const big = `sourcedId,status\n${'row,\n'.repeat(50_000)}`;
  for (const compress of [true, false]) {
    const zipPath = await zipOf({ 'manifest.csv': MANIFEST, 'users.csv': big }, { compress });
    const issues = new IssueSink();
    const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, issues);
    try {
      assert.deepEqual(zip.fileNames().sort(), ['manifest.csv', 'users.csv']);
      assert.equal(zip.has('users.csv'), true);
      assert.equal(zip.has('orgs.csv'), false);
      assert.equal(zip.uncompressedSize('users.csv'), Buffer.byteLength(big));
      assert.equal((await readAll(await zip.openStream('users.csv'))).toString(), big);
      assert.equal((await readAll(await zip.openStream('manifest.csv'))).toString(), MANIFEST);
      assert.equal(issues.total, 0);
    } finally {
      zip.close();
    }
  }
});

test('a consumer may stop reading early', async () => {
  const zipPath = await zipOf({ 'users.csv': randomBytes(3_000_000).toString('base64') });
  const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, new IssueSink());
  const stream = await zip.openStream('users.csv');
  for await (const chunk of stream as AsyncIterable<Buffer>) { assert.ok(chunk.length > 0); break; }
  assert.ok(stream.destroyed);
  zip.close();
});

test('not a zip → zip.unreadable', async () => {
  const notZip = path.join(dir, 'roster.zip');
  fs.writeFileSync(notZip, 'sourcedId,status\n');
  const { error } = await refused(notZip);
  assert.equal(error.issue.code, 'zip.unreadable');
  assert.equal(error.issue.file, null);
  assert.match(error.issue.message, /roster\.zip is not a readable zip archive/);
});

test('more entries than allowed → zip.too_many_entries', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i <= DEFAULT_ZIP_LIMITS.maxEntries; i++) files[`f${i}.txt`] = 'x';
  const { error, issues } = await refused(await zipOf(files));
  assert.equal(error.issue.code, 'zip.too_many_entries');
  assert.match(error.issue.message, /holds 101 entries; at most 100/);
  assert.equal(issues.total, 1);
});

test('declared total over the limit → zip.too_large', async () => {
  const zipPath = await zipOf({ 'users.csv': 'a'.repeat(600), 'orgs.csv': 'b'.repeat(600) });
  const { error } = await refused(zipPath, { ...DEFAULT_ZIP_LIMITS, maxUncompressedBytes: 1000 });
  assert.equal(error.issue.code, 'zip.too_large');
  assert.match(error.issue.message, /would expand to 1200 bytes; the limit is 1000/);
});

test('zip bomb by compression ratio → zip.compression_ratio', async () => {
  const zipPath = await zipOf({ 'manifest.csv': MANIFEST, 'users.csv': Buffer.alloc(3 * 1024 * 1024, 0x2c) });
  const { error } = await refused(zipPath);
  assert.equal(error.issue.code, 'zip.compression_ratio');
  assert.equal(error.issue.file, 'users.csv');
  // the same data under 1 MiB is not checked (small CSVs of commas compress well too)
  const small = await zipOf({ 'users.csv': Buffer.alloc(1024 * 1024, 0x2c) });
  (await RosterZip.open(small, DEFAULT_ZIP_LIMITS, new IssueSink())).close();
});

test('encrypted entry → zip.encrypted', async () => {
  const zipPath = patchZip(await zipOf({ 'manifest.csv': MANIFEST, 'users.csv': USERS }), (z) => setEncryptedFlag(z, 'users.csv'));
  const { error } = await refused(zipPath);
  assert.equal(error.issue.code, 'zip.encrypted');
  assert.equal(error.issue.file, 'users.csv');
});

test('CSV files inside a folder → zip.nested_path for each, telling to zip the files', async () => {
  const zipPath = await zipOf({ 'export/manifest.csv': MANIFEST, 'export/users.csv': USERS }, { directories: ['export/'] });
  const { error, issues } = await refused(zipPath);
  assert.equal(error.issue.code, 'zip.nested_path');
  assert.deepEqual(issues.kept.map((i) => [i.code, i.file]), [['zip.nested_path', 'export/manifest.csv'], ['zip.nested_path', 'export/users.csv']]);
  assert.match(error.issue.message, /zip them, not the folder/);
});

test('unsafe names: "..", absolute, backslash, drive letter → zip.unsafe_path', async () => {
  const cases: Array<[string, string]> = [
    ['ab/users.csv', '../users.csv'],
    ['xusers.csv', '/users.csv'],
    ['a_users.csv', 'a\\users.csv'],
    ['ab/users.csv', 'C:/users.csv'],
    ['aaa/bb/users.csv', 'aaa/../users.csv'],
  ];
  for (const [placeholder, name] of cases) {
    const zipPath = patchZip(await zipOf({ 'manifest.csv': MANIFEST, [placeholder]: USERS }), (z) => renameEntry(z, placeholder, name));
    const { error } = await refused(zipPath);
    assert.equal(error.issue.code, 'zip.unsafe_path', name);
    assert.equal(error.issue.file, name);
  }
});

test('duplicate names → zip.duplicate_entry', async () => {
  const zipPath = await zipOf([['manifest.csv', MANIFEST], ['users.csv', USERS], ['users.csv', 'other']]);
  const { error } = await refused(zipPath);
  assert.equal(error.issue.code, 'zip.duplicate_entry');
  assert.equal(error.issue.file, 'users.csv');
});

test('__MACOSX/, dot-files and folders are ignored silently; other files are a warning', async () => {
  const zipPath = await zipOf({
    'manifest.csv': MANIFEST, 'users.csv': USERS, '__MACOSX/._users.csv': 'junk', '.DS_Store': 'junk', '._manifest.csv': 'junk',
    'readme.txt': 'hello', 'Orgs.csv': 'x',
  }, { directories: ['__MACOSX/', 'empty/'] });
  const issues = new IssueSink();
  const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, issues);
  zip.close();
  assert.deepEqual(zip.fileNames().sort(), ['manifest.csv', 'users.csv']);
  assert.deepEqual(zip.ignoredFileNames().sort(), ['Orgs.csv', 'readme.txt']);
  assert.deepEqual(issues.kept.map((i) => [i.severity, i.code, i.file]).sort(), [
    ['warning', 'zip.unknown_file', 'Orgs.csv'], ['warning', 'zip.unknown_file', 'readme.txt'],
  ]);
  assert.match(issues.kept.find((i) => i.file === 'Orgs.csv')?.message ?? '', /did you mean "orgs\.csv"/);
});

test('every fatal problem is recorded before the throw', async () => {
  const zipPath = patchZip(
    await zipOf([['x/users.csv', USERS], ['orgs.csv', 'o'], ['orgs.csv', 'o'], ['manifest.csv', MANIFEST]]),
    (z) => setEncryptedFlag(z, 'manifest.csv'),
  );
  const { error, issues } = await refused(zipPath);
  assert.deepEqual(issues.kept.map((i) => i.code), ['zip.nested_path', 'zip.duplicate_entry', 'zip.encrypted']);
  assert.equal(error.issue.code, 'zip.nested_path');
});

test('unsupported compression method → zip.unreadable', async () => {
  const zipPath = patchZip(await zipOf({ 'users.csv': USERS }), (z) => setCompressionMethod(z, 'users.csv', 12));
  const { error } = await refused(zipPath);
  assert.equal(error.issue.code, 'zip.unreadable');
  assert.match(error.issue.message, /compression method 12/);
});

test('a lying uncompressed size is caught while streaming → zip.too_large, recorded once', async () => {
  for (const compress of [true, false]) {
    const content = 'sourcedId,status\n'.repeat(10_000);
    const zipPath = patchZip(await zipOf({ 'users.csv': content }, { compress }), (z) => setUncompressedSize(z, 'users.csv', 1000));
    const issues = new IssueSink();
    const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, issues);
    assert.equal(zip.uncompressedSize('users.csv'), 1000);
    let caught: unknown = null;
    let bytes = 0;
    try {
      for await (const chunk of (await zip.openStream('users.csv')) as AsyncIterable<Buffer>) bytes += chunk.length;
    } catch (err) {
      caught = err;
    } finally {
      zip.close();
    }
    assert.ok(caught instanceof StructuralError, `compress=${compress}: ${String(caught)}`);
    assert.equal(caught.issue.code, 'zip.too_large');
    assert.equal(caught.issue.file, 'users.csv');
    assert.ok(bytes <= 1000, `passed on ${bytes} bytes`);
    assert.deepEqual(issues.kept, [caught.issue]);
  }
});

test('corrupt entry data (CRC mismatch, truncated) → zip.unreadable while streaming', async () => {
  const zipPath = await zipOf({ 'users.csv': 'sourcedId,status\nabc,\n' }, { compress: false });
  const raw = fs.readFileSync(zipPath);
  const at = raw.indexOf('abc');
  raw.write('abd', at);
  fs.writeFileSync(zipPath, raw);
  const issues = new IssueSink();
  const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, issues);
  await assert.rejects(readAll(await zip.openStream('users.csv')), (err: unknown) =>
    err instanceof StructuralError && err.issue.code === 'zip.unreadable' && /CRC/.test(err.issue.message));
  zip.close();

  // damaged deflate data: either zlib fails or the CRC does not match; both are zip.unreadable
  const deflated = await zipOf({ 'users.csv': randomBytes(20_000).toString('hex') });
  const bytes = fs.readFileSync(deflated);
  for (let i = 200; i < 400; i++) bytes[i] ^= 0x5a;
  fs.writeFileSync(deflated, bytes);
  const issues3 = new IssueSink();
  const zip3 = await RosterZip.open(deflated, DEFAULT_ZIP_LIMITS, issues3);
  await assert.rejects(readAll(await zip3.openStream('users.csv')), (err: unknown) =>
    err instanceof StructuralError && err.issue.code === 'zip.unreadable');
  zip3.close();
  assert.equal(issues3.kept.length, 1);

  const shortPath = patchZip(await zipOf({ 'users.csv': 'x'.repeat(100) }), (z) => setUncompressedSize(z, 'users.csv', 200));
  const zip2 = await RosterZip.open(shortPath, DEFAULT_ZIP_LIMITS, new IssueSink());
  await assert.rejects(readAll(await zip2.openStream('users.csv')), /truncated: 100 bytes instead of the declared 200/);
  zip2.close();
});

test('a lying size surfaces through readCsv as the StructuralError already recorded', async () => {
  const body = `${headerLine(SCHEMAS.orgs)}\n${'o1,,,Name,school,,\n'.repeat(5000)}`;
  const zipPath = patchZip(await zipOf({ 'orgs.csv': body }), (z) => setUncompressedSize(z, 'orgs.csv', 4096));
  const issues = new IssueSink();
  const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, issues);
  let rows = 0;
  try {
    await assert.rejects(async () => {
      for await (const batch of readCsv(await zip.openStream('orgs.csv'), SCHEMAS.orgs, 'bulk', issues, { batchSize: 10 })) rows += batch.length;
    }, (err: unknown) => err instanceof StructuralError && err.issue === issues.kept[0]);
  } finally {
    zip.close();
  }
  assert.deepEqual(issues.kept.map((i) => i.code), ['zip.too_large']);
  assert.ok(rows < 250, `${rows} rows passed before the lie was caught`);
});
