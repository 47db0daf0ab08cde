/**
 * The web admin and HTTP API (Fastify): HTTPS with the FTPS certificate, one hook that decides
 * who is asking (web session or API token) and one that checks CSRF tokens, security headers on
 * every answer, and the route modules, each a thin layer over the services.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { WebSession } from '../db/entities';
import type { TlsMaterial } from '../ftps/types';
import { apiPrincipal } from './auth/api-principal';
import { csrfOf, sameToken } from './auth/csrf';
import { principalOf, type Principal } from './auth/principal';
import { SESSION_COOKIE } from './auth/sessions';
import type { WebContext } from './context';
import { page } from './layout';
import { html } from './html';
import { registerAssets } from './assets/routes';
import { registerLogin } from './pages/login';
import { registerOverview } from './pages/overview';
import { registerRunPage } from './pages/run';
import { registerSettingsPage } from './pages/settings';
import { registerSettingsApi } from './api/settings';
import { registerTokens } from './pages/tokens';
import { registerOpenApi } from './api/openapi';
import { registerApiRuns } from './api/runs';
import { AJV_OPTIONS, schemaErrorFormatter } from './api/validation';
import { registerHealth } from './ops/health';
import { registerMetrics } from './ops/metrics';
import { registerDomainPage } from './pages/domain';
import { registerUploadApi } from './api/uploads';
import { registerHeldApi } from './api/held';

declare module 'fastify' {
  interface FastifyRequest {
    /** who is asking; null on public routes and before sign-in */
    principal: Principal | null;
    /** the web session of the cookie (null for API tokens) */
    webSession: WebSession | null;
  }
  interface FastifyContextConfig {
    /** no sign-in needed (sign-in page, assets, health) */
    public?: boolean;
  }
}

export const API_PREFIX = '/api/v1/';

export function isApi(req: FastifyRequest): boolean {
  return req.url.startsWith(API_PREFIX);
}

export interface WebServerOptions {
  /** null: plain HTTP (only behind a TLS-terminating proxy) */
  tls: (TlsMaterial & { minVersion?: 'TLSv1.2' | 'TLSv1.3' }) | null;
}

export async function buildWebApp(ctx: WebContext, opts: WebServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    trustProxy: ctx.settings.trustProxy,
    // Our own server, so the instance type is the same with and without TLS, and certificate reloads reach it.
    serverFactory: (handler) => opts.tls
      ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: opts.tls.minVersion ?? 'TLSv1.2' }, handler) as unknown as http.Server
      : http.createServer(handler),
    // a socket quiet for a minute is closed (as an FTPS transfer that stalls); a whole request may take
    // as long as a 2 GB upload needs, so no overall request timeout
    connectionTimeout: 60_000, keepAliveTimeout: 10_000, requestTimeout: 0,
    // unknown fields refused (not dropped), messages naming the field and the rule
    ajv: AJV_OPTIONS, schemaErrorFormatter,
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('webSession', null);
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(multipart, { limits: { fileSize: ctx.maxUploadBytes, files: 1, fields: 10, fieldSize: 4096, parts: 12 } });

  app.addHook('onRequest', async (req, reply) => {
    securityHeaders(reply, !!opts.tls || ctx.settings.trustProxy);
  });
  app.addHook('preHandler', async (req, reply) => {
    if (req.routeOptions.config.public) return;
    if (isApi(req)) return authenticateApi(ctx, req, reply);
    return authenticatePage(ctx, req, reply);
  });
  app.addHook('onResponse', async (req, reply) => {
    ctx.logger.http('http request', {
      method: req.method, path: req.url.split('?')[0], status: reply.statusCode,
      ms: Math.round(reply.elapsedTime), login: req.principal?.login,
    });
  });
  app.setNotFoundHandler(async (req, reply) => notFound(req, reply));
  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) ctx.logger.error('web request failed', { method: req.method, path: req.url.split('?')[0], error: err.message });
    const message = status === 500 ? 'Something went wrong on our side; the error is in the daemon log.' : err.message;
    if (isApi(req)) return reply.code(status).send({ error: err.code ?? 'error', message });
    return reply.code(status).type('text/html; charset=utf-8').send(page({ title: status === 500 ? 'Error' : 'Request refused', principal: req.principal, csrf: req.webSession?.csrfToken }, html`<p>${message}</p>`));
  });

  // first: it sees every /api/v1 route declared after it
  registerOpenApi(app);
  registerAssets(app);
  registerLogin(app, ctx);
  registerOverview(app, ctx);
  registerRunPage(app, ctx);
  registerSettingsPage(app, ctx);
  registerSettingsApi(app, ctx);
  registerTokens(app, ctx);
  registerApiRuns(app, ctx);
  registerHealth(app, ctx);
  registerMetrics(app, ctx);
  registerDomainPage(app, ctx);
  registerUploadApi(app, ctx);
  registerHeldApi(app, ctx);
  return app;
}

/** 404 for everything outside the asker's domains as for what does not exist: one answer. */
export function notFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isApi(req)) return reply.code(404).send({ error: 'not_found', message: 'no such resource' });
  return reply.code(404).type('text/html; charset=utf-8').send(page({ title: 'Not found', principal: req.principal, csrf: req.webSession?.csrfToken },
    html`<p>There is nothing here, or nothing you may see. <a href="/">Back to the overview</a></p>`));
}

function securityHeaders(reply: FastifyReply, secure: boolean): void {
  reply.header('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'same-origin');
  reply.header('X-Frame-Options', 'DENY');
  reply.header('Cache-Control', 'no-store');
  if (secure) reply.header('Strict-Transport-Security', 'max-age=31536000');
}

async function authenticateApi(ctx: WebContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const principal = await apiPrincipal(ctx, req);
  if (!principal) {
    await reply.code(401).header('WWW-Authenticate', 'Bearer realm="rosterdrop"').send({ error: 'unauthorized', message: 'a valid API token is required: Authorization: Bearer <token>' });
    return;
  }
  req.principal = principal;
}

async function authenticatePage(ctx: WebContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const session = await ctx.sessions.find(req.cookies[SESSION_COOKIE]);
  const principal = session ? await principalOf(ctx.ds, session.userId, ctx.settings.operators) : null;
  if (!session || !principal) {
    if (session) await ctx.sessions.end(req.cookies[SESSION_COOKIE]); // no longer an active administrator
    const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.url)}` : '';
    await reply.redirect(`/login${next}`, 303);
    return;
  }
  req.webSession = session;
  req.principal = principal;
  if (req.method !== 'GET' && req.method !== 'HEAD' && !sameToken(csrfOf(req), session.csrfToken)) {
    await reply.code(403).type('text/html; charset=utf-8').send(page({ title: 'Request refused', principal, csrf: session.csrfToken },
      html`<p>This form had expired or did not come from this site (missing or wrong CSRF token). Go back, reload the page and try again.</p>`));
  }
}

export interface WebServer {
  app: FastifyInstance;
  port: number;
  reloadTls(material: TlsMaterial): void;
  stop(): Promise<void>;
}

export async function startWebServer(ctx: WebContext, opts: WebServerOptions): Promise<WebServer> {
  const app = await buildWebApp(ctx, opts);
  await app.listen({ port: ctx.settings.port, host: ctx.settings.host });
  const port = (app.server.address() as AddressInfo).port;
  ctx.logger.info('web admin listening', { host: ctx.settings.host, port, tls: !!opts.tls, url: `${opts.tls ? 'https' : 'http'}://${ctx.settings.host === '0.0.0.0' ? 'localhost' : ctx.settings.host}:${port}/` });
  return {
    app, port,
    reloadTls(material) {
      if (opts.tls) (app.server as unknown as https.Server).setSecureContext({ cert: material.cert, key: material.key });
    },
    stop: () => app.close(),
  };
}
