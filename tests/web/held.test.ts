/**
 * Held runs on the web, on both databases with inject(): the run page says why a run is held and
 * when it expires, lists its removals (paged, filtered by entity) and has "Approve" / "Discard";
 * the forms need the CSRF token, approval queues the same run (decided_by = the login) and wakes
 * the queue, a second decision answers 409 with the page saying why, another tenant 404 (page,
 * form and API). The API's approve / discard / removals with a token; a session cookie alone
 * cannot change state. The runner's side of an approved run is tested in tests/queue/held.test.ts
 * and, end to end, in held.browser.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { HeldRemoval, SyncRun } from '../../src/db/entities';
import { findUser } from '../../src/db/users';
import { emptyCounts } from '../../src/sync/types';
import { createApiToken } from '../../src/services/api-tokens';
import { databaseKinds, type DbKind } from '../helpers/db';
import { insertRun } from '../helpers/runs';
import { DISTRICT_ADMIN, OTHER_ADMIN, SCHOOL_ADMIN, signedIn, webFixture, type Agent, type WebFixture } from '../helpers/web';

const REASON = 'held: it would remove 42% of managed users (threshold 10%). Nothing was changed: approve or discard it';

for (const kind of databaseKinds()) {
  describe(`held runs on the web [${kind}]`, () => {
    let f: WebFixture;
    let wakes = 0;
    let admin: Agent;
    const tokens: Record<string, string> = {};

    /** A held run as the engine leaves it: its upload kept, its removals listed (120 users, 30 enrollments, 5 courses). */
    async function heldRun(domainId: number, heldAt = new Date()): Promise<SyncRun> {
      const counts = emptyCounts();
      counts.users = { created: 0, updated: 2, unchanged: 160, removed: 120, restored: 0 };
      counts.enrollments = { created: 0, updated: 0, unchanged: 400, removed: 30, restored: 0 };
      counts.courses = { created: 0, updated: 0, unchanged: 20, removed: 5, restored: 0 };
      const run = await insertRun(f.ds, domainId, { status: 'held', fileName: 'end-of-term.zip', uploadedBy: 'district/sis', countsOf: counts, message: REASON, finishedAt: heldAt });
      const file = path.join(f.dataDir, 'held', `${run.id}-end-of-term.zip`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, 'PK held upload');
      await f.ds.getRepository(SyncRun).update({ id: run.id }, { heldPath: file, queuedPath: file });
      const rows = [
        ...Array.from({ length: 120 }, (_, i) => ({ runId: run.id, entity: 'users', externalId: `or-stu-${1000 + i}`, name: `Student ${1000 + i}` })),
        ...Array.from({ length: 30 }, (_, i) => ({ runId: run.id, entity: 'enrollments', externalId: `or-enr-${i}`, name: `Student ${1000 + i} — Algebra` })),
        ...Array.from({ length: 5 }, (_, i) => ({ runId: run.id, entity: 'courses', externalId: `or-cls-${i}`, name: `Algebra ${i}` })),
      ];
      for (let i = 0; i < rows.length; i += 50) await f.ds.getRepository(HeldRemoval).insert(rows.slice(i, i + 50));
      return f.ds.getRepository(SyncRun).findOneByOrFail({ id: run.id });
    }

    const reload = (id: number) => f.ds.getRepository(SyncRun).findOneByOrFail({ id });
    const api = (method: 'GET' | 'POST', url: string, login?: string, headers: Record<string, string> = {}) =>
      f.app.inject({ method, url, headers: { ...(login ? { authorization: `Bearer ${tokens[login]}` } : {}), ...headers } });

    before(async () => {
      f = await webFixture({ kind: kind as DbKind });
      f.ctx.wakeQueue = () => { wakes++; };
      admin = await signedIn(f.app, DISTRICT_ADMIN);
      for (const login of [DISTRICT_ADMIN, SCHOOL_ADMIN, OTHER_ADMIN]) {
        const [userspace, username] = login.split('/');
        const user = await findUser(f.ds, userspace, username);
        assert.ok(user);
        tokens[login] = (await createApiToken(f.ds, user.id, 'held test')).token;
      }
    });
    after(async () => { await f?.close(); });
    beforeEach(() => { wakes = 0; });

    it('shows why the run is held, when it expires, its changes, its removals paged and filtered, and the two buttons', async () => {
      const heldAt = new Date('2026-12-01T10:00:00Z');
      const run = await heldRun(f.domains.district.id, heldAt);
      const res = await admin.get(`/runs/${run.id}`);
      assert.equal(res.statusCode, 200);
      const body = res.body;
      assert.match(body, /Held for review: nothing was changed yet/);
      assert.ok(body.includes('it would remove 42% of managed users (threshold 10%)'), 'the reason: the run\'s message');
      assert.match(body, /expires <time datetime="2026-12-08T10:00:00.000Z">2026-12-08 10:00:00 UTC<\/time> \(after 7 days\)/);
      assert.match(body, /Approving would remove or deactivate 155 records\./);
      assert.match(body, /<th scope="row">users<\/th><td class="num">0<\/td><td class="num">2<\/td><td class="num">160<\/td><td class="num">120<\/td>/, 'the counts table');
      assert.match(body, /155 records; page 1 of 4\./);
      assert.equal((body.match(/<tr><td>users<\/td><td><code>or-stu-\d+<\/code><\/td><td>Student \d+<\/td><\/tr>/g) ?? []).length, 50);
      assert.ok(body.includes('<code>or-stu-1000</code>') && !body.includes('<code>or-stu-1050</code>'), 'page 1 is the first 50 in planned order');
      assert.match(body, /<label for="f-entity">Entity<\/label><select id="f-entity" name="entity">/);
      assert.match(body, /href="\/runs\/\d+\?rpage=2#removals" rel="next">Next removals/);
      for (const [action, label, cls] of [['approve', 'Approve', ''], ['discard', 'Discard', 'danger']]) {
        const form = new RegExp(`<form method="post" action="/runs/${run.id}" class="inline">\\s*<input type="hidden" name="_csrf" value="${admin.csrf}"><input type="hidden" name="action" value="${action}">\\s*<button type="submit" class="${cls}">${label}</button>`);
        assert.match(body, form, `the ${label} form`);
      }

      const page4 = await admin.get(`/runs/${run.id}?rpage=4`);
      assert.match(page4.body, /155 records; page 4 of 4\./);
      assert.equal((page4.body.match(/<tr><td>courses<\/td>/g) ?? []).length, 5, 'the last page ends with the courses');
      assert.match(page4.body, /rel="prev">Previous removals/);

      const enrollments = await admin.get(`/runs/${run.id}?entity=enrollments`);
      assert.match(enrollments.body, /30 enrollments; page 1 of 1\./);
      assert.match(enrollments.body, /Approving would remove or deactivate 155 records\./, 'the total stays the whole list');
      assert.equal((enrollments.body.match(/<tr><td>enrollments<\/td>/g) ?? []).length, 30);
      assert.doesNotMatch(enrollments.body, /<tr><td>users<\/td>/);
      assert.match(enrollments.body, /<option value="enrollments" selected>/);
      const users2 = await admin.get(`/runs/${run.id}?entity=users&rpage=3`);
      assert.match(users2.body, /120 users; page 3 of 3\./);
      assert.equal((users2.body.match(/<tr><td>users<\/td>/g) ?? []).length, 20);
      const bad = await admin.get(`/runs/${run.id}?entity=teachers`);
      assert.match(bad.body, /Unknown entity &quot;teachers&quot; \(one of users, courses, enrollments\): showing every entity\./);
      assert.match(bad.body, /155 records; page 1 of 4\./);
    });

    it('approves from the page with the CSRF token: the same run is queued, approved by the login, the queue woken; the page follows it', async () => {
      const run = await heldRun(f.domains.school.id);
      await admin.get(`/runs/${run.id}`);
      const res = await admin.post(`/runs/${run.id}`, { action: 'approve' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `/runs/${run.id}?decided=approved`);
      const now = await reload(run.id);
      assert.equal(now.status, 'queued');
      assert.equal(now.approved, true);
      assert.equal(now.decidedBy, DISTRICT_ADMIN);
      assert.ok(now.decidedAt && Date.now() - now.decidedAt.getTime() < 60_000);
      assert.equal(now.queuedPath, run.heldPath, 'the runner applies the kept upload');
      assert.equal(wakes, 1, 'the queue was woken');
      const after = await admin.get(res.headers.location as string);
      assert.match(after.body, /Approved: the run is queued again and will be applied past the safety threshold\./);
      assert.match(after.body, new RegExp(`id="run-live" class="card live" data-live-src="/runs/${run.id}/live"`), 'followed live');
      assert.match(after.body, /<dd id="run-decision">approved by district\/admin <time/);
      assert.doesNotMatch(after.body, /name="action" value="approve"/, 'no buttons once decided');

      // a second approval (another tab, someone else meanwhile): 409, the page says why, nothing changes
      const again = await admin.post(`/runs/${run.id}`, { action: 'approve' });
      assert.equal(again.statusCode, 409);
      assert.match(again.body, /Nothing was done: the run is no longer held for review \(it is queued; approved by district\/admin\), so it cannot be approved any more\./);
      assert.equal(wakes, 1);
      assert.equal((await reload(run.id)).status, 'queued');
      const discard = await admin.post(`/runs/${run.id}`, { action: 'discard' });
      assert.equal(discard.statusCode, 409);
      assert.match(discard.body, /so it cannot be discarded any more\./);
    });

    it('refuses a form without the CSRF token (403) and an unknown action (400): the run stays held', async () => {
      const run = await heldRun(f.domains.district.id);
      await admin.get(`/runs/${run.id}`);
      const noToken = await admin.request('POST', `/runs/${run.id}`, { action: 'approve' });
      assert.equal(noToken.statusCode, 403);
      const wrongToken = await admin.request('POST', `/runs/${run.id}`, { action: 'approve', _csrf: 'x'.repeat(43) });
      assert.equal(wrongToken.statusCode, 403);
      const unknown = await admin.post(`/runs/${run.id}`, { action: 'commit' });
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.body, /Unknown action &quot;commit&quot;/);
      const now = await reload(run.id);
      assert.equal(now.status, 'held');
      assert.equal(now.decidedBy, null);
      assert.equal(wakes, 0);
    });

    it('discards from the page: discarded by the login, the upload deleted, nothing queued', async () => {
      const run = await heldRun(f.domains.district.id);
      await admin.get(`/runs/${run.id}`);
      const res = await admin.post(`/runs/${run.id}`, { action: 'discard' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `/runs/${run.id}?decided=discarded`);
      const now = await reload(run.id);
      assert.equal(now.status, 'discarded');
      assert.equal(now.decidedBy, DISTRICT_ADMIN);
      assert.equal(fs.existsSync(run.heldPath as string), false, 'the kept upload is gone');
      assert.equal(wakes, 0);
      const page = await admin.get(res.headers.location as string);
      assert.match(page.body, /Discarded: nothing was changed, and the upload was deleted\./);
      assert.match(page.body, /<span class="status discarded">discarded<\/span>/);
      assert.match(page.body, /<dd id="run-decision">discarded by district\/admin <time/);
      assert.doesNotMatch(page.body, /data-live-src/);
    });

    it('answers 409 when a held run\'s upload is not kept, with the service\'s reason', async () => {
      const run = await heldRun(f.domains.district.id);
      await f.ds.getRepository(SyncRun).update({ id: run.id }, { heldPath: null });
      await admin.get(`/runs/${run.id}`);
      const res = await admin.post(`/runs/${run.id}`, { action: 'approve' });
      assert.equal(res.statusCode, 409);
      assert.match(res.body, new RegExp(`Nothing was done: run ${run.id} is held, but its upload is not kept: upload the file again\\.`));
      assert.equal(wakes, 0);
    });

    it('says when a held run expired', async () => {
      const run = await insertRun(f.ds, f.domains.district.id, { status: 'expired', decidedAt: new Date('2026-12-09T10:00:00Z'), message: 'expired: nobody approved it within 7 days; nothing was changed' });
      const page = await admin.get(`/runs/${run.id}`);
      assert.match(page.body, /<dd id="run-decision">expired <time datetime="2026-12-09T10:00:00.000Z">[^<]+<\/time>: nobody approved it in time<\/dd>/);
      assert.match(page.body, /<span class="status expired">expired<\/span>/);
    });

    it('answers 404 to another tenant for the page, the forms and the API, and leaves the run held', async () => {
      const run = await heldRun(f.domains.district.id);
      for (const login of [SCHOOL_ADMIN, OTHER_ADMIN]) {
        const agent = await signedIn(f.app, login);
        const page = await agent.get(`/runs/${run.id}`);
        assert.equal(page.statusCode, 404, login);
        assert.doesNotMatch(page.body, /end-of-term|or-stu-/);
        for (const action of ['approve', 'discard']) {
          const post = await agent.post(`/runs/${run.id}`, { action });
          assert.equal(post.statusCode, 404, `${login} ${action}`);
          assert.equal((await api('POST', `/api/v1/runs/${run.id}/${action}`, login)).statusCode, 404, `${login} API ${action}`);
        }
        const removals = await api('GET', `/api/v1/runs/${run.id}/removals`, login);
        assert.equal(removals.statusCode, 404);
        assert.deepEqual(removals.json(), { error: 'not_found', message: 'no such resource' });
      }
      assert.equal((await admin.post('/runs/999999', { action: 'approve' })).statusCode, 404);
      const now = await reload(run.id);
      assert.equal(now.status, 'held');
      assert.equal(wakes, 0);
    });

    it('approves and discards through the API with a token: 202 / 200, then 409 not_held; 404 unknown; 401 with only the session cookie', async () => {
      const run = await heldRun(f.domains.school.id);
      const cookieOnly = await f.app.inject({ method: 'POST', url: `/api/v1/runs/${run.id}/approve`, headers: { cookie: admin.cookieHeader, 'x-csrf-token': admin.csrf } });
      assert.equal(cookieOnly.statusCode, 401, 'the session cookie cannot change state through the API');
      assert.equal((await api('POST', `/api/v1/runs/${run.id}/approve`)).statusCode, 401);
      assert.equal((await reload(run.id)).status, 'held');

      const approved = await api('POST', `/api/v1/runs/${run.id}/approve`, DISTRICT_ADMIN);
      assert.equal(approved.statusCode, 202);
      assert.deepEqual(approved.json(), { runId: run.id, status: 'queued' });
      assert.equal(wakes, 1);
      const now = await reload(run.id);
      assert.equal(now.decidedBy, DISTRICT_ADMIN);
      assert.equal(now.approved, true);
      const json = (await api('GET', `/api/v1/runs/${run.id}`, DISTRICT_ADMIN)).json<{ status: string; decision: { by: string; approved: boolean } }>();
      assert.equal(json.status, 'queued');
      assert.deepEqual({ by: json.decision.by, approved: json.decision.approved }, { by: DISTRICT_ADMIN, approved: true });

      for (const action of ['approve', 'discard']) {
        const again = await api('POST', `/api/v1/runs/${run.id}/${action}`, SCHOOL_ADMIN);
        assert.equal(again.statusCode, 409, action);
        const err = again.json<{ error: string; message: string }>();
        assert.equal(err.error, 'not_held');
        assert.match(err.message, new RegExp(`run ${run.id} is not held for review \\(it is queued\\)`));
      }

      const other = await heldRun(f.domains.school.id);
      const discarded = await api('POST', `/api/v1/runs/${other.id}/discard`, SCHOOL_ADMIN);
      assert.equal(discarded.statusCode, 200);
      assert.deepEqual(discarded.json(), { runId: other.id, status: 'discarded' });
      assert.equal((await reload(other.id)).decidedBy, SCHOOL_ADMIN);
      assert.equal(wakes, 1, 'a discard wakes nothing');

      assert.equal((await api('POST', '/api/v1/runs/999999/approve', DISTRICT_ADMIN)).statusCode, 404);
      assert.equal((await api('POST', '/api/v1/runs/abc/approve', DISTRICT_ADMIN)).statusCode, 400);
    });

    it('pages and filters the removals through the API', async () => {
      const run = await heldRun(f.domains.district.id);
      const first = await api('GET', `/api/v1/runs/${run.id}/removals`, DISTRICT_ADMIN);
      assert.equal(first.statusCode, 200);
      const page = first.json<{ total: number; offset: number; limit: number; removals: Array<{ entity: string; externalId: string; sourcedId: string | null; name: string }> }>();
      assert.deepEqual({ total: page.total, offset: page.offset, limit: page.limit, n: page.removals.length }, { total: 155, offset: 0, limit: 50, n: 50 });
      assert.deepEqual(page.removals[0], { entity: 'users', externalId: 'or-stu-1000', sourcedId: 'stu-1000', name: 'Student 1000' });
      const courses = (await api('GET', `/api/v1/runs/${run.id}/removals?entity=courses&offset=2&limit=2`, DISTRICT_ADMIN)).json<typeof page>();
      assert.equal(courses.total, 5);
      assert.deepEqual(courses.removals.map((r) => r.externalId), ['or-cls-2', 'or-cls-3']);
      const bad = await api('GET', `/api/v1/runs/${run.id}/removals?entity=teachers`, DISTRICT_ADMIN);
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json<{ message: string }>().message, /entity/);
    });

    it('lists held runs on the overview with links to their pages, for their own tenant only', async () => {
      const run = await heldRun(f.domains.school.id);
      const overview = await admin.get('/');
      const section = /<section class="card" id="held-runs">([\s\S]*?)<\/section>/.exec(overview.body)?.[1] ?? '';
      assert.match(section, new RegExp(`<span class="status held">held</span> <a href="/runs/${run.id}">Run #${run.id}</a>\\s*School A: end-of-term.zip`));
      const otherAgent = await signedIn(f.app, OTHER_ADMIN);
      const theirs = await otherAgent.get('/');
      assert.doesNotMatch(theirs.body, new RegExp(`href="/runs/${run.id}"`));
      assert.match(theirs.body, /<section class="card" id="held-runs"><h2>Held runs waiting for a decision<\/h2>\s*<p class="muted">None\.<\/p>/);
    });

    it('documents approve, discard and removals in the OpenAPI document', async () => {
      const doc = (await f.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{ paths: Record<string, Record<string, { summary?: string; responses: Record<string, unknown> }>> }>();
      const approve = doc.paths['/api/v1/runs/{id}/approve']?.post;
      assert.ok(approve?.summary?.startsWith('Approve a held run'));
      assert.ok(approve.responses['202'] && approve.responses['409']);
      assert.ok(doc.paths['/api/v1/runs/{id}/discard']?.post?.responses['200']);
      assert.ok(doc.paths['/api/v1/runs/{id}/removals']?.get?.summary);
    });
  });
}
