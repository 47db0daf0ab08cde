/** results/<upload>.json, .txt and .issues.csv: content, atomic replacement, names that are not bare refused. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issuesCsv } from '../../src/report/issues-csv';
import { writeResultFiles } from '../../src/report/result-files';
import { resultJson, resultText } from '../../src/report/run-report';
import { parseCsv } from '../cli/harness';
import { sampleReport } from './fixtures';

let root: string;
before(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'rosterdrop-results-')); });
after(() => { fs.rmSync(root, { recursive: true, force: true }); });

describe('writeResultFiles', () => {
  it('writes <upload>.json, <upload>.txt and <upload>.issues.csv, creating the folder', async () => {
    const dir = path.join(root, 'drop', 'district', 'results');
    const r = sampleReport();
    const written = await writeResultFiles(dir, 'roster.zip', r);
    assert.deepEqual(written, { json: path.join(dir, 'roster.zip.json'), txt: path.join(dir, 'roster.zip.txt'), issues: path.join(dir, 'roster.zip.issues.csv') });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['roster.zip.issues.csv', 'roster.zip.json', 'roster.zip.txt'], 'no temp files left');
    assert.equal(fs.readFileSync(written.issues, 'utf8'), issuesCsv(r.issues));
    const json = JSON.parse(fs.readFileSync(written.json, 'utf8')) as unknown;
    assert.deepEqual(json, JSON.parse(JSON.stringify(resultJson(r))));
    assert.equal(fs.readFileSync(written.txt, 'utf8'), resultText(r));
    assert.ok(fs.readFileSync(written.json, 'utf8').endsWith('}\n'));
  });

  it('replaces the results of an earlier upload of the same name by rename, never in place', async () => {
    const dir = path.join(root, 'replace');
    const first = await writeResultFiles(dir, 'roster.zip', sampleReport({ runId: 1 }));
    const oldInode = fs.statSync(first.json).ino;
    const reader = fs.openSync(first.json, 'r'); // a client still downloading the old result
    try {
      await writeResultFiles(dir, 'roster.zip', sampleReport({ runId: 2, status: 'succeeded' }));
      assert.notEqual(fs.statSync(first.json).ino, oldInode, 'a new file took the name');
      const old = JSON.parse(fs.readFileSync(reader, 'utf8')) as { runId: number };
      assert.equal(old.runId, 1, 'the open old file is untouched, never truncated');
    } finally {
      fs.closeSync(reader);
    }
    const now = JSON.parse(fs.readFileSync(first.json, 'utf8')) as { runId: number; status: string };
    assert.deepEqual([now.runId, now.status], [2, 'succeeded']);
    assert.match(fs.readFileSync(first.txt, 'utf8'), /^succeeded: roster\.zip \(run 2\)\n/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['roster.zip.issues.csv', 'roster.zip.json', 'roster.zip.txt']);
    assert.deepEqual(parseCsv(fs.readFileSync(path.join(dir, 'roster.zip.issues.csv'), 'utf8')).length, 1 + sampleReport().issues.length);
  });

  it('writes an issues file of a run without issues too: header only, replacing an earlier upload\'s', async () => {
    const dir = path.join(root, 'no-issues');
    await writeResultFiles(dir, 'roster.zip', sampleReport());
    const clean = await writeResultFiles(dir, 'roster.zip', sampleReport({ status: 'succeeded', issues: [], issueTotals: { error: 0, warning: 0, info: 0 } }));
    assert.equal(fs.readFileSync(clean.issues, 'utf8'), 'severity,code,file,line,column,sourcedId,message\r\n');
  });

  it('leaves no temp file behind when the rename fails', async () => {
    const dir = path.join(root, 'blocked');
    fs.mkdirSync(path.join(dir, 'roster.zip.json'), { recursive: true }); // a folder where the file should go
    await assert.rejects(writeResultFiles(dir, 'roster.zip', sampleReport()));
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.')), []);
  });

  it('refuses names that are not bare, visible file names, and writes nothing', async () => {
    const dir = path.join(root, 'names', 'results');
    for (const bad of ['../escape.zip', 'sub/roster.zip', '..\\escape.zip', '/etc/passwd', '..', '.', '', '.hidden.zip', 'a\u0000b.zip', 'line\nbreak.zip']) {
      await assert.rejects(writeResultFiles(dir, bad, sampleReport()), /not a bare upload file name/, JSON.stringify(bad));
    }
    assert.ok(!fs.existsSync(path.join(root, 'names')), 'nothing created');
    assert.ok(!fs.existsSync(path.join(root, 'escape.zip.json')));
  });
});
