/**
 * The runs API, API tokens (page and CLI) and the OpenAPI document, with inject() and real HTTPS
 * on both databases: 401 without a live token, 404 for another tenant, the same object as
 * `rosterdrop sync --json`, the issues CSV as `run show --issues-csv`, and a document generated
 * from the schemas that validate.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ApiToken, SyncRun } from '../../src/db/entities';
import { findUser } from '../../src/db/users';
import { enqueueRun } from '../../src/queue/job-store';
import { createApiToken } from '../../src/services/api-tokens';
import { buildWebApp } from '../../src/web/server';
import { assertExit, childEnv, parseCsv, runCli, type CliResult } from '../cli/harness';
import { databaseKinds, type DbKind } from '../helpers/db';
import { DISTRICT_ADMIN, OTHER_ADMIN, SCHOOL_ADMIN, signedIn, startHttps, TEACHER, webFixture, type WebFixture } from '../helpers/web';
import { makeZip, sampleFiles } from '../helpers/zip';

interface HttpsAnswer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One real HTTPS request (the certificate is the generated self-signed one). */
function httpsRequest(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What a route's path looks like in printRoutes' tree, flattened to "METHOD /full/path" lines. */
function declaredRoutes(app: FastifyInstance): string[] {
  const out: string[] = [];
  const stack: Array<{ depth: number; path: string }> = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([\s│]*)[└├]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1].length;
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const full = (stack.length ? stack[stack.length - 1].path : '') + m[2];
    stack.push({ depth, path: full });
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) out.push(`${method} ${full}`);
  }
  return out;
}

for (const kind of databaseKinds()) {
  describe(`HTTP API on ${kind}`, () => {
    let f: WebFixture;
    let cliEnv: NodeJS.ProcessEnv;
    const cli = (args: readonly string[]): Promise<CliResult> => runCli(cliEnv, args);
    let districtToken: string;
    let schoolToken: string;
    let operatorToken: string;
    let districtRun: number;
    let schoolRun: number;
    let otherRun: number;
    let syncJson: unknown;

    before(async () => {
      f = await webFixture({ kind: kind as DbKind, env: { ROSTERDROP_HTTP_OPERATORS: OTHER_ADMIN } });
      // the real CLI on the fixture's database
      cliEnv = childEnv(f.db.sqlitePath ? { ROSTERDROP_DATA_DIR: path.dirname(f.db.sqlitePath) } : { DATABASE_URL: f.db.url ?? '' });
      const zip = await makeZip(path.join(f.dataDir, 'sample.zip'), sampleFiles());
      const synced = await cli(['sync', 'district', zip, '--json']);
      syncJson = JSON.parse(synced.stdout);
      districtRun = (syncJson as { runId: number }).runId;
      const school = await cli(['sync', 'school-a', zip, '--validate-only', '--json']);
      schoolRun = (JSON.parse(school.stdout) as { runId: number }).runId;
      otherRun = (await enqueueRun(f.ds, { domainId: f.domains.other.id, source: 'ftps', fileName: 'other.zip', uploadPath: '/drop/other/other.zip', uploadedBy: OTHER_ADMIN, validateOnly: false, forced: false, sha256: null, size: null })).id;
      const tokenOf = async (userspace: string) => {
        const user = await findUser(f.ds, userspace, 'admin');
        assert.ok(user);
        return (await createApiToken(f.ds, user.id, 'test')).token;
      };
      districtToken = await tokenOf('district');
      schoolToken = await tokenOf('school-a');
      operatorToken = await tokenOf('other');
    });
    after(async () => { await f.close(); });

    const get = (url: string, token?: string) => f.app.inject({ method: 'GET', url, headers: token ? bearer(token) : {} });

    it('answers 401 with a JSON error without a token, with a made-up one and with a malformed header', async () => {
      for (const headers of [{}, bearer('rd_madeupmadeupmadeupmadeupmadeupmadeupmadeup'), bearer('not-even-a-token'), { authorization: `Basic ${Buffer.from('district/admin:x').toString('base64')}` }]) {
        const res = await f.app.inject({ method: 'GET', url: `/api/v1/runs/${districtRun}`, headers });
        assert.equal(res.statusCode, 401, JSON.stringify(headers));
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="rosterdrop"');
        assert.deepEqual(Object.keys(res.json<object>()).sort(), ['error', 'message']);
      }
      assert.equal((await get(`/api/v1/runs/${districtRun}`, districtToken)).statusCode, 200, 'the same request with a real token');
    });

    it('GET /api/v1/runs/{id} is exactly the object `rosterdrop sync --json` printed', async () => {
      const res = await get(`/api/v1/runs/${districtRun}`, districtToken);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = res.json<{ issues: unknown[] }>();
      assert.ok(body.issues.length > 0, 'the sample has issues, so their fields are compared too');
      assert.deepEqual(body, syncJson);
      // and as `run show --json` reads it back
      const shown = await cli(['run', 'show', String(districtRun), '--json']);
      assertExit(shown, 0);
      assert.deepEqual(body, JSON.parse(shown.stdout));
    });

    it('shows the live status: queued, running, then the final one', async () => {
      const run = await enqueueRun(f.ds, { domainId: f.domains.district.id, source: 'ftps', fileName: 'live.zip', uploadPath: '/drop/district/live.zip', uploadedBy: DISTRICT_ADMIN, validateOnly: true, forced: false, sha256: null, size: null });
      const status = async () => (await get(`/api/v1/runs/${run.id}`, districtToken)).json<{ status: string; startedAt: string | null }>();
      assert.equal((await status()).status, 'queued');
      assert.equal((await status()).startedAt, null);
      await f.ds.getRepository(SyncRun).update({ id: run.id }, { status: 'running', startedAt: new Date() });
      assert.equal((await status()).status, 'running');
      await f.ds.getRepository(SyncRun).update({ id: run.id }, { status: 'validated', finishedAt: new Date(), durationMs: 12 });
      const done = await status();
      assert.equal(done.status, 'validated');
      await f.ds.getRepository(SyncRun).delete({ id: run.id });
    });

    it('lists a domain\'s runs paged and filtered, with the rule of a bad page size named', async () => {
      const all = await get('/api/v1/domains/district/runs', districtToken);
      assert.equal(all.statusCode, 200);
      const page = all.json<{ runs: Array<{ runId: number; domain: string; status: string; source: string; file: string; counts: Record<string, Record<string, number>> }>; total: number; offset: number; limit: number }>();
      assert.equal(page.total, 1);
      assert.equal(page.offset, 0);
      assert.equal(page.limit, 25);
      assert.equal(page.runs[0].runId, districtRun);
      assert.equal(page.runs[0].domain, 'district');
      assert.equal(page.runs[0].source, 'cli');
      assert.deepEqual(page.runs[0].counts, (syncJson as { counts: unknown }).counts);
      const extra = await enqueueRun(f.ds, { domainId: f.domains.district.id, source: 'ftps', fileName: 'second.zip', uploadPath: '/drop/district/second.zip', uploadedBy: null, validateOnly: false, forced: false, sha256: null, size: null });
      const first = (await get('/api/v1/domains/district/runs?limit=1', districtToken)).json<typeof page>();
      assert.deepEqual([first.total, first.limit, first.runs.map((r) => r.runId)], [2, 1, [extra.id]], 'newest first');
      const second = (await get('/api/v1/domains/district/runs?limit=1&offset=1', districtToken)).json<typeof page>();
      assert.deepEqual(second.runs.map((r) => r.runId), [districtRun]);
      const queued = (await get('/api/v1/domains/district/runs?status=queued', districtToken)).json<typeof page>();
      assert.deepEqual([queued.total, queued.runs.map((r) => r.runId)], [1, [extra.id]]);
      const fromCli = (await get('/api/v1/domains/district/runs?source=cli', districtToken)).json<typeof page>();
      assert.deepEqual(fromCli.runs.map((r) => r.runId), [districtRun]);
      const tooMany = await get('/api/v1/domains/district/runs?limit=500', districtToken);
      assert.equal(tooMany.statusCode, 400);
      assert.match(tooMany.json<{ message: string }>().message, /limit must be <= 200/);
      const unknown = await get('/api/v1/domains/district/runs?colour=red', districtToken);
      assert.equal(unknown.statusCode, 400, 'an unknown filter is refused, not ignored');
      assert.equal(unknown.json<{ message: string }>().message, 'querystring/colour is not a known field');
      await f.ds.getRepository(SyncRun).delete({ id: extra.id });
    });

    it('streams the issues CSV byte for byte as `rosterdrop run show --issues-csv -`', async () => {
      const res = await get(`/api/v1/runs/${districtRun}/issues.csv`, districtToken);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
      assert.equal(res.headers['content-disposition'], `attachment; filename="run-${districtRun}-issues.csv"`);
      const fromCli = await cli(['run', 'show', String(districtRun), '--issues-csv', '-']);
      assertExit(fromCli, 0);
      assert.equal(res.body, fromCli.stdout);
      const rows = parseCsv(res.body);
      assert.deepEqual(rows[0], ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message']);
      assert.equal(rows.length - 1, (syncJson as { issues: unknown[] }).issues.length);
    });

    it('answers 404 for another tenant\'s run, domain runs and issues CSV, as for what does not exist', async () => {
      const missing = (await get('/api/v1/runs/999999', districtToken)).body;
      for (const [url, token] of [
        [`/api/v1/runs/${otherRun}`, districtToken], [`/api/v1/runs/${otherRun}/issues.csv`, districtToken], ['/api/v1/domains/other/runs', districtToken],
        [`/api/v1/runs/${districtRun}`, schoolToken], [`/api/v1/runs/${districtRun}/issues.csv`, schoolToken], ['/api/v1/domains/district/runs', schoolToken],
        ['/api/v1/domains/nowhere/runs', districtToken],
      ] as const) {
        const res = await get(url, token);
        assert.equal(res.statusCode, 404, url);
        assert.equal(res.body, missing, `${url}: the same answer as a run that does not exist`);
      }
    });

    it('lets an administrator see their domain and its subdomains, and an operator every domain', async () => {
      assert.equal((await get(`/api/v1/runs/${schoolRun}`, schoolToken)).statusCode, 200, 'school-a/admin sees school-a');
      assert.equal((await get('/api/v1/domains/school-a/runs', schoolToken)).json<{ total: number }>().total, 1);
      assert.equal((await get(`/api/v1/runs/${schoolRun}`, districtToken)).statusCode, 200, 'district/admin sees its subdomain school-a');
      for (const url of [`/api/v1/runs/${districtRun}`, `/api/v1/runs/${schoolRun}`, `/api/v1/runs/${otherRun}`, '/api/v1/domains/district/runs', `/api/v1/runs/${districtRun}/issues.csv`]) {
        assert.equal((await get(url, operatorToken)).statusCode, 200, `the operator sees ${url}`);
      }
    });

    it('reads the API with the session cookie, but refuses a state-changing call without a token', async () => {
      const agent = await signedIn(f.app, DISTRICT_ADMIN);
      const res = await agent.get(`/api/v1/runs/${districtRun}`);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), syncJson);
      assert.equal((await agent.get(`/api/v1/runs/${otherRun}`)).statusCode, 404, 'the cookie is bound to the same tenant rules');
      // a state-changing route (the body test route of the OpenAPI suite's app, on the same context)
      const app = await appWithTestRoute(f);
      try {
        const cookie = { cookie: agent.cookieHeader, 'content-type': 'application/json', 'x-csrf-token': agent.csrf };
        const withCookie = await app.inject({ method: 'PATCH', url: '/api/v1/test/things/1', headers: cookie, payload: JSON.stringify({ retries: 2 }) });
        assert.equal(withCookie.statusCode, 401, 'the cookie (even with its CSRF token) does not authorize a change');
        const withToken = await app.inject({ method: 'PATCH', url: '/api/v1/test/things/1', headers: { ...bearer(districtToken), 'content-type': 'application/json' }, payload: JSON.stringify({ retries: 2 }) });
        assert.equal(withToken.statusCode, 200);
      } finally {
        await app.close();
      }
    });

    it('creates a token on /tokens, shows it once on the answer, and revokes it to 401', async () => {
      const agent = await signedIn(f.app, DISTRICT_ADMIN);
      const form = await agent.get('/tokens');
      assert.equal(form.statusCode, 200);
      assert.match(form.body, /<label for="token-name">Token name<\/label>/);
      assert.match(form.body, /<button type="submit">Create token<\/button>/);
      const created = await agent.post('/tokens', { name: 'nightly export' });
      assert.equal(created.statusCode, 201);
      assert.equal(created.headers.location, undefined, 'not a redirect: the token stays out of URLs');
      assert.equal(created.headers['cache-control'], 'no-store');
      const token = /id="new-token" class="token" readonly value="(rd_[A-Za-z0-9_-]+)"/.exec(created.body)?.[1];
      assert.ok(token, 'the new token is on the page');
      assert.equal((await agent.get('/tokens')).body.includes(token), false, 'and only on that one answer');
      const row = await f.ds.getRepository(ApiToken).findOneByOrFail({ name: 'nightly export' });
      assert.notEqual(row.tokenHash, token);
      assert.equal((await get(`/api/v1/runs/${districtRun}`, token)).statusCode, 200);
      const list = await agent.get('/tokens');
      assert.match(list.body, new RegExp(`<td>nightly export</td><td><code>${row.prefix}…</code>`));
      assert.ok(list.body.includes(`name="revoke" value="${row.id}"`));
      // another administrator neither sees nor revokes it
      const school = await signedIn(f.app, SCHOOL_ADMIN);
      const theirs = await school.get('/tokens');
      assert.equal(theirs.body.includes('nightly export'), false);
      assert.equal((await school.post('/tokens', { revoke: String(row.id) })).statusCode, 404);
      assert.equal((await get(`/api/v1/runs/${districtRun}`, token)).statusCode, 200, 'still live');
      // without the CSRF token nothing happens
      assert.equal((await agent.request('POST', '/tokens', { revoke: String(row.id) })).statusCode, 403);
      const revoked = await agent.post('/tokens', { revoke: String(row.id) });
      assert.equal(revoked.statusCode, 303);
      assert.equal(revoked.headers.location, `/tokens?revoked=${row.id}`);
      assert.equal((await get(`/api/v1/runs/${districtRun}`, token)).statusCode, 401);
      const after = await agent.get(revoked.headers.location as string);
      assert.match(after.body, /was revoked/);
      assert.ok(!after.body.includes(`name="revoke" value="${row.id}"`), 'no Revoke button on a revoked token');
      assert.equal((await agent.post('/tokens', { revoke: String(row.id) })).statusCode, 404, 'revoked once');
    });

    it('refuses a token without a name, naming the rule', async () => {
      const agent = await signedIn(f.app, DISTRICT_ADMIN);
      await agent.get('/tokens');
      const res = await agent.post('/tokens', { name: '   ' });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /Token name: the token name is empty/);
      assert.doesNotMatch(res.body, /id="new-token"/);
    });

    it('`rosterdrop token create` prints the token last; it works over HTTPS until `token revoke`', async () => {
      const server = await startHttps(f.ctx, f.dataDir);
      try {
        const created = await cli(['token', 'create', DISTRICT_ADMIN, '--name', 'sis export']);
        assertExit(created, 0);
        const lines = created.stdout.trimEnd().split('\n');
        const token = lines[lines.length - 1];
        assert.match(token, /^rd_[A-Za-z0-9_-]{40,}$/);
        const ok = await httpsRequest(`${server.url}/api/v1/runs/${districtRun}`, { headers: bearer(token) });
        assert.equal(ok.status, 200);
        assert.deepEqual(JSON.parse(ok.body), syncJson);
        assert.equal((await httpsRequest(`${server.url}/api/v1/runs/${districtRun}`)).status, 401);
        assert.equal((await httpsRequest(`${server.url}/api/v1/runs/${otherRun}`, { headers: bearer(token) })).status, 404);
        assert.equal((await f.ds.getRepository(ApiToken).findOneByOrFail({ name: 'sis export' })).lastUsedAt, null, 'no write on the request path');
        await f.ctx.tokenTouches.flush(); // what the daemon does every minute
        const listed = await cli(['token', 'list', DISTRICT_ADMIN, '--json']);
        assertExit(listed, 0);
        const entry = (JSON.parse(listed.stdout) as { tokens: Array<{ id: number; name: string; prefix: string; revokedAt: string | null; lastUsedAt: string | null }> }).tokens.find((t) => t.name === 'sis export');
        assert.ok(entry);
        assert.equal(token.startsWith(entry.prefix), true);
        assert.equal(entry.revokedAt, null);
        assert.ok(entry.lastUsedAt, 'its use is recorded');
        assert.equal(listed.stdout.includes(token), false, 'the list never shows a token');
        const revoked = await cli(['token', 'revoke', DISTRICT_ADMIN, entry.prefix]);
        assertExit(revoked, 0);
        assert.equal((await httpsRequest(`${server.url}/api/v1/runs/${districtRun}`, { headers: bearer(token) })).status, 401);
        const again = await cli(['token', 'revoke', DISTRICT_ADMIN, String(entry.id)]);
        assertExit(again, 2);
        assert.match(again.stderr, /has no live API token/);
        // another administrator cannot revoke it by its id either
        const bySchool = await cli(['token', 'revoke', SCHOOL_ADMIN, String(entry.id)]);
        assertExit(bySchool, 2);
      } finally {
        await server.stop();
      }
    });

    it('`rosterdrop token create` refuses anyone but an active administrator, with the CLI\'s usage exit code', async () => {
      for (const [login, rule] of [[TEACHER, /"district\/teacher" is not an administrator/], ['district/nobody', /unknown user "district\/nobody"/], ['nowhere/admin', /unknown user "nowhere\/admin"/], ['no-slash', /not a login/]] as const) {
        const r = await cli(['token', 'create', login]);
        assertExit(r, 2);
        assert.match(r.stderr, rule);
        assert.equal(r.stdout, '', `${login}: no token printed`);
      }
      const before = await f.ds.getRepository(ApiToken).count();
      assertExit(await cli(['token', 'create', DISTRICT_ADMIN, '--name', '']), 2);
      assert.equal(await f.ds.getRepository(ApiToken).count(), before);
    });
  });
}

/** The fixture's context in a second app with one state-changing route, so body validation and the cookie rule can be tested. */
const TEST_BODY = {
  type: 'object',
  properties: { retries: { type: 'integer', minimum: 0, maximum: 5, description: 'how often' } },
  required: ['retries'],
  additionalProperties: false,
} as const;

async function appWithTestRoute(f: WebFixture): Promise<FastifyInstance> {
  const app = await buildWebApp(f.ctx, { tls: null });
  app.patch('/api/v1/test/things/:thingId', {
    schema: {
      summary: 'a test route', tags: ['test'],
      params: { type: 'object', properties: { thingId: { type: 'integer' } }, required: ['thingId'] },
      body: TEST_BODY,
      response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } },
    },
  }, async () => ({ ok: true }));
  return app;
}

describe('OpenAPI document', () => {
  let f: WebFixture;
  let app: FastifyInstance;
  let token: string;
  before(async () => {
    f = await webFixture();
    app = await appWithTestRoute(f);
    const user = await findUser(f.ds, 'district', 'admin');
    assert.ok(user);
    token = (await createApiToken(f.ds, user.id, 'openapi')).token;
  });
  after(async () => { await app.close(); await f.close(); });

  interface Doc { openapi: string; components: { securitySchemes: Record<string, { type: string; scheme: string }> }; security: unknown; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; parameters?: Array<{ name: string; in: string; schema: Record<string, unknown> }>; security?: unknown[]; summary?: string; tags?: string[]; responses: Record<string, unknown> }>> }

  async function doc(): Promise<Doc> {
    const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(res.statusCode, 200, 'public: no token needed');
    return res.json<Doc>();
  }

  it('is OpenAPI 3.1 with a bearer security scheme, and lists every /api/v1 route with its method', async () => {
    const d = await doc();
    assert.equal(d.openapi, '3.1.0');
    assert.deepEqual(d.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: 'an API token `rd_…`' });
    assert.deepEqual(d.security, [{ bearer: [] }]);
    const declared = declaredRoutes(app).filter((r) => r.includes(' /api/v1/') && !r.startsWith('HEAD '));
    assert.ok(declared.length >= 5, `routes found in printRoutes: ${declared.join(', ')}`);
    const documented = Object.entries(d.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    const expected = declared.map((r) => r.replace(/:([A-Za-z0-9_]+)/g, '{$1}'));
    assert.deepEqual([...documented].sort(), [...expected].sort());
    for (const want of ['GET /api/v1/runs/{id}', 'GET /api/v1/domains/{userspace}/runs', 'GET /api/v1/runs/{id}/issues.csv', 'GET /api/v1/openapi.json', 'PATCH /api/v1/test/things/{thingId}']) {
      assert.ok(documented.includes(want), want);
    }
    for (const [p, item] of Object.entries(d.paths)) {
      for (const [m, op] of Object.entries(item)) {
        assert.ok(op.summary, `${m} ${p} has a summary`);
        assert.ok(op.tags?.length, `${m} ${p} has tags`);
      }
    }
    assert.deepEqual(d.paths['/api/v1/openapi.json'].get.security, [], 'the document itself is public');
    assert.ok(d.paths['/api/v1/runs/{id}'].get.responses['401'], '401 documented');
    assert.ok((d.paths['/api/v1/runs/{id}/issues.csv'].get.responses['200'] as { content: Record<string, unknown> }).content['text/csv']);
  });

  it('documents the same body schema that validates: a PATCH breaking it fails with the rule the document states', async () => {
    const d = await doc();
    const body = d.paths['/api/v1/test/things/{thingId}'].patch.requestBody?.content['application/json'].schema as typeof TEST_BODY;
    assert.deepEqual(body, TEST_BODY);
    assert.equal(body.properties.retries.maximum, 5);
    const bad = await app.inject({ method: 'PATCH', url: '/api/v1/test/things/1', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify({ retries: 9 }) });
    assert.equal(bad.statusCode, 400);
    const err = bad.json<{ error: string; message: string }>();
    assert.match(err.message, new RegExp(`retries must be <= ${body.properties.retries.maximum}`));
    const extra = await app.inject({ method: 'PATCH', url: '/api/v1/test/things/1', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify({ retries: 1, colour: 'red' }) });
    assert.equal(extra.statusCode, 400, 'additionalProperties: false, as documented');
    assert.equal(extra.json<{ message: string }>().message, 'body/colour is not a known field');
    const none = await app.inject({ method: 'PATCH', url: '/api/v1/test/things/1', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(none.json<{ message: string }>().message, 'body/retries is required');
    // a query rule too: the runs page size
    const limit = d.paths['/api/v1/domains/{userspace}/runs'].get.parameters?.find((p) => p.name === 'limit');
    assert.equal(limit?.in, 'query');
    const over = await app.inject({ method: 'GET', url: `/api/v1/domains/district/runs?limit=${Number(limit?.schema.maximum) + 1}`, headers: bearer(token) });
    assert.equal(over.statusCode, 400);
    assert.match(over.json<{ message: string }>().message, new RegExp(`limit must be <= ${String(limit?.schema.maximum)}`));
    const idParam = d.paths['/api/v1/runs/{id}'].get.parameters?.find((p) => p.name === 'id');
    assert.deepEqual([idParam?.in, idParam?.schema.type, idParam?.schema.minimum], ['path', 'integer', 1]);
  });
});
