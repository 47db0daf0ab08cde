/**
 * The domain page's history (inject() on a real database): paging, filters by status and source,
 * the live fragment that follows queued and running runs to their end, and the server-drawn chart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SyncRun } from '../../src/db/entities';
import { emptyCounts, type RunStatus, type SyncSource } from '../../src/sync/types';
import { historyChart } from '../../src/web/chart';
import { DISTRICT_ADMIN, signedIn, webFixture, type Agent, type WebFixture } from '../helpers/web';

describe('domain page history', () => {
  let f: WebFixture;
  let agent: Agent;
  const ids: number[] = [];

  before(async () => {
    f = await webFixture();
    agent = await signedIn(f.app, DISTRICT_ADMIN);
    const repo = f.ds.getRepository(SyncRun);
    const counts = emptyCounts();
    counts.users.created = 5;
    counts.enrollments.updated = 2;
    counts.users.unchanged = 100;
    // 30 finished runs: every third a failed FTPS upload, the rest succeeded web uploads
    for (let i = 0; i < 30; i++) {
      const failed = i % 3 === 0;
      const at = new Date(Date.UTC(2026, 11, 1, 8, i));
      const run = await repo.save(repo.create({
        domainId: f.domains.district.id, source: (failed ? 'ftps' : 'web') as SyncSource, fileName: `run-${i}.zip`, mode: 'apply', forced: false,
        status: (failed ? 'failed' : 'succeeded') as RunStatus, message: '', counts: failed ? null : JSON.stringify(counts),
        startedAt: at, finishedAt: new Date(at.getTime() + 1500), durationMs: 1500 + i, uploadedBy: DISTRICT_ADMIN,
      }));
      ids.push(run.id);
    }
    // another tenant's run never shows
    await repo.save(repo.create({ domainId: f.domains.other.id, source: 'ftps', fileName: 'secret-other.zip', mode: 'apply', forced: false, status: 'succeeded', message: '' }));
  });
  after(async () => { await f.close(); });

  it('pages the history 25 at a time, newest first, with id link, file, source, status badge, duration and changes', async () => {
    const first = await agent.get('/domains/district');
    const rows = [...first.body.matchAll(/<tr data-run="(\d+)" data-status="(\w+)">/g)].map((m) => Number(m[1]));
    assert.deepEqual(rows, ids.slice().reverse().slice(0, 25));
    assert.match(first.body, new RegExp(`<a href="/runs/${ids[29]}">#${ids[29]}</a>`));
    assert.match(first.body, /<td>run-29\.zip<\/td><td>web <span class="muted">district\/admin<\/span><\/td><td><span class="status succeeded">succeeded<\/span><\/td><td>1\.5 s<\/td><td>7<\/td>/);
    assert.match(first.body, /30 runs · page 1 of 2/);
    assert.match(first.body, /<a href="\/domains\/district\?page=2" rel="next">Older runs<\/a>/);
    assert.doesNotMatch(first.body, /secret-other/);
    const second = await agent.get('/domains/district?page=2');
    const rows2 = [...second.body.matchAll(/<tr data-run="(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(rows2, ids.slice().reverse().slice(25));
    assert.match(second.body, /rel="prev">Newer runs/);
  });

  it('filters by status and by source, keeping the filter across pages, and names a bad filter', async () => {
    const failed = await agent.get('/domains/district?status=failed');
    const statuses = [...failed.body.matchAll(/<tr data-run="\d+" data-status="(\w+)">/g)].map((m) => m[1]);
    assert.equal(statuses.length, 10);
    assert.ok(statuses.every((s) => s === 'failed'));
    assert.match(failed.body, /<option value="failed" selected>failed<\/option>/);
    assert.match(failed.body, /<label for="f-status">Status<\/label><select id="f-status" name="status">/);
    assert.match(failed.body, /<label for="f-source">Source<\/label><select id="f-source" name="source">/);
    const web = await agent.get('/domains/district?source=web');
    assert.match(web.body, /20 runs matching the filter · page 1 of 1/);
    const both = await agent.get('/domains/district?source=ftps&status=succeeded');
    assert.match(both.body, /0 runs matching the filter/);
    const bad = await agent.get('/domains/district?status=great&page=zero');
    assert.equal(bad.statusCode, 200);
    assert.match(bad.body, /Filter ignored: Status &quot;great&quot; is not one of queued, running, succeeded/);
    assert.match(bad.body, /page &quot;zero&quot; is not a page number/);
  });

  it('follows queued and running runs live, and ends the fragment with their final status', async () => {
    const idle = await agent.get('/domains/district/live');
    assert.doesNotMatch(idle.body, /data-live-src/, 'nothing queued: a final fragment');
    const repo = f.ds.getRepository(SyncRun);
    const run = await repo.save(repo.create({ domainId: f.domains.district.id, source: 'web', fileName: 'live.zip', mode: 'apply', forced: false, status: 'queued', message: '' }));
    const pageBody = (await agent.get('/domains/district')).body;
    assert.match(pageBody, new RegExp(`<section class="card" id="live" data-live-src="/domains/district/live\\?since=${run.id}"`));
    await repo.update({ id: run.id }, { status: 'running' });
    const running = await agent.get(`/domains/district/live?since=${run.id}`);
    assert.match(running.body, /^<section class="card" id="live" data-live-src=/);
    assert.match(running.body, /<span class="status running">running<\/span>/);
    await repo.update({ id: run.id }, { status: 'succeeded', durationMs: 900, finishedAt: new Date() });
    const done = await agent.get(`/domains/district/live?since=${run.id}`);
    assert.doesNotMatch(done.body, /data-live-src/, 'final: polling stops');
    assert.match(done.body, new RegExp(`<tr data-run="${run.id}" data-status="succeeded">`));
    assert.match(done.body, /Reload<\/a> to see these runs in the history/);
  });

  it('draws the chart of the last finished runs on the server, with titles', async () => {
    const body = (await agent.get('/domains/district')).body;
    const svg = /<svg class="chart"[\s\S]*?<\/svg>/.exec(body)?.[0] ?? '';
    assert.match(svg, /role="img" aria-labelledby="chart-title chart-desc"><title id="chart-title">Duration and changes of the last finished runs<\/title>/);
    assert.equal((svg.match(/<rect class="bar /g) ?? []).length, 31, 'every finished run (under 50) has its bar');
    assert.match(svg, new RegExp(`<title>Run ${ids[29]}, 2026-12-01 08:29 UTC, succeeded: 1\\.5 s, 7 changes</title>`));
    assert.match(svg, /<polyline class="changes"/);
  });
});

describe('history chart', () => {
  it('escapes every text and draws an empty state', () => {
    const svg = historyChart([{ runId: 1, at: new Date(0), durationMs: 10, changes: 0, status: '<script>' }], 'A & <b>');
    assert.match(svg, /<title id="chart-title">A &amp; &lt;b&gt;<\/title>/);
    assert.doesNotMatch(svg, /<script>|<b>/);
    assert.match(svg, /class="bar script"/, 'a status is reduced to a class name');
    assert.match(historyChart([]), /No finished run yet/);
  });

  it('scales bars to the longest run', () => {
    const svg = historyChart([
      { runId: 1, at: new Date(0), durationMs: 1000, changes: 1, status: 'succeeded' },
      { runId: 2, at: new Date(0), durationMs: 2000, changes: 4, status: 'succeeded' },
    ]);
    const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(heights.length, 2);
    assert.ok(Math.abs(heights[1] - 2 * heights[0]) < 0.2, `${heights}`);
  });
});
