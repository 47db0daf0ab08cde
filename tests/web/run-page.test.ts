/**
 * The run page (inject() on both databases): what a run shows, its issues filtered and paged in SQL
 * over 10,000+ rows, the streamed issues CSV, the live part of a queued run, and 404 for other tenants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SyncRun } from '../../src/db/entities';
import { emptyCounts } from '../../src/sync/types';
import { databaseKinds } from '../helpers/db';
import { insertIssues, insertRun, mixedIssue } from '../helpers/runs';
import { DISTRICT_ADMIN, OTHER_ADMIN, SCHOOL_ADMIN, signedIn, webFixture, type Agent, type WebFixture } from '../helpers/web';

const MANY = 10_050;

function rowsOf(body: string): string[] {
  const tbody = /<table class="issues">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(body);
  return tbody ? tbody[1].split('<tr').slice(1) : [];
}

for (const kind of databaseKinds()) {
  describe(`run page (${kind})`, () => {
    let f: WebFixture;
    let admin: Agent;
    let run: SyncRun;
    before(async () => {
      f = await webFixture({ kind });
      admin = await signedIn(f.app, DISTRICT_ADMIN);
      const counts = emptyCounts();
      counts.users = { created: 41, updated: 7, unchanged: 300, removed: 2, restored: 1 };
      counts.enrollments.created = 95;
      run = await insertRun(f.ds, f.domains.district.id, {
        status: 'completed_with_errors', fileName: 'spring-roster.zip', uploadedBy: 'district/admin', source: 'ftps',
        message: 'applied; 1005 rows had errors and were skipped', countsOf: counts, forced: true,
      });
      await insertIssues(f.ds, run, MANY, mixedIssue);
    });
    after(async () => { await f.close(); });

    it('shows status, source, file, uploader, mode, message, timings and the counts per entity and action', async () => {
      const res = await admin.get(`/runs/${run.id}`);
      assert.equal(res.statusCode, 200);
      const b = res.body;
      assert.match(b, /<h1>Run #\d+<\/h1>/);
      assert.match(b, /<span class="status completed_with_errors">completed with errors<\/span>/);
      assert.match(b, /<dt>Source<\/dt><dd>ftps<\/dd>/);
      assert.match(b, /<dt>File<\/dt><dd>spring-roster\.zip/);
      assert.match(b, /<dt>Uploaded by<\/dt><dd>district\/admin<\/dd>/);
      assert.match(b, /<dt>Mode<\/dt><dd>apply, forced past the safety threshold<\/dd>/);
      assert.match(b, /applied; 1005 rows had errors and were skipped/);
      assert.match(b, /read 120 ms, validate 80 ms, plan 40 ms, apply 300 ms, commit 20 ms/);
      const users = /<tr><th scope="row">users<\/th>(.*?)<\/tr>/.exec(b);
      assert.ok(users);
      assert.deepEqual([...users[1].matchAll(/<td class="num">(\d+)<\/td>/g)].map((m) => Number(m[1])), [41, 7, 300, 2, 1]);
      assert.doesNotMatch(b, /data-live-src/, 'a finished run has nothing live');
    });

    it('pages the issues 50 at a time, each with file:line:column, code, sourcedId and message', async () => {
      const first = await admin.get(`/runs/${run.id}`);
      assert.equal(rowsOf(first.body).length, 50);
      assert.match(first.body, new RegExp(`${MANY} issues; page 1 of ${Math.ceil(MANY / 50)}`));
      assert.match(rowsOf(first.body)[1], /<code>users\.csv:3:role<\/code>[\s\S]*<code>value\.enum_case<\/code><\/td><td>s-1<\/td><td>issue number 1<\/td>/);
      const last = await admin.get(`/runs/${run.id}?page=${Math.ceil(MANY / 50)}`);
      const rows = rowsOf(last.body);
      assert.equal(rows.length, MANY % 50 || 50);
      assert.match(rows[rows.length - 1], new RegExp(`issue number ${MANY - 1}<`));
      assert.match(last.body, /rel="prev"/);
      assert.doesNotMatch(last.body, /rel="next"/);
    });

    it('filters by severity, file and code (the GET form labelled Severity, File, Code), paging what matches', async () => {
      const form = (await admin.get(`/runs/${run.id}`)).body;
      for (const label of ['Severity', 'File', 'Code']) assert.match(form, new RegExp(`<label for="f-\\w+">${label}</label>`));
      assert.match(form, /<option value="csv\.row_width" >csv\.row_width<\/option>/, 'the code choices are the run\'s codes');
      const all = Array.from({ length: MANY }, (_, i) => mixedIssue(i));
      const want = all.filter((i) => i.severity === 'warning' && i.code === 'value.enum_case');
      const res = await admin.get(`/runs/${run.id}?severity=warning&code=value.enum_case`);
      assert.match(res.body, new RegExp(`${want.length} issues match; page 1 of ${Math.ceil(want.length / 50)}`));
      const rows = rowsOf(res.body);
      assert.equal(rows.length, 50);
      assert.ok(rows.every((r) => r.includes('status warning') && r.includes('value.enum_case')));
      assert.match(res.body, /href="\/runs\/\d+\?severity=warning&amp;code=value\.enum_case&amp;page=2#issues"/, 'the next page keeps the filters');
      const byFile = all.filter((i) => i.file === 'users.csv' && i.severity === 'error');
      const files = await admin.get(`/runs/${run.id}?severity=error&file=users.csv`);
      assert.equal(byFile.length, 0, 'errors are all on even lines (enrollments.csv)');
      assert.match(files.body, /No issue matches these filters/);
      const bad = await admin.get(`/runs/${run.id}?severity=fatal`);
      assert.match(bad.body, /Unknown severity &quot;fatal&quot; \(one of error, warning, info\)/);
    });

    it('streams the issues CSV: every kept issue, in order, in the CSV of the reports', async () => {
      const res = await admin.get(`/runs/${run.id}/issues.csv`);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.match(String(res.headers['content-disposition']), /attachment; filename="run-\d+-issues\.csv"/);
      const lines = res.body.split('\r\n').filter(Boolean);
      assert.equal(lines[0], 'severity,code,file,line,column,sourcedId,message');
      assert.equal(lines.length, MANY + 1);
      assert.equal(lines[2], 'info,value.enum_case,users.csv,3,role,s-1,issue number 1');
      assert.equal(lines[MANY], `${mixedIssue(MANY - 1).severity},${mixedIssue(MANY - 1).code},users.csv,${MANY + 1},role,s-${MANY - 1},issue number ${MANY - 1}`);
      assert.match((await admin.get(`/runs/${run.id}`)).body, new RegExp(`href="/runs/${run.id}/issues\\.csv"`));
    });

    it('follows a queued run live until it ends; then the fragment is final with the final status', async () => {
      const queued = await insertRun(f.ds, f.domains.school.id, { status: 'queued', counts: null, timings: null, startedAt: null });
      const page = await admin.get(`/runs/${queued.id}`);
      assert.match(page.body, new RegExp(`<section id="run-live" class="card live" data-live-src="/runs/${queued.id}/live"`));
      assert.match(page.body, /No counts yet: the run has not ended/);
      let live = await admin.get(`/runs/${queued.id}/live`);
      assert.match(live.body, /data-live-src=/);
      assert.match(live.body, /status queued/);
      await f.ds.getRepository(SyncRun).update({ id: queued.id }, { status: 'running', startedAt: new Date() });
      live = await admin.get(`/runs/${queued.id}/live`);
      assert.match(live.body, /status running/);
      assert.match(live.body, /Running since/);
      await f.ds.getRepository(SyncRun).update({ id: queued.id }, { status: 'failed', finishedAt: new Date(), message: 'users.csv is missing' });
      live = await admin.get(`/runs/${queued.id}/live`);
      assert.doesNotMatch(live.body, /data-live-src/, 'final');
      assert.match(live.body, /<span class="status failed">failed<\/span>/);
      assert.match(live.body, /users\.csv is missing/);
    });

    it('answers 404 for another tenant\'s run (page, live part, CSV) as for no run; a parent\'s admin sees a child\'s run', async () => {
      const other = await signedIn(f.app, OTHER_ADMIN);
      const school = await signedIn(f.app, SCHOOL_ADMIN);
      const nothing = await other.get('/runs/999999');
      for (const path of [`/runs/${run.id}`, `/runs/${run.id}/live`, `/runs/${run.id}/issues.csv`]) {
        const res = await other.get(path);
        assert.equal(res.statusCode, 404, path);
        assert.equal(res.body.replace(/value="[^"]*"/g, ''), nothing.body.replace(/value="[^"]*"/g, ''), 'the same answer');
        assert.equal((await school.get(path)).statusCode, 404, `a child's admin does not see the parent's run: ${path}`);
      }
      assert.equal((await other.get('/runs/abc')).statusCode, 404);
      const childRun = await insertRun(f.ds, f.domains.school.id, {});
      assert.equal((await school.get(`/runs/${childRun.id}`)).statusCode, 200);
      assert.equal((await admin.get(`/runs/${childRun.id}`)).statusCode, 200);
      assert.equal((await other.get(`/runs/${childRun.id}`)).statusCode, 404);
    });
  });
}
