/**
 * Sign-in, sessions and CSRF of the web admin (inject() on a real database): who gets in, what
 * the cookies are, one answer for every refusal, lockouts per IP and per account.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { User, WebSession } from '../../src/db/entities';
import { PrincipalCache } from '../../src/web/auth/principal';
import { SESSION_COOKIE, SessionStore } from '../../src/web/auth/sessions';
import { SIGN_IN_LOCKED, SIGN_IN_REFUSED } from '../../src/web/pages/login';
import { Agent, DISTRICT_ADMIN, PASSWORD, signedIn, TEACHER, webFixture, type WebFixture } from '../helpers/web';

describe('web sign-in', () => {
  let f: WebFixture;
  before(async () => { f = await webFixture({ login: { banAfterFailures: 50 } }); });
  after(async () => { await f.close(); });

  it('shows a sign-in form with the labels scripts use, and sends a signed-out visitor there', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/domains/district' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/login?next=%2Fdomains%2Fdistrict');
    const form = await f.app.inject({ method: 'GET', url: '/login' });
    assert.match(form.body, /<label for="login">Login<\/label>/);
    assert.match(form.body, /<label for="password">Password<\/label>/);
    assert.match(form.body, /<button type="submit">Sign in<\/button>/);
    assert.match(String(form.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(form.body, /<script>|<script [^>]*>[^<]/, 'no inline script');
  });

  it('signs an administrator in with a Secure, HttpOnly, SameSite=Lax session cookie kept as a hash only', async () => {
    const agent = new Agent(f.app);
    await agent.get('/login?next=/domains/district');
    const res = await agent.post('/login', { login: DISTRICT_ADMIN, password: PASSWORD, next: '/domains/district' });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/domains/district');
    const cookie = (res.cookies as Array<{ name: string; value: string; secure?: boolean; httpOnly?: boolean; sameSite?: string }>).find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie, 'a session cookie is set');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    const rows = await f.ds.getRepository(WebSession).find();
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((r) => r.tokenHash !== cookie.value), 'the token itself is not stored');
    assert.equal((await agent.get('/')).statusCode, 200);
  });

  it('gives one answer to a wrong password, an unknown user, a non-administrator and a deactivated administrator', async () => {
    const deactivated = await signedIn(f.app, 'other/admin');
    await f.ds.getRepository(User).update({ username: 'admin', domainId: f.domains.other.id }, { status: 'inactive' });
    const answers: string[] = [];
    for (const [login, password] of [[DISTRICT_ADMIN, 'wrong password'], ['district/nobody', PASSWORD], [TEACHER, PASSWORD], ['other/admin', PASSWORD], ['nodomain/admin', PASSWORD]]) {
      const agent = new Agent(f.app);
      await agent.get('/login');
      const res = await agent.post('/login', { login, password });
      assert.equal(res.statusCode, 401, login);
      answers.push(res.body.replace(/value="[^"]*"/g, ''));
    }
    assert.equal(new Set(answers).size, 1, 'every refusal reads the same');
    assert.ok(answers[0].includes(SIGN_IN_REFUSED.replace(/,/g, ',')));
    // a session of an administrator deactivated since ends at its next request
    assert.equal((await deactivated.get('/')).statusCode, 303);
    await f.ds.getRepository(User).update({ username: 'admin', domainId: f.domains.other.id }, { status: 'active' });
  });

  it('refuses a sign-in without the form\'s CSRF token (login CSRF)', async () => {
    const res = await f.app.inject({
      method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ login: DISTRICT_ADMIN, password: PASSWORD, _csrf: 'made-up' }).toString(),
    });
    assert.equal(res.statusCode, 403);
    assert.ok(!(res.cookies as Array<{ name: string }>).some((c) => c.name === SESSION_COOKIE));
  });

  it('refuses a state-changing post without the session\'s CSRF token, and accepts it with', async () => {
    const agent = await signedIn(f.app, DISTRICT_ADMIN);
    const forged = await agent.request('POST', '/logout', { _csrf: 'not-the-token' });
    assert.equal(forged.statusCode, 403);
    const none = await agent.request('POST', '/logout', {});
    assert.equal(none.statusCode, 403);
    assert.equal((await agent.get('/')).statusCode, 200, 'still signed in');
    const out = await agent.post('/logout');
    assert.equal(out.statusCode, 303);
    assert.equal((await agent.get('/')).statusCode, 303, 'signed out: the session is gone');
  });

  it('never redirects off the site after sign-in', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const agent = new Agent(f.app);
      await agent.get('/login');
      const res = await agent.post('/login', { login: DISTRICT_ADMIN, password: PASSWORD, next });
      assert.equal(res.headers.location, '/', next);
    }
  });
});

describe('web sign-in lockouts', () => {
  it('locks an account after the FTPS ban threshold of failures, from any IP, before checking the password', async () => {
    // behind a proxy, so that X-Forwarded-For gives each guess its own IP
    const f = await webFixture({ login: { banAfterFailures: 3 }, env: { ROSTERDROP_HTTP_TRUST_PROXY: 'true' } });
    try {
      for (let i = 0; i < 3; i++) {
        const agent = new Agent(f.app);
        await agent.get('/login');
        const res = await agent.request('POST', '/login', { _csrf: agent.csrf, login: DISTRICT_ADMIN, password: `guess ${i}` }, { 'x-forwarded-for': `10.0.0.${i}` });
        assert.equal(res.statusCode, 401);
      }
      const agent = new Agent(f.app);
      await agent.get('/login');
      const res = await agent.request('POST', '/login', { _csrf: agent.csrf, login: DISTRICT_ADMIN, password: PASSWORD }, { 'x-forwarded-for': '10.0.1.1' });
      assert.equal(res.statusCode, 429, 'even the right password from a fresh IP is refused while locked');
      assert.ok(res.body.includes(SIGN_IN_LOCKED));
      const otherAccount = new Agent(f.app);
      await otherAccount.get('/login');
      const ok = await otherAccount.request('POST', '/login', { _csrf: otherAccount.csrf, login: 'school-a/admin', password: PASSWORD }, { 'x-forwarded-for': '10.0.1.1' });
      assert.equal(ok.statusCode, 303, 'another account is not locked');
    } finally {
      await f.close();
    }
  });

  it('bans an IP that guesses at many accounts', async () => {
    const f = await webFixture({ login: { banAfterFailures: 3 } });
    try {
      for (const login of ['district/a', 'district/b', 'district/c']) {
        const agent = new Agent(f.app);
        await agent.get('/login');
        assert.equal((await agent.post('/login', { login, password: 'x' })).statusCode, 401);
      }
      assert.equal((await new Agent(f.app).signIn(DISTRICT_ADMIN)).statusCode, 429);
    } finally {
      await f.close();
    }
  });
});

describe('web session last use', () => {
  it('is kept in memory on the request path, counts for the idle limit, and is written only when writing is allowed', async () => {
    const f = await webFixture();
    try {
      let t = Date.parse('2026-12-01T08:00:00Z');
      let syncing = true;
      const user = await f.ds.getRepository(User).findOneByOrFail({ domainId: f.domains.district.id, username: 'admin' });
      const store = new SessionStore(f.ds, { idleMs: 60 * 60_000, maxMs: 12 * 3_600_000 }, () => t, () => !syncing);
      const { token, session } = await store.create(user.id, DISTRICT_ADMIN, null);
      t += 50 * 60_000;
      assert.ok(await store.find(token), 'used after 50 minutes');
      const row = () => f.ds.getRepository(WebSession).findOneByOrFail({ tokenHash: session.tokenHash });
      assert.equal((await row()).lastSeenAt.getTime(), session.lastSeenAt.getTime(), 'nothing written on the request path');
      t += 50 * 60_000;
      assert.ok(await store.find(token), 'idle for 50 minutes only: the use in memory counts');
      await store.touches.flush();
      assert.equal((await row()).lastSeenAt.getTime(), session.lastSeenAt.getTime(), 'not written while a sync holds the lock');
      syncing = false;
      await store.touches.flush();
      assert.equal((await row()).lastSeenAt.getTime(), t, 'written once allowed');
      t += 61 * 60_000;
      assert.equal(await store.find(token), null, 'idle past the limit');
    } finally {
      await f.close();
    }
  });
});

describe('API principals cache', () => {
  it('answers from memory within its time, and reads a taken-away role after it', async () => {
    const f = await webFixture();
    try {
      let t = 0;
      const cache = new PrincipalCache(f.ds, [], 2000, () => t);
      const user = await f.ds.getRepository(User).findOneByOrFail({ domainId: f.domains.district.id, username: 'admin' });
      assert.deepEqual((await cache.get(user.id))?.domains, ['district', 'school-a']);
      await f.ds.getRepository(User).update({ id: user.id }, { status: 'inactive' });
      t = 1999;
      assert.ok(await cache.get(user.id), 'within 2 s: the cached principal');
      t = 2000;
      assert.equal(await cache.get(user.id), null, 'after: read again, no longer an active administrator');
    } finally {
      await f.close();
    }
  });
});
