/**
 * The overview (inject()): the admin's domains with their last run, the live list of queued and
 * running runs, held runs with links, nothing of other tenants; an operator's hundreds of domains paged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDomain } from '../../src/db/domains';
import { SyncRun } from '../../src/db/entities';
import { emptyCounts } from '../../src/sync/types';
import { insertRun } from '../helpers/runs';
import { DISTRICT_ADMIN, OTHER_ADMIN, SCHOOL_ADMIN, signedIn, webFixture, type WebFixture } from '../helpers/web';
import { DOMAINS_PER_PAGE } from '../../src/web/pages/overview';

describe('overview', () => {
  let f: WebFixture;
  const runs: Record<string, SyncRun> = {};
  before(async () => {
    f = await webFixture({ env: { ROSTERDROP_HTTP_OPERATORS: 'other/admin' } });
    const counts = emptyCounts();
    counts.users.created = 12;
    counts.enrollments.removed = 3;
    runs.old = await insertRun(f.ds, f.domains.district.id, { status: 'failed', fileName: 'old.zip' });
    runs.last = await insertRun(f.ds, f.domains.district.id, { status: 'succeeded', fileName: 'monday.zip', countsOf: counts, warningCount: 2 });
    runs.running = await insertRun(f.ds, f.domains.district.id, { status: 'running', fileName: 'tuesday.zip', counts: null });
    runs.held = await insertRun(f.ds, f.domains.school.id, { status: 'held' as SyncRun['status'], fileName: 'purge.zip', message: 'would remove 40% of users' });
    runs.queued = await insertRun(f.ds, f.domains.school.id, { status: 'queued', fileName: 'school.zip', counts: null, startedAt: null });
    runs.otherQueued = await insertRun(f.ds, f.domains.other.id, { status: 'queued', fileName: 'secret-other.zip', counts: null, startedAt: null });
  });
  after(async () => { await f.close(); });

  it('shows each domain with its last finished run, what is queued or running (live), and held runs', async () => {
    const admin = await signedIn(f.app, DISTRICT_ADMIN);
    const res = await admin.get('/');
    assert.equal(res.statusCode, 200);
    const b = res.body;
    const district = /<section class="card domain"><h3><a href="\/domains\/district">District<\/a>[\s\S]*?<\/section>/.exec(b)?.[0] ?? '';
    assert.match(district, new RegExp(`Last run: <span class="status succeeded">succeeded</span> <a href="/runs/${runs.last.id}">`));
    assert.match(district, /monday\.zip: 12 created, 3 removed; 2 warnings\./);
    assert.match(b, new RegExp(`<a href="/domains/school-a">School A</a>[\\s\\S]*?Last run: <span class="status held">held</span> <a href="/runs/${runs.held.id}">`), 'a held run is the last run (the queued one is not)');
    assert.match(b, /<section class="card live" id="active-runs" data-live-src="\/live\/overview"/);
    assert.match(b, new RegExp(`<span class="status running">running</span> <a href="/runs/${runs.running.id}">`));
    assert.match(b, new RegExp(`<span class="status queued">queued</span> <a href="/runs/${runs.queued.id}">`));
    const held = /<section class="card" id="held-runs">[\s\S]*?<\/section>/.exec(b)?.[0] ?? '';
    assert.match(held, new RegExp(`<a href="/runs/${runs.held.id}">Run #${runs.held.id}</a>\\s*School A: purge\\.zip`));
    assert.doesNotMatch(b, /secret-other|Other district/, 'nothing of another tenant');
  });

  it('keeps the queued/running part live: the fragment follows the runs as they move', async () => {
    const admin = await signedIn(f.app, DISTRICT_ADMIN);
    let live = await admin.get('/live/overview');
    assert.match(live.body, /^<section class="card live" id="active-runs" data-live-src="\/live\/overview"/);
    assert.match(live.body, /tuesday\.zip/);
    await f.ds.getRepository(SyncRun).update({ id: runs.running.id }, { status: 'succeeded', finishedAt: new Date() });
    live = await admin.get('/live/overview');
    assert.doesNotMatch(live.body, /tuesday\.zip/);
    assert.match(live.body, /school\.zip/);
    assert.doesNotMatch(live.body, /secret-other/);
    const school = await signedIn(f.app, SCHOOL_ADMIN);
    const schoolView = (await school.get('/')).body;
    assert.doesNotMatch(schoolView, /monday\.zip|href="\/domains\/district"/, 'a child\'s admin sees only the child');
  });

  it('pages an operator\'s domains instead of listing hundreds at once', async () => {
    for (let i = 0; i < DOMAINS_PER_PAGE + 10; i++) await createDomain(f.ds, { userspace: `zz-${String(i).padStart(3, '0')}`, name: `Extra ${i}` });
    const operator = await signedIn(f.app, OTHER_ADMIN);
    const first = await operator.get('/');
    const total = DOMAINS_PER_PAGE + 13;
    assert.match(first.body, new RegExp(`${total} domains; page 1 of 2`));
    assert.equal([...first.body.matchAll(/<section class="card domain">/g)].length, DOMAINS_PER_PAGE);
    assert.match(first.body, /secret-other\.zip/, 'an operator sees every queue');
    const second = await operator.get('/?page=2');
    assert.equal([...second.body.matchAll(/<section class="card domain">/g)].length, 13);
    assert.match(second.body, /rel="prev"/);
  });
});
