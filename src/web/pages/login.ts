/**
 * Sign-in with `userspace/username` and the LMS password, administrators only, checked exactly as
 * an FTPS login (LmsAuthenticator), with one answer for every refusal after the same delay. The
 * form carries a CSRF token bound to a cookie (there is no session yet), so another site cannot
 * sign a browser in to an account of its choosing.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { normalizeIp } from '../../ftps/admission';
import { newToken } from '../../util/secret-token';
import { SESSION_COOKIE } from '../auth/sessions';
import type { WebContext } from '../context';
import { html } from '../html';
import { notice, page } from '../layout';
import { sameToken } from '../auth/csrf';

export const LOGIN_CSRF_COOKIE = 'rd_login_csrf';
export const SIGN_IN_REFUSED = 'Sign-in failed: wrong login or password, or this account may not sign in here.';
export const SIGN_IN_LOCKED = 'Too many failed sign-ins. Wait a while and try again.';

const COOKIE = { path: '/', httpOnly: true, secure: true, sameSite: 'lax' } as const;

interface LoginBody { login?: string; password?: string; _csrf?: string; next?: string }

export function registerLogin(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Querystring: { next?: string } }>('/login', { config: { public: true } }, async (req, reply) => {
    const session = await ctx.sessions.find(req.cookies[SESSION_COOKIE]);
    if (session) return reply.redirect(safeNext(req.query.next), 303);
    return loginForm(reply, safeNext(req.query.next), null, 200);
  });

  app.post<{ Body: LoginBody }>('/login', { config: { public: true } }, async (req, reply) => {
    const body = req.body ?? {};
    const next = safeNext(body.next);
    if (!sameToken(body._csrf, req.cookies[LOGIN_CSRF_COOKIE])) {
      return loginForm(reply, next, 'This form had expired. Sign in again.', 403);
    }
    const login = (body.login ?? '').trim();
    const password = body.password ?? '';
    const ip = normalizeIp(req.ip);
    if (ctx.guard.locked(ip, login)) {
      ctx.logger.warn('web sign-in refused: locked out', { ip, login });
      return loginForm(reply, next, SIGN_IN_LOCKED, 429);
    }
    const grant = login && password ? await ctx.authenticator.authenticate(login, password) : null;
    if (!grant) {
      ctx.guard.recordFailure(ip, login);
      ctx.logger.warn('web sign-in failed', { ip, login });
      await delay(ctx.login.failureDelayMs);
      return loginForm(reply, next, SIGN_IN_REFUSED, 401);
    }
    // a new token at every sign-in: a session id planted before it is worth nothing after
    await ctx.sessions.end(req.cookies[SESSION_COOKIE]);
    const { token } = await ctx.sessions.create(grant.userId, grant.login, ip);
    ctx.logger.info('web sign-in', { ip, login: grant.login });
    reply.setCookie(SESSION_COOKIE, token, COOKIE).clearCookie(LOGIN_CSRF_COOKIE, { path: '/' });
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (req, reply) => {
    await ctx.sessions.end(req.cookies[SESSION_COOKIE]);
    return reply.clearCookie(SESSION_COOKIE, { path: '/' }).redirect('/login', 303);
  });
}

function loginForm(reply: FastifyReply, next: string, error: string | null, status: number): FastifyReply {
  const csrf = newToken();
  reply.setCookie(LOGIN_CSRF_COOKIE, csrf, COOKIE);
  return reply.code(status).type('text/html; charset=utf-8').send(page({ title: 'Sign in', principal: null }, html`
${notice('error', error)}
<form method="post" action="/login" class="card narrow">
  <input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="next" value="${next}">
  <label for="login">Login</label>
  <input id="login" name="login" autocomplete="username" placeholder="userspace/username" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
  <p class="hint">Your LMS administrator login, as for FTPS: <code>userspace/username</code>.</p>
</form>`));
}

/** Only a path on this site: `next=//evil.example` or `https://…` would make the sign-in an open redirect. */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : '/';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

