/**
 * Issue 17, defect 2: the size of what a run reports must not follow the size of what it quotes.
 * An upload whose rejected rows each carry a 64 KiB sourcedId (half of them longer than a line
 * may be: csv.line_too_long; half a value too long: value.too_long) is synced and reported as the
 * daemon does it (issue-size-child.ts, a child process), on both databases. Checked: the run ends
 * with its normal status (PostgreSQL too, whose columns refuse over-long values), every rejected
 * row is in sync_issue with its values shortened, the result files and the mail stay under fixed
 * ceilings and say how many issues they leave out and where all of them are, and the child's peak
 * memory (in a fixed V8 heap) hardly grows when the rows double.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as yazl from 'yazl';
import { createDomain } from '../../src/db/domains';
import { SyncIssueRow } from '../../src/db/entities';
import { parseCsv } from '../cli/harness';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { setSettings } from '../helpers/lms';
import { leaves, parseMime } from '../helpers/mime';
import { REPO_ROOT } from '../helpers/paths';
import { csvLine, HEADERS, standardRoster } from '../helpers/roster';
import { startSmtp, type TestSmtp } from '../helpers/smtp';
import { tempDir } from '../helpers/zip';

const ROWS = 3000;
const LONG = 65_536; // longer than a line may be (64 KiB): the line is cut there and rejected
const TOO_LONG = 60_000; // a line that fits, with a value longer than rosterdrop stores (2048)

/**
 * Ceilings. The JSON and the mail's issues.csv embed at most 1 MiB of issues each, the .txt 20
 * errors and 20 warnings of bounded length: 2 MB holds the JSON (1 MiB + facts), 64 KB the .txt,
 * 2 MB the mail (1 MiB of CSV in base64 is 1.4 MB, plus the text and HTML parts). Unbounded, the
 * 3,000 sourcedIds alone are 190 MB.
 */
const MAX_JSON_BYTES = 2_000_000;
const MAX_TXT_BYTES = 64_000;
const MAX_MAIL_BYTES = 2_000_000;
/**
 * Peak memory of the child with 2×ROWS rejected rows against ROWS. What may grow: the kept issues
 * (each shortened to well under 1 KB: a 300-character sourcedId, a message, the object) — ROWS more
 * are under 3 MB — plus the collector's slack, which is not small: runs of the same upload peaked
 * from 1 to 57 MB apart (Node 20 and 24, a loaded CI machine). The bound is half of a single copy
 * of the ROWS more 64 KiB sourcedIds (190 MB): anything that keeps them grows by more than that
 * (the unbounded code grew 1.1 GB), while the collector's slack stays under it.
 */
const MAX_GROWTH_KB = 96 * 1024;
/**
 * The child's V8 old space. Left to itself, V8 lets its heap grow with the garbage the 64 KiB rows
 * make while they are read and staged (short-lived, a batch at a time), by timing: the same run
 * peaked anywhere from 520 to 880 MB. With a fixed old space the peak follows what is live
 * (measured: 360-410 MB for 3,000 and for 6,000 rows, either database). What the run keeps must fit:
 * before the fix, 3,000 rows kept 190 MB of sourcedIds and built a 190 MB JSON.
 */
const CHILD_HEAP_MB = 256;

/**
 * `prefix` then `length` characters in all: runs of x with a pseudo-random letter every 400, so the
 * zip compresses it about 70:1 (the zip-bomb guard refuses more than 200:1).
 */
let seed = 17;
function longValue(prefix: string, length: number): string {
  const parts = [prefix];
  for (let n = prefix.length; n < length; n += 400) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    parts.push('x'.repeat(399), String.fromCharCode(97 + (seed % 26)));
  }
  return parts.join('').slice(0, length);
}

/** The standard roster with `rows` more users, each with a sourcedId of 64 KiB (alternately 60,000 characters). */
async function longSidZip(dir: string, name: string, rows: number): Promise<string> {
  const files = standardRoster(3).toFiles();
  const usersCsv = path.join(dir, `${name}.users.csv`);
  const out = fs.createWriteStream(usersCsv);
  const write = (text: string) => new Promise<void>((resolve) => { if (out.write(text)) resolve(); else out.once('drain', resolve); });
  await write(files.find(([n]) => n === 'users.csv')![1]);
  for (let i = 0; i < rows; i++) {
    const sid = longValue(`bad${i}-`, i % 2 === 0 ? LONG : TOO_LONG);
    const user: Record<string, string> = { sourcedId: sid, enabledUser: 'true', orgSourcedIds: 'sch1', role: 'student', username: `bad.${i}`, givenName: 'B', familyName: 'D' };
    await write(`${csvLine(HEADERS.users.map((h) => user[h] ?? ''))}\n`);
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const zip = new yazl.ZipFile();
  for (const [entry, content] of files) {
    if (entry === 'users.csv') zip.addFile(usersCsv, entry);
    else zip.addBuffer(Buffer.from(content, 'utf8'), entry);
  }
  zip.end();
  const zipPath = path.join(dir, name);
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(fs.createWriteStream(zipPath)).on('close', resolve).on('error', reject));
  fs.rmSync(usersCsv);
  return zipPath;
}

interface ChildResult { status?: string; message?: string; runId?: number; written?: boolean; error?: string; vmHwmKb: number }

function runChild(args: Record<string, unknown>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${CHILD_HEAP_MB}`, path.join(REPO_ROOT, 'dist', 'tests', 'report', 'issue-size-child.js'), JSON.stringify(args)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ChildResult);
      } catch {
        reject(new Error(`the child said no JSON (exit ${code}):\n${stdout.slice(0, 4000)}\n${stderr.slice(0, 4000)}`));
      }
    });
  });
}

for (const kind of databaseKinds()) {
  describe(`issues quoting 64 KiB values [${kind}]`, { concurrency: 1 }, () => {
    let db: TestDatabase;
    let smtp: TestSmtp;
    let tmp: { dir: string; cleanup: () => void };
    let domainId: number;
    const dropRoot = () => path.join(tmp.dir, 'drop');
    const sync = async (rows: number, fileName: string): Promise<ChildResult> => {
      const zipPath = await longSidZip(tmp.dir, fileName, rows);
      const result = await runChild({ ...db.options, domainId, zipPath, fileName, dropRoot: dropRoot(), smtpPort: smtp.port });
      fs.rmSync(zipPath);
      return result;
    };

    before(async () => {
      db = await openTestDatabase(kind);
      smtp = await startSmtp();
      tmp = tempDir('rosterdrop-issue-size-');
      domainId = (await createDomain(db.ds, { userspace: 'district', name: 'District' })).id;
      await setSettings(db.ds, domainId, { notificationEmails: ['ops@district.test'] });
    });
    after(async () => {
      await smtp?.close();
      await db?.close();
      tmp?.cleanup();
    });

    let firstPeakKb = 0;

    it(`${ROWS} rows with 64 KiB sourcedIds: completed with errors, every row reported shortened, bounded files and mail`, async () => {
      const r = await sync(ROWS, 'long.zip');
      assert.equal(r.error, undefined, `the run ended: ${r.error}`);
      assert.equal(r.status, 'completed_with_errors', r.message);
      firstPeakKb = r.vmHwmKb;

      // the database: one issue per rejected row, every value within its column
      const rows = await db.ds.getRepository(SyncIssueRow).find({ where: { runId: r.runId }, order: { seq: 'ASC' } });
      const rejected = rows.filter((i) => i.file === 'users.csv' && ['csv.line_too_long', 'value.too_long'].includes(i.code));
      assert.equal(rejected.length, ROWS, 'every rejected row is in sync_issue');
      assert.equal(rows.length, ROWS, 'and nothing else');
      for (const i of rejected) {
        assert.ok(i.sourcedId !== null && i.sourcedId.length <= 300, `sourcedId within varchar(300): ${i.sourcedId?.length}`);
        const original = i.code === 'csv.line_too_long' ? LONG : TOO_LONG;
        assert.match(i.sourcedId ?? '', new RegExp(`^bad\\d+-[a-z]+… \\(${original} characters\\)$`));
        assert.ok(i.message.length <= 2000, 'message within its limit');
      }

      // the result files: under their ceilings, and they say what they leave out and where it is
      const results = path.join(dropRoot(), 'district', 'results');
      const jsonText = fs.readFileSync(path.join(results, 'long.zip.json'), 'utf8');
      const txt = fs.readFileSync(path.join(results, 'long.zip.txt'), 'utf8');
      assert.ok(Buffer.byteLength(jsonText) < MAX_JSON_BYTES, `.json is ${Buffer.byteLength(jsonText)} bytes`);
      assert.ok(Buffer.byteLength(txt) < MAX_TXT_BYTES, `.txt is ${Buffer.byteLength(txt)} bytes`);
      const json = JSON.parse(jsonText) as { issues: unknown[]; issueTotals: { error: number }; issuesDropped: number; issuesNotListed: number; issuesFile: string };
      assert.equal(json.issueTotals.error, ROWS);
      assert.equal(json.issuesDropped, 0);
      assert.ok(json.issues.length > 0 && json.issues.length < ROWS, `the JSON lists some: ${json.issues.length}`);
      assert.equal(json.issues.length + json.issuesNotListed, ROWS, 'and counts the rest');
      assert.equal(json.issuesFile, 'results/long.zip.issues.csv');
      assert.match(txt, /results\/long\.zip\.issues\.csv/);
      // the full list, beside them
      const full = parseCsv(fs.readFileSync(path.join(results, 'long.zip.issues.csv'), 'utf8'));
      assert.equal(full.length, 1 + ROWS, 'the issues CSV holds every issue');
      assert.ok(full.slice(1).every((rec) => rec[5].length <= 300));

      // the mail: bounded, with a partial issues.csv that says so
      const mails = smtp.received.filter((m) => parseMime(m.raw).header('x-rosterdrop-run') === String(r.runId));
      assert.equal(mails.length, 1, 'one report mail');
      const raw = mails[0].raw;
      assert.ok(Buffer.byteLength(raw) < MAX_MAIL_BYTES, `the mail is ${Buffer.byteLength(raw)} bytes`);
      const mail = parseMime(raw);
      const text = leaves(mail).find((p) => p.contentType === 'text/plain')?.body ?? '';
      const html = leaves(mail).find((p) => p.contentType === 'text/html')?.body ?? '';
      const attached = leaves(mail).find((p) => p.param('content-disposition', 'filename') === 'issues.csv');
      assert.ok(attached, 'issues.csv is attached');
      const listed = parseCsv(attached.body).length - 1;
      assert.ok(listed > 0 && listed < ROWS, `the attachment holds some: ${listed}`);
      const left = (ROWS - listed).toLocaleString('en-US');
      for (const part of [text, html]) {
        assert.ok(part.includes(`${left} more`) && part.includes('left out'), `says how many were left out (${left}):\n${part.slice(0, 3000)}`);
        assert.match(part, /results\/long\.zip\.issues\.csv/, 'and where all of them are');
      }
    });

    it(`${2 * ROWS} rows: every one reported, and the peak memory grows by less than ${MAX_GROWTH_KB / 1024} MB`, async () => {
      const r = await sync(2 * ROWS, 'longer.zip');
      assert.equal(r.error, undefined, `the run ended: ${r.error}`);
      assert.equal(r.status, 'completed_with_errors', r.message);
      assert.equal(await db.ds.getRepository(SyncIssueRow).count({ where: { runId: r.runId } }), 2 * ROWS);
      const growth = r.vmHwmKb - firstPeakKb;
      process.stderr.write(`[${kind}] VmHWM ${ROWS} rows: ${Math.round(firstPeakKb / 1024)} MB, ${2 * ROWS} rows: ${Math.round(r.vmHwmKb / 1024)} MB\n`);
      assert.ok(firstPeakKb > 0 && growth < MAX_GROWTH_KB, `peak ${firstPeakKb} kB → ${r.vmHwmKb} kB`);
    });
  });
}
