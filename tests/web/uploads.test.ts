/**
 * Web and API uploads on a real database (inject() and real HTTPS): the zip reaches the intake's
 * queue byte for byte with source, uploader and mode; the size cap, aborted uploads, bad names and
 * modes, CSRF and other tenants leave nothing on disk and queue nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { User } from '../../src/db/entities';
import { SyncRun } from '../../src/db/entities';
import { createApiToken } from '../../src/services/api-tokens';
import type { WebServer } from '../../src/web/server';
import { databaseKinds } from '../helpers/db';
import { memoryLogger, type MemoryLogger } from '../helpers/memory-logger';
import { multipartBody, multipartFrame, type FormPart } from '../helpers/multipart';
import { standardRoster } from '../helpers/roster';
import { DISTRICT_ADMIN, OTHER_ADMIN, SCHOOL_ADMIN, signedIn, startHttps, webFixture, type Agent, type WebFixture } from '../helpers/web';
import { tempDir } from '../helpers/zip';

/** every file (not folder) under `dir`, relative */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

let zipBytes: Buffer;
const tmp = tempDir('rosterdrop-upload-test-');

before(async () => { zipBytes = fs.readFileSync(await standardRoster(3).zip(tmp.dir, 'roster.zip')); });
after(() => tmp.cleanup());

async function pagePost(agent: Agent, url: string, parts: readonly FormPart[], csrf: string | null = agent.csrf) {
  const { payload, contentType } = multipartBody(parts);
  return agent.app.inject({
    method: 'POST', url: csrf === null ? url : `${url}?_csrf=${encodeURIComponent(csrf)}`,
    headers: { cookie: agent.cookieHeader, 'content-type': contentType }, payload,
  });
}

async function apiPost(f: WebFixture, token: string | null, url: string, parts: readonly FormPart[]) {
  const { payload, contentType } = multipartBody(parts);
  return f.app.inject({ method: 'POST', url, headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) }, payload });
}

async function tokenOf(f: WebFixture, login: string): Promise<string> {
  const [userspace, username] = login.split('/');
  const domain = Object.values(f.domains).find((d) => d.userspace === userspace);
  const user = await f.ds.getRepository(User).findOneByOrFail({ domainId: domain?.id, username });
  return (await createApiToken(f.ds, user.id, 'test')).token;
}

const file = (content: Buffer, filename = 'roster.zip'): FormPart => ({ name: 'file', filename, content });

for (const kind of databaseKinds()) {
  describe(`uploads through the domain page and the API (${kind})`, () => {
    let f: WebFixture;
    let agent: Agent;
    before(async () => {
      f = await webFixture({ kind });
      agent = await signedIn(f.app, DISTRICT_ADMIN);
    });
    after(async () => { await f.close(); });

    it('shows the upload form with the labels scripts use, posting to its own path with the CSRF token in the action', async () => {
      const res = await agent.get('/domains/district');
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /<label for="upload-file">Roster zip<\/label>\s*<input type="file" id="upload-file" name="file"/);
      assert.match(res.body, /<label class="check" for="upload-validate"><input type="checkbox" id="upload-validate" name="validateOnly"[^>]*> Validation only<\/label>/);
      assert.match(res.body, /<button type="submit">Upload<\/button>/);
      assert.ok(res.body.includes(`action="/domains/district?_csrf=${agent.csrf}"`), 'the action carries the session\'s CSRF token');
      assert.match(res.body, /enctype="multipart\/form-data"/);
      assert.match(res.body, /<a href="\/domains\/school-a">School A<\/a>/, 'subdomains are linked');
    });

    it('queues an upload with "Validation only" and one without, source web, uploaded by the login, the queued file byte-identical', async () => {
      const before = f.queued.length;
      const validate = await pagePost(agent, '/domains/district', [file(zipBytes, 'check.zip'), { name: 'validateOnly', value: 'on' }]);
      assert.equal(validate.statusCode, 303, validate.body);
      const sync = await pagePost(agent, '/domains/district', [file(zipBytes, 'apply.zip')]);
      assert.equal(sync.statusCode, 303, sync.body);
      const ids = [validate, sync].map((r) => Number(/^\/runs\/(\d+)$/.exec(String(r.headers.location))?.[1]));
      assert.deepEqual(f.queued.slice(before), ids, 'both went through the intake');
      const runs = await Promise.all(ids.map((id) => f.ds.getRepository(SyncRun).findOneByOrFail({ id })));
      assert.deepEqual(runs.map((r) => [r.fileName, r.mode, r.source, r.uploadedBy, r.status, r.domainId]),
        [['check.zip', 'validate', 'web', DISTRICT_ADMIN, 'queued', f.domains.district.id], ['apply.zip', 'apply', 'web', DISTRICT_ADMIN, 'queued', f.domains.district.id]]);
      const digest = createHash('sha256').update(zipBytes).digest('hex');
      for (const run of runs) {
        assert.ok(run.queuedPath);
        assert.ok(fs.readFileSync(run.queuedPath).equals(zipBytes), 'the queued file is the upload, byte for byte');
        assert.equal(run.sha256, digest);
        assert.equal(run.sizeBytes, zipBytes.length);
      }
      assert.equal(runs[0].uploadPath, path.join(f.dropRoot, 'district', 'validate', 'check.zip'));
      assert.equal(runs[1].uploadPath, path.join(f.dropRoot, 'district', 'apply.zip'));
      assert.deepEqual(filesUnder(f.dropRoot), [], 'no temp file or upload is left in the drop folder');
      const history = await agent.get('/domains/district');
      assert.match(history.body, new RegExp(`<tr data-run="${ids[0]}" data-status="queued"><td><a href="/runs/${ids[0]}">#${ids[0]}</a>`));
      assert.match(history.body, /<span class="status queued">queued<\/span>/);
      assert.match(history.body, /data-live-src="\/domains\/district\/live\?since=\d+"/, 'the queued runs are followed live');
    });

    it('takes the validation checkbox before the file too, and an upload to a subdomain lands in its folder', async () => {
      const res = await pagePost(agent, '/domains/school-a', [{ name: 'validateOnly', value: 'on' }, file(zipBytes, 'school.zip')]);
      assert.equal(res.statusCode, 303, res.body);
      const run = await f.ds.getRepository(SyncRun).findOneByOrFail({ id: Number(String(res.headers.location).split('/').pop()) });
      assert.deepEqual([run.domainId, run.mode, run.uploadPath], [f.domains.school.id, 'validate', path.join(f.dropRoot, 'school-a', 'validate', 'school.zip')]);
    });

    it('API: 202 with the run id; mode as a query parameter or a form field; 400 for a bad mode or name; 401 without a token', async () => {
      const token = await tokenOf(f, DISTRICT_ADMIN);
      const plain = await apiPost(f, token, '/api/v1/domains/district/uploads', [file(zipBytes, 'api.zip')]);
      assert.equal(plain.statusCode, 202, plain.body);
      const { runId } = plain.json() as { runId: number };
      const run = await f.ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
      assert.deepEqual([run.source, run.uploadedBy, run.mode, run.forced], ['api', DISTRICT_ADMIN, 'apply', false]);
      assert.ok(fs.readFileSync(run.queuedPath as string).equals(zipBytes));

      const byQuery = await apiPost(f, token, '/api/v1/domains/district/uploads?mode=validate', [file(zipBytes, 'q.zip')]);
      assert.equal(byQuery.statusCode, 202, byQuery.body);
      const byField = await apiPost(f, token, '/api/v1/domains/district/uploads', [file(zipBytes, 'field.zip'), { name: 'mode', value: 'force' }]);
      assert.equal(byField.statusCode, 202, byField.body);
      const [q, fld] = await Promise.all([byQuery, byField].map((r) => f.ds.getRepository(SyncRun).findOneByOrFail({ id: (r.json() as { runId: number }).runId })));
      assert.deepEqual([q.mode, q.forced, fld.mode, fld.forced], ['validate', false, 'apply', true]);

      const queuedBefore = f.queued.length;
      const badQuery = await apiPost(f, token, '/api/v1/domains/district/uploads?mode=later', [file(zipBytes)]);
      assert.equal(badQuery.statusCode, 400);
      assert.match(String((badQuery.json() as { message: string }).message), /mode/);
      const badField = await apiPost(f, token, '/api/v1/domains/district/uploads', [file(zipBytes), { name: 'mode', value: 'later' }]);
      assert.equal(badField.statusCode, 400);
      assert.deepEqual(badField.json(), { error: 'bad_mode', message: 'mode "later" is not one of sync, validate, force' });
      for (const [name, rule] of [['roster.csv', /only \.zip files/], ['.hidden.zip', /no hidden names/], ['../up.zip', /path parts/], ['dir\\x.zip', /path parts/]] as const) {
        const res = await apiPost(f, token, '/api/v1/domains/district/uploads', [file(zipBytes, name)]);
        assert.equal(res.statusCode, 400, name);
        const body = res.json() as { error: string; message: string };
        assert.equal(body.error, 'bad_name', name);
        assert.match(body.message, rule, name);
      }
      const wrongField = await apiPost(f, token, '/api/v1/domains/district/uploads', [{ name: 'zip', filename: 'x.zip', content: zipBytes }]);
      assert.equal(wrongField.statusCode, 400);
      assert.match((wrongField.json() as { message: string }).message, /field "file"/);
      const none = await apiPost(f, token, '/api/v1/domains/district/uploads', [{ name: 'mode', value: 'sync' }]);
      assert.equal(none.statusCode, 400);
      assert.equal((none.json() as { error: string }).error, 'no_file');
      const notMultipart = await f.app.inject({ method: 'POST', url: '/api/v1/domains/district/uploads', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/zip' }, payload: zipBytes });
      assert.ok([400, 415].includes(notMultipart.statusCode), String(notMultipart.statusCode));
      const anonymous = await apiPost(f, null, '/api/v1/domains/district/uploads', [file(zipBytes)]);
      assert.equal(anonymous.statusCode, 401);
      const badToken = await apiPost(f, 'rd_not-a-token', '/api/v1/domains/district/uploads', [file(zipBytes)]);
      assert.equal(badToken.statusCode, 401);
      assert.equal(f.queued.length, queuedBefore, 'none of the refused uploads was queued');
      assert.deepEqual(filesUnder(f.dropRoot), [], 'and none left anything in the drop folder');
    });

    it('another domain\'s administrator gets 404 for the page, the form\'s POST and the API upload; a subdomain\'s admin sees theirs only', async () => {
      const other = await signedIn(f.app, OTHER_ADMIN);
      const queuedBefore = f.queued.length;
      assert.equal((await other.get('/domains/district')).statusCode, 404);
      assert.equal((await other.get('/domains/district/live')).statusCode, 404);
      assert.equal((await other.get('/domains/nowhere')).statusCode, 404);
      assert.equal((await pagePost(other, '/domains/district', [file(zipBytes)])).statusCode, 404);
      const otherToken = await tokenOf(f, OTHER_ADMIN);
      const api = await apiPost(f, otherToken, '/api/v1/domains/district/uploads', [file(zipBytes)]);
      assert.equal(api.statusCode, 404);
      assert.deepEqual(api.json(), { error: 'not_found', message: 'no such resource' });

      const school = await signedIn(f.app, SCHOOL_ADMIN);
      assert.equal((await school.get('/domains/school-a')).statusCode, 200);
      assert.equal((await school.get('/domains/district')).statusCode, 404, 'not the parent');
      assert.equal((await pagePost(school, '/domains/district', [file(zipBytes)])).statusCode, 404);
      const schoolToken = await tokenOf(f, SCHOOL_ADMIN);
      assert.equal((await apiPost(f, schoolToken, '/api/v1/domains/district/uploads', [file(zipBytes)])).statusCode, 404);
      assert.equal(f.queued.length, queuedBefore, 'nothing was queued');
      assert.deepEqual(filesUnder(f.dropRoot), []);
    });

    it('documents the upload in the OpenAPI document from the schema the route declares', async () => {
      const doc = (await f.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, {
        requestBody?: { content: Record<string, { schema: { required: string[] } }> }; parameters: Array<{ name: string; in: string; schema: { enum?: string[] } }>; responses: Record<string, unknown>;
      }>> };
      const op = doc.paths['/api/v1/domains/{userspace}/uploads']?.post;
      assert.ok(op, 'the route is documented');
      assert.deepEqual(op.requestBody?.content['multipart/form-data'].schema.required, ['file']);
      assert.deepEqual(op.parameters.find((p) => p.name === 'mode' && p.in === 'query')?.schema.enum, ['sync', 'validate', 'force']);
      assert.deepEqual(Object.keys(op.responses).sort(), ['202', '400', '401', '404', '413', '500', '503', '507']);
    });

    it('refuses an upload without the CSRF token (403) and stores nothing', async () => {
      const queuedBefore = f.queued.length;
      const none = await pagePost(agent, '/domains/district', [file(zipBytes, 'csrf.zip')], null);
      assert.equal(none.statusCode, 403);
      const wrong = await pagePost(agent, '/domains/district', [file(zipBytes, 'csrf.zip')], 'x'.repeat(agent.csrf.length));
      assert.equal(wrong.statusCode, 403);
      assert.equal(f.queued.length, queuedBefore);
      assert.deepEqual(filesUnder(f.dropRoot), []);
      assert.equal(await f.ds.getRepository(SyncRun).countBy({ fileName: 'csrf.zip' }), 0);
    });
  });
}

describe('upload size cap and aborted uploads (real HTTPS)', () => {
  let f: WebFixture;
  let server: WebServer & { url: string };
  let log: MemoryLogger;
  let agent: Agent;
  before(async () => {
    f = await webFixture();
    log = memoryLogger();
    f.ctx.logger = log.logger;
    server = await startHttps(f.ctx, f.dataDir);
    agent = await signedIn(f.app, DISTRICT_ADMIN);
  });
  afterEach(() => { f.ctx.maxUploadBytes = 64 * 1024 * 1024; });
  after(async () => { await server.stop(); await f.close(); });

  it('answers 413 past the cap (page and API) and leaves nothing on disk; exactly the cap is taken', async () => {
    f.ctx.maxUploadBytes = 64 * 1024;
    const big = randomBytes(64 * 1024 + 1);
    const page = await pagePost(agent, '/domains/district', [file(big, 'big.zip')]);
    assert.equal(page.statusCode, 413);
    assert.match(page.body, /Upload refused: the upload is larger than the limit of 65536 bytes \(64 KiB\); nothing was stored/);
    const token = await tokenOf(f, DISTRICT_ADMIN);
    const api = await apiPost(f, token, '/api/v1/domains/district/uploads', [file(big, 'big.zip')]);
    assert.equal(api.statusCode, 413);
    assert.equal((api.json() as { error: string }).error, 'too_large');
    assert.deepEqual(filesUnder(f.dropRoot), []);
    assert.equal(f.queued.length, 0);
    const exact = await apiPost(f, token, '/api/v1/domains/district/uploads', [file(big.subarray(0, 64 * 1024), 'exact.zip')]);
    assert.equal(exact.statusCode, 202, 'the cap itself is allowed');
  });

  it('answers 413 over real HTTPS for a 4 MB upload against a 1 MB cap, with nothing left behind', async () => {
    f.ctx.maxUploadBytes = 1 << 20;
    const token = await tokenOf(f, DISTRICT_ADMIN);
    const queuedBefore = f.queued.length;
    const { payload, contentType } = multipartBody([file(randomBytes(4 << 20), 'huge.zip')]);
    const res = await fetchInsecure(`${server.url}/api/v1/domains/district/uploads`, { authorization: `Bearer ${token}`, 'content-type': contentType }, payload);
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as { error: string }).error, 'too_large');
    assert.deepEqual(filesUnder(path.join(f.dropRoot, 'district')).filter((n) => !n.startsWith('exact')), []);
    assert.equal(f.queued.length, queuedBefore);
  });

  it('an upload aborted mid-way leaves nothing: the temp file appears while it streams and is gone after', async () => {
    const token = await tokenOf(f, DISTRICT_ADMIN);
    const queuedBefore = f.queued.length;
    const frame = multipartFrame('file', 'aborted.zip');
    const req = https.request(`${server.url}/api/v1/domains/district/uploads`, {
      method: 'POST', rejectUnauthorized: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': frame.contentType, 'content-length': String(frame.head.length + (8 << 20) + frame.tail.length) },
    });
    req.on('error', () => undefined); // we destroy it
    req.write(frame.head);
    req.write(randomBytes(1 << 20));
    const districtDir = path.join(f.dropRoot, 'district');
    await waitUntil(() => filesUnder(districtDir).some((n) => /^\.web-.*\.part$/.test(n)), 'the temp file to appear');
    req.destroy();
    await log.waitFor((e) => e.message === 'web upload refused' && e.code === 'aborted', 10_000);
    assert.deepEqual(filesUnder(districtDir).filter((n) => !n.startsWith('exact')), [], 'the partial temp file is deleted');
    assert.equal(f.queued.length, queuedBefore);
  });

  it('a real HTTPS upload through the page is queued byte-identical', async () => {
    const frame = multipartBody([{ name: 'validateOnly', value: 'on' }, file(zipBytes, 'https.zip')]);
    const res = await fetchInsecure(`${server.url}/domains/district?_csrf=${encodeURIComponent(agent.csrf)}`, { cookie: agent.cookieHeader, 'content-type': frame.contentType }, frame.payload);
    assert.equal(res.status, 303, res.body);
    const run = await f.ds.getRepository(SyncRun).findOneByOrFail({ id: Number(String(res.headers.location).split('/').pop()) });
    assert.deepEqual([run.fileName, run.mode, run.source], ['https.zip', 'validate', 'web']);
    assert.ok(fs.readFileSync(run.queuedPath as string).equals(zipBytes));
  });
});

function fetchInsecure(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', rejectUnauthorized: false, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls a condition on the file system (which has no event for "a file appeared" here), with a hang guard. */
async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('an upload onto a full disk', () => {
  const disk = tempDir('rosterdrop-web-diskfull-');
  let f: WebFixture;
  let mounted = false;
  before(async () => {
    // a real 1 MiB file system (tmpfs, root only), as tests/ftps/disk-full.test.ts
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', disk.dir]);
    mounted = r.status === 0;
    if (!mounted && process.env.CI) throw new Error(`cannot mount a tmpfs for the full-disk test (CI needs root): ${r.stderr.toString()}`);
    f = await webFixture();
  });
  after(async () => {
    await f.close();
    if (mounted) spawnSync('umount', [disk.dir]);
    disk.cleanup();
  });

  it('answers 507 with nothing left when the disk fills up mid-upload', async (t) => {
    if (!mounted) return t.skip('mounting a tmpfs needs root');
    f.ctx.dropRoot = disk.dir; // where the service writes (the intake is not reached)
    const agent = await signedIn(f.app, DISTRICT_ADMIN);
    const full = await pagePost(agent, '/domains/district', [file(randomBytes(2 << 20), 'full.zip')]);
    assert.equal(full.statusCode, 507);
    assert.match(full.body, /not enough storage space on the server for this upload; nothing was stored/);
    assert.deepEqual(filesUnder(disk.dir), [], 'no temp file and no upload on the full disk');
    assert.equal(f.queued.length, 0);
  });
});
