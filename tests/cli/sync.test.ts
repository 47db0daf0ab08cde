/**
 * `rosterdrop sync`, `history` and `run show` through the real CLI on both databases, with the
 * real Ed-Fi sample made defective (users.csv lines 10 and 11 get a 19th field that is not empty:
 * the sample's own empty one is only a warning): exit codes 0/2/3/4/5, the --json object,
 * validation that changes nothing, the safety threshold and --force, the history order and the
 * issues CSV.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DataSource } from 'typeorm';
import { ACTIONS, ENTITY_KINDS, type SyncCounts } from '../../src/sync/types';
import { databaseKinds } from '../helpers/db';
import { makeZip, sampleFiles } from '../helpers/zip';
import { cliDatabase, parseCsv, parseJson, type CliDatabase } from './harness';

interface JsonIssue { severity: string; code: string; file: string | null; line: number | null; column: string | null; sourcedId: string | null; message: string }
interface SyncJson {
  runId: number; domain: string; file: string; sha256: string; status: string; mode: string; forced: boolean; message: string;
  durationMs: number; counts: SyncCounts; issueTotals: { error: number; warning: number; info: number }; issuesDropped: number;
  issues: JsonIssue[];
}

/**
 * The sample whose two teacher rows (users.csv lines 10 and 11, each with an empty 19th field) end
 * in "x" instead: a row too wide whose extra field is not empty is rejected, with its 4 enrollments.
 */
function defectiveSample(): Record<string, string> {
  const files = sampleFiles();
  const lines = files['users.csv'].split('\n');
  for (const i of [9, 10]) {
    assert.ok(lines[i].endsWith(',,,,,,'), `users.csv line ${i + 1} is a teacher row with a trailing comma`);
    lines[i] = `${lines[i]}x`;
  }
  return { ...files, 'users.csv': lines.join('\n') };
}

/** The sample with every user but the first student gone (and their enrollments, so the file stays clean). */
function reducedSample(): Record<string, string> {
  const files = sampleFiles();
  const keep = '604863';
  const lines = (text: string) => text.split(/\r?\n/).filter((l) => l.length);
  const [usersHeader, ...users] = lines(files['users.csv']);
  const [enrHeader, ...enrollments] = lines(files['enrollments.csv']);
  const userCol = enrHeader.split(',').indexOf('userSourcedId');
  return {
    ...files,
    'users.csv': [usersHeader, ...users.filter((l) => l.startsWith(`${keep},`))].join('\n') + '\n',
    'enrollments.csv': [enrHeader, ...enrollments.filter((l) => l.split(',')[userCol] === keep)].join('\n') + '\n',
  };
}

async function rowCounts(ds: DataSource): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['domain', 'lms_user', 'course', 'enrollment', 'observer_link']) {
    const [row] = await ds.query(`SELECT count(*) AS n FROM ${table}`) as Array<{ n: number | string }>;
    out[table] = Number(row.n);
  }
  const [active] = await ds.query("SELECT count(*) AS n FROM lms_user WHERE status = 'active'") as Array<{ n: number | string }>;
  out.activeUsers = Number(active.n);
  return out;
}

function assertShape(j: SyncJson): void {
  for (const key of ['runId', 'domain', 'file', 'sha256', 'status', 'counts', 'issues', 'issueTotals', 'issuesDropped', 'durationMs', 'message', 'timings']) {
    assert.ok(key in j, `--json has ${key}`);
  }
  assert.match(j.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(j.counts), [...ENTITY_KINDS]);
  for (const kind of ENTITY_KINDS) assert.deepEqual(Object.keys(j.counts[kind]), [...ACTIONS]);
  for (const issue of j.issues) assert.deepEqual(Object.keys(issue), ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message']);
}

const userErrorLines = (j: SyncJson) => j.issues.filter((i) => i.severity === 'error' && i.file === 'users.csv').map((i) => i.line);

describe('rosterdrop sync, history and run show', { concurrency: true }, () => {
  for (const kind of databaseKinds()) {
    describe(kind, { concurrency: 1 }, () => {
      let db: CliDatabase;
      let sample: string;
      let reduced: string;
      let appliedRunId = 0;
      before(async () => {
        db = await cliDatabase(kind);
        sample = await makeZip(path.join(db.dir, 'edfi.zip'), defectiveSample());
        reduced = await makeZip(path.join(db.dir, 'edfi-reduced.zip'), reducedSample());
        const add = await db.cli(['domain', 'add', 'gb', '--name', 'Grand Bend']);
        assert.equal(add.code, 0, add.stderr);
      });
      after(async () => { await db?.close(); });

      it('--validate-only reports what would change, changes nothing, and exits 3 for the sample\'s errors', async () => {
        const ds = await db.ds();
        const before1 = await rowCounts(ds);
        const r = await db.cli(['sync', 'gb', sample, '--validate-only', '--json']);
        assert.equal(r.code, 3, r.stderr);
        const j = parseJson<SyncJson>(r);
        assertShape(j);
        assert.equal(j.status, 'validated');
        assert.equal(j.mode, 'validate');
        assert.equal(j.domain, 'gb');
        assert.equal(j.file, 'edfi.zip');
        assert.equal(j.counts.users.created, 8);
        assert.deepEqual(userErrorLines(j), [10, 11]);
        assert.deepEqual(await rowCounts(ds), before1, 'a validation run changes nothing');
      });

      it('applies the sample: exit 3 (completed with errors), 8 users created, issues name users.csv lines 10 and 11', async () => {
        const r = await db.cli(['sync', 'gb', sample, '--json', '--name', 'upload-2024-09-01.zip']);
        assert.equal(r.code, 3, r.stderr);
        assert.equal(r.stderr, '', 'no progress bar or logs when stderr is not a terminal');
        const j = parseJson<SyncJson>(r);
        assertShape(j);
        assert.equal(j.status, 'completed_with_errors');
        assert.equal(j.file, 'upload-2024-09-01.zip');
        assert.equal(j.counts.users.created, 8);
        assert.equal(j.counts.domains.created, 2);
        assert.equal(j.issueTotals.error, j.issues.filter((i) => i.severity === 'error').length);
        assert.equal(j.issuesDropped, 0);
        assert.deepEqual(userErrorLines(j), [10, 11]);
        const rowWidth = j.issues.find((i) => i.line === 10 && i.file === 'users.csv');
        assert.equal(rowWidth?.code, 'csv.row_width');
        assert.equal(rowWidth?.sourcedId, '207270');
        appliedRunId = j.runId;
        const counts = await rowCounts(await db.ds());
        assert.equal(counts.lms_user, 8);
        assert.equal(counts.activeUsers, 8);

        const human = await db.cli(['sync', 'gb', sample]);
        assert.equal(human.code, 3);
        assert.match(human.stdout, /^run \d+: completed with errors\n/);
        assert.match(human.stdout, /users\s+0\s+0\s+8\s+0\s+0\n/, 'the second run finds the 8 users unchanged');
        assert.match(human.stdout, /issues: 6 errors, 1 warning, 0 info/);
        assert.match(human.stdout, /\n {2}error {3}users\.csv:10 csv\.row_width: /);
        assert.match(human.stdout, /enrollments\.csv:22 \[userSourcedId\] ref\.rejected: /);
      });

      it('holds a sync that removes most users (exit 5, nothing changed); --validate-only predicts it; --force applies it', async () => {
        const set = await db.cli(['settings', 'set', 'gb', 'unsharedUsers', 'inactive']);
        assert.equal(set.code, 0, set.stderr);
        const ds = await db.ds();
        const before1 = await rowCounts(ds);

        const predicted = await db.cli(['sync', 'gb', reduced, '--validate-only', '--json']);
        assert.equal(predicted.code, 5, predicted.stderr);
        const p = parseJson<SyncJson>(predicted);
        assert.equal(p.status, 'validated');
        assert.ok(p.issues.some((i) => i.code === 'apply.safety_threshold'));

        const refused = await db.cli(['sync', 'gb', reduced, '--json']);
        assert.equal(refused.code, 5, refused.stderr);
        const j = parseJson<SyncJson>(refused);
        assert.equal(j.status, 'held');
        assert.match(j.message, /7 of 8 managed users .*safety threshold of 10%/);
        assert.deepEqual(await rowCounts(ds), before1, 'a held sync changes nothing');

        const forced = await db.cli(['sync', 'gb', reduced, '--force', '--json']);
        assert.equal(forced.code, 0, forced.stdout + forced.stderr);
        const f = parseJson<SyncJson>(forced);
        assert.equal(f.status, 'succeeded');
        assert.equal(f.forced, true);
        assert.equal(f.counts.users.removed, 7);
        assert.equal(f.counts.users.unchanged + f.counts.users.updated, 1);
        const after1 = await rowCounts(ds);
        assert.equal(after1.lms_user, 8, 'deactivated, not deleted');
        assert.equal(after1.activeUsers, 1);
      });

      it('rejects an unusable upload with exit 4', async () => {
        const files = sampleFiles();
        delete files['users.csv'];
        const broken = await makeZip(path.join(db.dir, 'no-users.zip'), files);
        const r = await db.cli(['sync', 'gb', broken, '--json']);
        assert.equal(r.code, 4, r.stderr);
        const j = parseJson<SyncJson>(r);
        assert.equal(j.status, 'failed');
        assert.ok(j.issues.some((i) => i.severity === 'error'));
      });

      it('lists the history newest first', async () => {
        const r = await db.cli(['history', 'gb', '--json']);
        assert.equal(r.code, 0, r.stderr);
        const j = parseJson<{ domain: string; runs: Array<{ runId: number; status: string; mode: string; forced: boolean }> }>(r);
        assert.deepEqual(j.runs.map((x) => x.status), [
          'failed', 'succeeded', 'held', 'validated', 'completed_with_errors', 'completed_with_errors', 'validated',
        ]);
        const ids = j.runs.map((x) => x.runId);
        assert.deepEqual(ids, [...ids].sort((a, b) => b - a));
        assert.equal(j.runs[1].forced, true);
        assert.deepEqual(j.runs.map((x) => x.mode), ['apply', 'apply', 'apply', 'validate', 'apply', 'apply', 'validate']);
      });

      it('shows a run with its issues, and exports them as CSV', async () => {
        const csv = await db.cli(['run', 'show', String(appliedRunId), '--issues-csv', '-']);
        assert.equal(csv.code, 0, csv.stderr);
        const rows = parseCsv(csv.stdout);
        assert.deepEqual(rows[0], ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message']);
        assert.equal(rows.length, 1 + 7);
        for (const row of rows) assert.equal(row.length, 7);
        assert.deepEqual(rows.filter((r) => r[0] === 'error' && r[2] === 'users.csv').map((r) => r[3]), ['10', '11']);
        assert.ok(rows.some((r) => r[6].includes('"207270"')), 'quotes inside a message survive the round trip');

        const j = parseJson<SyncJson>(await db.cli(['run', 'show', String(appliedRunId), '--json']));
        assertShape(j);
        assert.equal(j.status, 'completed_with_errors');
        assert.equal(j.file, 'upload-2024-09-01.zip');
        assert.equal(j.counts.users.created, 8);
        assert.equal(j.issues.length, 7);
        assert.deepEqual(userErrorLines(j), [10, 11]);

      });

      if (kind === 'sqlite') {
        it('checks the domain, the file and the options before it syncs (exit 2; nothing on stdout)', async () => {
          const cases: Array<[string[], RegExp]> = [
            [['sync', 'nowhere', sample, '--json'], /^rosterdrop: unknown domain "nowhere" \(see `rosterdrop domain list`\)\n$/],
            [['sync', 'gb', path.join(db.dir, 'missing.zip')], /^rosterdrop: no such file: .*missing\.zip\n$/],
            [['sync', 'gb', db.dir], /^rosterdrop: not a file: /],
            [['sync', 'gb'], /missing required argument 'zip'/],
            [['history', 'nowhere'], /unknown domain "nowhere"/],
            [['run', 'show', '999999'], /^rosterdrop: unknown run 999999\n$/],
            [['run', 'show', String(appliedRunId), '--json', '--issues-csv', '-'], /both want stdout/],
          ];
          for (const [args, expected] of cases) {
            const r = await db.cli(args);
            assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
            assert.match(r.stderr, expected);
            assert.equal(r.stdout, '', args.join(' '));
          }
        });

        it('rejects a file that is not a zip (exit 4), and prints human summaries', async () => {
          const notZip = path.join(db.dir, 'notes.zip');
          fs.writeFileSync(notZip, 'this is not a zip');
          const nz = await db.cli(['sync', 'gb', notZip]);
          assert.equal(nz.code, 4);
          assert.match(nz.stdout, /^run \d+: failed\n/);
          assert.match(nz.stdout, /\(upload\) zip\.unreadable: notes\.zip is not a readable zip archive/);
          assert.match(nz.stdout, /\nnothing was changed\n/);
          assert.doesNotMatch(nz.stdout, /created|unchanged/, 'no table of zeros for a sync that changed nothing');

          const history = await db.cli(['history', 'gb', '--limit', '2']);
          const lines = history.stdout.trimEnd().split('\n');
          assert.equal(lines.length, 3);
          assert.match(lines[0], /^run\s+started\s+source\s+mode\s+status\s+file/);
          assert.match(lines[1], /cli\s+apply\s+failed\s+notes\.zip/);
          assert.match(lines[2], /cli\s+apply\s+failed\s+no-users\.zip/);

          const file = path.join(db.dir, 'issues.csv');
          const show = await db.cli(['run', 'show', String(appliedRunId), '--issues-csv', file, '--show-issues', '2']);
          assert.equal(show.code, 0, show.stderr);
          assert.match(show.stderr, /^wrote 7 issues to /);
          assert.match(fs.readFileSync(file, 'utf8'), /^severity,code,file,line,column,sourcedId,message\r\n/);
          assert.match(show.stdout, /^run \d+: completed with errors\n {2}domain {2}gb\n {2}file {4}upload-2024-09-01\.zip/);
          assert.match(show.stdout, /users\s+8\s+0\s+0\s+0\s+0\n/);
          assert.match(show.stdout, /… 5 more: rosterdrop run show \d+ --issues-csv issues\.csv/);
        });
      }
    });
  }
});
