/**
 * The settings page and API (inject() on both databases): every setting labelled with an input of
 * its kind, all-or-nothing saves with the error next to the field, audit rows and history, CSRF,
 * and 404 for other tenants on the page, its POST and the API.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SettingsChange, SyncSettingsRow, User } from '../../src/db/entities';
import { loadSettings } from '../../src/db/settings-store';
import { SETTING_LABELS } from '../../src/services/setting-labels';
import { DEFAULT_SETTINGS, type SyncSettings } from '../../src/sync/settings';
import { createApiToken } from '../../src/services/api-tokens';
import { databaseKinds } from '../helpers/db';
import { DISTRICT_ADMIN, OTHER_ADMIN, SCHOOL_ADMIN, signedIn, webFixture, type Agent, type WebFixture } from '../helpers/web';

/** The form as the page sends it with nothing changed (checkboxes unticked are left out). */
function formOf(s: SyncSettings, patch: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'boolean') { if (v) out[k] = 'true'; continue; }
    out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  for (const [k, v] of Object.entries(patch)) { if (v === '') delete out[k]; else out[k] = v; }
  return out;
}

for (const kind of databaseKinds()) {
  describe(`settings page and API (${kind})`, () => {
    let f: WebFixture;
    let admin: Agent;
    let token: string;
    let otherToken: string;
    const path = '/domains/district/settings';
    const api = '/api/v1/domains/district/settings';
    before(async () => {
      f = await webFixture({ kind });
      admin = await signedIn(f.app, DISTRICT_ADMIN);
      const userId = async (domainId: number) => (await f.ds.getRepository(User).findOneByOrFail({ domainId, username: 'admin' })).id;
      token = (await createApiToken(f.ds, await userId(f.domains.district.id), 'script')).token;
      otherToken = (await createApiToken(f.ds, await userId(f.domains.other.id), 'script')).token;
    });
    beforeEach(async () => {
      await f.ds.getRepository(SettingsChange).createQueryBuilder().delete().execute();
      await f.ds.getRepository(SyncSettingsRow).createQueryBuilder().delete().execute();
    });
    after(async () => { await f.close(); });

    it('labels every setting in words with its description and an input fit for its kind, and a Save button', async () => {
      const res = await admin.get(path);
      assert.equal(res.statusCode, 200);
      for (const [key, label] of Object.entries(SETTING_LABELS)) {
        assert.match(res.body, new RegExp(`<label for="s-${key}">${label.replace(/[()%]/g, '\\$&')}</label>`), key);
      }
      assert.match(res.body, /<select id="s-unsharedUsers" name="unsharedUsers"[^>]*><option value="nothing" selected>nothing<\/option><option value="inactive" >inactive<\/option><option value="delete" >delete<\/option>/);
      assert.match(res.body, /<input type="checkbox" id="s-ignoreSisDates" name="ignoreSisDates" value="true" /);
      assert.match(res.body, /<input type="number" id="s-safetyThresholdPercent" name="safetyThresholdPercent" value="10" min="0" max="100"/);
      assert.match(res.body, /<textarea id="s-notificationEmails" name="notificationEmails"/);
      assert.match(res.body, /managed users missing from the file: nothing \| inactive \| delete/);
      assert.match(res.body, /<button type="submit">Save<\/button>/);
      assert.match(res.body, /No setting has been changed yet/);
    });

    it('saves a valid form (303 with a notice), one audit row per changed setting, shown in the history', async () => {
      await admin.get(path);
      const res = await admin.post(path, formOf({ ...DEFAULT_SETTINGS }, { unsharedUsers: 'inactive', ignoreSisDates: 'true', notificationEmails: 'a@x.org,  b@y.org' }));
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `${path}?saved=3`);
      assert.deepEqual(await loadSettings(f.ds, f.domains.district.id), { ...DEFAULT_SETTINGS, unsharedUsers: 'inactive', ignoreSisDates: true, notificationEmails: ['a@x.org', 'b@y.org'] });
      const rows = await f.ds.getRepository(SettingsChange).find({ order: { id: 'ASC' } });
      assert.deepEqual(rows.map((r) => [r.setting, r.changedBy, r.via, r.oldValue, r.newValue]), [
        ['notificationEmails', 'district/admin', 'web', '[]', '["a@x.org","b@y.org"]'],
        ['ignoreSisDates', 'district/admin', 'web', 'false', 'true'],
        ['unsharedUsers', 'district/admin', 'web', '"nothing"', '"inactive"'],
      ]);
      const shown = await admin.get(res.headers.location as string);
      assert.match(shown.body, /Saved: 3 settings changed\./);
      assert.match(shown.body, /<td>district\/admin<\/td><td>web<\/td>\s*<td>Unshared users<\/td><td>nothing → inactive<\/td>/);
      assert.match(shown.body, /<td>Notification emails<\/td><td>\(none\) → a@x\.org, b@y\.org<\/td>/);
      assert.match(shown.body, /<input type="checkbox" id="s-ignoreSisDates" name="ignoreSisDates" value="true" checked/);
      // unticking the box saves false
      const untick = await admin.post(path, formOf(await loadSettings(f.ds, f.domains.district.id), { ignoreSisDates: '' }));
      assert.equal(untick.headers.location, `${path}?saved=1`);
      assert.equal((await loadSettings(f.ds, f.domains.district.id)).ignoreSisDates, false);
    });

    it('saves nothing when a field is bad: 422 with the typed values and the error next to each bad field', async () => {
      await admin.get(path);
      const res = await admin.post(path, formOf({ ...DEFAULT_SETTINGS }, { unsharedUsers: 'delete', safetyThresholdPercent: '250', timeZone: 'Mars/Olympus' }));
      assert.equal(res.statusCode, 422);
      assert.match(res.body, /Nothing was saved: 2 settings need fixing/);
      assert.match(res.body, /id="s-safetyThresholdPercent" name="safetyThresholdPercent" value="250"[^>]*aria-invalid="true">[\s\S]{0,400}<p class="field-error" id="s-safetyThresholdPercent-error" role="alert">safetyThresholdPercent must be a whole number from 0 to 100<\/p>/);
      assert.match(res.body, /<p class="field-error" id="s-timeZone-error" role="alert">timeZone must be an IANA time zone/);
      assert.match(res.body, /<option value="delete" selected>delete<\/option>/, 'the good field keeps what was typed');
      assert.deepEqual(await loadSettings(f.ds, f.domains.district.id), { ...DEFAULT_SETTINGS }, 'the good field was not saved either');
      assert.equal(await f.ds.getRepository(SettingsChange).count(), 0);
    });

    it('refuses a POST without the session\'s CSRF token and saves nothing', async () => {
      await admin.get(path);
      const res = await admin.request('POST', path, formOf({ ...DEFAULT_SETTINGS }, { unsharedUsers: 'delete' }));
      assert.equal(res.statusCode, 403);
      const forged = await admin.request('POST', path, { ...formOf({ ...DEFAULT_SETTINGS }, { unsharedUsers: 'delete' }), _csrf: 'forged' });
      assert.equal(forged.statusCode, 403);
      assert.equal((await loadSettings(f.ds, f.domains.district.id)).unsharedUsers, 'nothing');
    });

    it('answers 404 to another tenant on the page, its POST and the API, and saves nothing', async () => {
      const other = await signedIn(f.app, OTHER_ADMIN);
      const school = await signedIn(f.app, SCHOOL_ADMIN);
      const none = await other.get('/domains/nowhere/settings');
      assert.equal(none.statusCode, 404);
      for (const agent of [other, school]) {
        assert.equal((await agent.get(path)).statusCode, 404);
        const post = await agent.post(path, formOf({ ...DEFAULT_SETTINGS }, { unsharedUsers: 'delete' }));
        assert.equal(post.statusCode, 404);
      }
      assert.equal((await school.get('/domains/school-a/settings')).statusCode, 200);
      assert.equal((await admin.get('/domains/school-a/settings')).statusCode, 200, 'a parent\'s admin sees the child');
      const get = await f.app.inject({ method: 'GET', url: api, headers: { authorization: `Bearer ${otherToken}` } });
      assert.equal(get.statusCode, 404);
      const patch = await f.app.inject({ method: 'PATCH', url: api, headers: { authorization: `Bearer ${otherToken}` }, payload: { unsharedUsers: 'delete' } });
      assert.equal(patch.statusCode, 404);
      assert.deepEqual(patch.json(), (await f.app.inject({ method: 'PATCH', url: '/api/v1/domains/nowhere/settings', headers: { authorization: `Bearer ${otherToken}` }, payload: {} })).json());
      assert.equal((await loadSettings(f.ds, f.domains.district.id)).unsharedUsers, 'nothing');
      assert.equal(await f.ds.getRepository(SettingsChange).count(), 0);
    });

    it('API: GET the settings with their definitions; PATCH a partial object, audited via api', async () => {
      const auth = { authorization: `Bearer ${token}` };
      const got = await f.app.inject({ method: 'GET', url: api, headers: auth });
      assert.equal(got.statusCode, 200);
      const body = got.json() as { domain: string; settings: SyncSettings; definitions: Array<{ key: string; label: string; kind: string; values?: string[] }> };
      assert.equal(body.domain, 'district');
      assert.deepEqual(body.settings, { ...DEFAULT_SETTINGS });
      assert.deepEqual(body.definitions.find((d) => d.key === 'unsharedUsers'), { key: 'unsharedUsers', label: 'Unshared users', description: body.definitions.find((d) => d.key === 'unsharedUsers')?.['description' as 'key'], kind: 'enum', values: ['nothing', 'inactive', 'delete'] });
      const patch = await f.app.inject({ method: 'PATCH', url: api, headers: auth, payload: { unsharedUsers: 'inactive', safetyThresholdPercent: 30, notificationEmails: ['ops@x.org'], ignoreSisDates: true } });
      assert.equal(patch.statusCode, 200, patch.body);
      const result = patch.json() as { settings: SyncSettings; changed: string[] };
      assert.deepEqual(result.changed, ['unsharedUsers', 'safetyThresholdPercent', 'notificationEmails', 'ignoreSisDates']);
      assert.deepEqual(result.settings, { ...DEFAULT_SETTINGS, unsharedUsers: 'inactive', safetyThresholdPercent: 30, notificationEmails: ['ops@x.org'], ignoreSisDates: true });
      const rows = await f.ds.getRepository(SettingsChange).find();
      assert.equal(rows.length, 4);
      assert.ok(rows.every((r) => r.via === 'api' && r.changedBy === 'district/admin'));
      // the session cookie may read, not change (changes need a token)
      assert.equal((await admin.request('GET', api)).statusCode, 200);
      const withCookie = await f.app.inject({ method: 'PATCH', url: api, headers: { cookie: admin.cookieHeader, 'x-csrf-token': admin.csrf }, payload: { unsharedUsers: 'delete' } });
      assert.equal(withCookie.statusCode, 401);
      assert.equal((await loadSettings(f.ds, f.domains.district.id)).unsharedUsers, 'inactive');
    });

    it('API: the OpenAPI document shows both routes with the schemas that validate them', async () => {
      const doc = (await f.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, { summary?: string; tags?: string[]; requestBody?: { content: Record<string, { schema: { properties: Record<string, { enum?: string[]; type?: string }> } }> }; responses: Record<string, unknown> }>> };
      const ops = doc.paths['/api/v1/domains/{userspace}/settings'];
      assert.ok(ops?.get && ops.patch, 'GET and PATCH are documented');
      assert.deepEqual(ops.patch.tags, ['settings']);
      const body = ops.patch.requestBody?.content['application/json'].schema;
      assert.deepEqual(body?.properties.unsharedUsers.enum, ['nothing', 'inactive', 'delete']);
      assert.equal(body?.properties.ignoreSisDates.type, 'boolean');
      assert.ok(ops.patch.responses['422'], 'the 422 is documented');
    });

    it('API: a bad PATCH answers 422 {error, message, field} naming the field and the rule, and saves nothing', async () => {
      const auth = { authorization: `Bearer ${token}` };
      const cases: Array<[Record<string, unknown> | string, string | null, RegExp]> = [
        [{ unsharedUsers: 'purge', studentRole: 'Learner' }, 'unsharedUsers', /unsharedUsers must be one of nothing, inactive, delete/],
        [{ safetyThresholdPercent: 12.5 }, 'safetyThresholdPercent', /safetyThresholdPercent must be a whole number/],
        [{ ignoreSisDates: 'maybe' }, 'ignoreSisDates', /ignoreSisDates must be true or false/],
        [{ timeZone: 'Mars/Olympus' }, 'timeZone', /IANA time zone/],
        [{ notificationEmails: ['not-an-address'] }, 'notificationEmails', /"not-an-address" is not an email address/],
        [{ unsharedPeople: 'delete' }, 'unsharedPeople', /unknown setting "unsharedPeople"; known: timeZone/],
        [{ studentRole: 'Administrator' }, 'studentRole', /never grants the Administrator role/],
        ['[1, 2]', null, /must be a JSON object of settings/],
      ];
      for (const [payload, field, message] of cases) {
        const res = await f.app.inject({ method: 'PATCH', url: api, headers: { ...auth, 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
        assert.equal(res.statusCode, 422, `${JSON.stringify(payload)}: ${res.body}`);
        const err = res.json() as { error: string; message: string; field: string | null };
        assert.equal(err.error, 'invalid_setting');
        assert.equal(err.field, field, JSON.stringify(payload));
        assert.match(err.message, message);
      }
      assert.deepEqual(await loadSettings(f.ds, f.domains.district.id), { ...DEFAULT_SETTINGS }, 'studentRole: Learner (valid) was not saved with the bad field');
      assert.equal(await f.ds.getRepository(SettingsChange).count(), 0);
    });
  });
}
