/**
 * The web admin on a real database, for inject() tests and real HTTPS requests: domains
 * `district` (with `school-a` below it) and `other` (another tenant), their administrators, a
 * teacher who is no administrator, and a signed-in agent that keeps cookies and CSRF tokens.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { DataSource } from 'typeorm';
import { loadWebSettings, type WebSettings } from '../../src/config/web';
import { createDomain } from '../../src/db/domains';
import type { Domain } from '../../src/db/entities';
import { createUser } from '../../src/db/users';
import { Admission } from '../../src/ftps/admission';
import { LmsAuthenticator } from '../../src/ftps/lms-authenticator';
import type { LoginLimits } from '../../src/ftps/types';
import { loadTlsMaterial } from '../../src/ftps/tls-material';
import { UploadIntake } from '../../src/queue/intake';
import { LoginGuard } from '../../src/web/auth/login-guard';
import { PrincipalCache } from '../../src/web/auth/principal';
import { SessionStore } from '../../src/web/auth/sessions';
import { touchApiToken } from '../../src/services/api-tokens';
import { Touches } from '../../src/util/touches';
import type { WebContext } from '../../src/web/context';
import { buildWebApp, startWebServer, type WebServer } from '../../src/web/server';
import { loadDaemonSettings } from '../../src/config/daemon';
import { startDaemon, type Daemon } from '../../src/daemon/daemon';
import { freePort } from './daemon';
import { openTestDatabase, type DbKind, type TestDatabase } from './db';
import { memoryLogger } from './memory-logger';
import { tempDir } from './zip';

export const PASSWORD = 'correct horse battery';
export const DISTRICT_ADMIN = 'district/admin';
export const SCHOOL_ADMIN = 'school-a/admin';
export const OTHER_ADMIN = 'other/admin';
export const TEACHER = 'district/teacher';

export interface WebFixture {
  db: TestDatabase;
  ds: DataSource;
  ctx: WebContext;
  app: FastifyInstance;
  domains: { district: Domain; school: Domain; other: Domain };
  dropRoot: string;
  dataDir: string;
  queued: number[];
  close(): Promise<void>;
}

export interface WebFixtureOptions {
  kind?: DbKind;
  env?: NodeJS.ProcessEnv;
  login?: Partial<LoginLimits>;
}

export const TEST_LOGIN_LIMITS: LoginLimits = {
  maxFailuresPerConnection: 3, failureDelayMs: 0, banAfterFailures: 5, banWindowMs: 600_000, banDurationMs: 1_800_000, allowList: [],
};

export async function webFixture(opts: WebFixtureOptions = {}): Promise<WebFixture> {
  const db = await openTestDatabase(opts.kind ?? 'sqlite');
  const ds = db.ds;
  const district = await createDomain(ds, { userspace: 'district', name: 'District' });
  const school = await createDomain(ds, { userspace: 'school-a', name: 'School A', parentId: district.id });
  const other = await createDomain(ds, { userspace: 'other', name: 'Other district' });
  for (const d of [district, school, other]) await createUser(ds, { domainId: d.id, username: 'admin', admin: true, password: PASSWORD });
  await createUser(ds, { domainId: district.id, username: 'teacher', admin: false, password: PASSWORD });
  const dataDir = tempDir('rosterdrop-web-').dir;
  const dropRoot = path.join(dataDir, 'drop');
  fs.mkdirSync(dropRoot, { recursive: true });
  const ctx = webContext(ds, { dataDir, dropRoot, env: opts.env, login: opts.login });
  const queued: number[] = [];
  ctx.intake = new UploadIntake(ds, { dropRoot, queueDir: path.join(dataDir, 'queue') }, ctx.logger, (run) => queued.push(run.id));
  const app = await buildWebApp(ctx, { tls: null });
  return {
    db, ds, ctx, app, domains: { district, school, other }, dropRoot, dataDir, queued,
    async close() { await app.close(); await db.close(); fs.rmSync(dataDir, { recursive: true, force: true }); },
  };
}

export function webContext(ds: DataSource, o: { dataDir: string; dropRoot: string; env?: NodeJS.ProcessEnv; login?: Partial<LoginLimits> }): WebContext {
  const settings: WebSettings = { ...loadWebSettings(o.env ?? {}), host: '127.0.0.1', port: 0 };
  const login = { ...TEST_LOGIN_LIMITS, ...o.login };
  const logger = memoryLogger().logger;
  return {
    ds, settings, logger, login,
    authenticator: new LmsAuthenticator(ds),
    sessions: new SessionStore(ds, { idleMs: settings.sessionIdleMs, maxMs: settings.sessionMaxMs }),
    principals: new PrincipalCache(ds, settings.operators),
    tokenTouches: new Touches<number>((id, at) => touchApiToken(ds, id, at)),
    guard: new LoginGuard(login, new Admission({ maxConnections: 1000, maxConnectionsPerIp: 1000 }, login)),
    dropRoot: o.dropRoot, maxUploadBytes: 64 * 1024 * 1024,
    intake: new UploadIntake(ds, { dropRoot: o.dropRoot, queueDir: path.join(o.dataDir, 'queue') }, logger, () => undefined),
    wakeQueue: () => undefined,
    heldDays: 7,
    ftpsListening: () => true,
  };
}

/** The same context served over real HTTPS on a free loopback port, with a generated certificate. */
export async function startHttps(ctx: WebContext, dataDir: string): Promise<WebServer & { url: string }> {
  const tls = await loadTlsMaterial({ certFile: null, keyFile: null, dataDir });
  const server = await startWebServer(ctx, { tls });
  return Object.assign(server, { url: `https://127.0.0.1:${server.port}` });
}

/** A browser-like client over inject(): keeps cookies, knows the last page's CSRF token. */
export class Agent {
  private readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly app: FastifyInstance) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      method, url,
      headers: { cookie: this.cookieHeader, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers },
      payload: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const c of res.cookies as Array<{ name: string; value: string; expires?: Date; maxAge?: number }>) {
      const gone = c.value === '' || (c.expires && c.expires.getTime() <= Date.now()) || c.maxAge === 0;
      if (gone) this.cookies.delete(c.name); else this.cookies.set(c.name, c.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (token) this.csrf = token[1];
    return res;
  }

  get(url: string): Promise<LightMyRequestResponse> { return this.request('GET', url); }

  /** Posts a form with the CSRF token of the last page seen. */
  post(url: string, form: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.request('POST', url, { _csrf: this.csrf, ...form });
  }

  async signIn(login: string, password = PASSWORD): Promise<LightMyRequestResponse> {
    await this.get('/login');
    const res = await this.post('/login', { login, password });
    if (res.statusCode === 303) await this.get(res.headers.location as string);
    return res;
  }
}

export async function signedIn(app: FastifyInstance, login: string): Promise<Agent> {
  const agent = new Agent(app);
  const res = await agent.signIn(login);
  if (res.statusCode !== 303) throw new Error(`sign-in of ${login} failed: ${res.statusCode}`);
  return agent;
}

/** The whole daemon in-process (FTPS, queue, runner, web admin on loopback ports), for tests that follow real runs. */
export async function startWebDaemon(ds: DataSource, dataDir: string, env: Record<string, string> = {}): Promise<{ daemon: Daemon; base: string }> {
  const settings = loadDaemonSettings({
    ROSTERDROP_DATA_DIR: dataDir, ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(await freePort()),
    ROSTERDROP_HTTP_HOST: '127.0.0.1', ROSTERDROP_HTTP_PORT: String(await freePort()), ...env,
  });
  const daemon = await startDaemon(ds, settings, memoryLogger().logger);
  if (!daemon.web) throw new Error('the web admin did not start');
  return { daemon, base: `https://127.0.0.1:${daemon.web.port}` };
}
