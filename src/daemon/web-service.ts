/**
 * The web part of the daemon: the web admin and API on the FTPS certificate (HTTPS), or plain
 * HTTP behind a TLS-terminating proxy; off when ROSTERDROP_HTTP_PORT=0.
 */
import type { DataSource } from 'typeorm';
import type { DaemonSettings } from '../config/daemon';
import { LmsAuthenticator } from '../ftps/lms-authenticator';
import type { UploadIntake } from '../queue/intake';
import type { Logger } from '../util/logger';
import { LoginGuard } from '../web/auth/login-guard';
import { PrincipalCache } from '../web/auth/principal';
import { SessionStore } from '../web/auth/sessions';
import { touchApiToken } from '../services/api-tokens';
import { Touches } from '../util/touches';
import { startWebServer, type WebServer } from '../web/server';
import type { FtpsService } from './ftps-service';

export interface WebParts {
  ftps: FtpsService;
  intake: UploadIntake;
  wake: () => void;
  /** a sync runs in this daemon (the embedded database's write lock is then taken for long) */
  syncing: () => boolean;
}

export async function startWebService(ds: DataSource, settings: DaemonSettings, parts: WebParts, logger: Logger): Promise<WebServer | null> {
  const web = settings.web;
  if (web.port === 0) return null;
  // last-use times wait while a sync holds the embedded database's write lock (src/util/touches.ts)
  const canWrite = ds.options.type === 'postgres' ? () => true : () => !parts.syncing();
  const sessions = new SessionStore(ds, { idleMs: web.sessionIdleMs, maxMs: web.sessionMaxMs }, Date.now, canWrite);
  const tokenTouches = new Touches<number>((id, at) => touchApiToken(ds, id, at), canWrite);
  const tls = web.trustProxy ? null : { ...parts.ftps.tls(), minVersion: settings.ftps.minTlsVersion };
  if (!tls) logger.warn('web admin on plain HTTP (ROSTERDROP_HTTP_TRUST_PROXY=true): only behind a proxy that terminates TLS');
  const server = await startWebServer({
    ds, settings: web, logger, sessions, principals: new PrincipalCache(ds, web.operators), tokenTouches,
    authenticator: new LmsAuthenticator(ds),
    guard: new LoginGuard(settings.ftps.login, parts.ftps.server.admission),
    login: settings.ftps.login,
    dropRoot: settings.dropRoot, maxUploadBytes: settings.ftps.maxUploadBytes,
    intake: parts.intake, wakeQueue: parts.wake, heldDays: settings.heldDays,
    ftpsListening: () => parts.ftps.server.listening,
  }, { tls });
  // expired sessions are refused when used; this only keeps the table small
  const prune = setInterval(() => { sessions.pruneExpired().catch(() => undefined); }, 3_600_000);
  const flush = setInterval(() => { void sessions.touches.flush(); void tokenTouches.flush(); }, 60_000);
  prune.unref();
  flush.unref();
  return {
    ...server,
    stop: async () => {
      clearInterval(prune);
      clearInterval(flush);
      await server.stop();
      await Promise.all([sessions.touches.flush(true), tokenTouches.flush(true)]);
    },
  };
}
