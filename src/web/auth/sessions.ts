/**
 * Web sign-ins, stored in the database: revocable (delete the row), expiring (idle and absolute),
 * and worth nothing when the table leaks (only the token's SHA-256 is kept).
 */
import { LessThan, type DataSource } from 'typeorm';
import { WebSession } from '../../db/entities';
import { newToken, sha256Hex } from '../../util/secret-token';
import { Touches } from '../../util/touches';

export const SESSION_COOKIE = 'rd_session';

export interface SessionLimits { idleMs: number; maxMs: number }

export class SessionStore {
  /** last uses, written in the background (src/util/touches.ts); `flush()` writes them */
  readonly touches: Touches<string>;

  constructor(private readonly ds: DataSource, private readonly limits: SessionLimits, private readonly now: () => number = Date.now, canWrite?: () => boolean) {
    this.touches = new Touches((tokenHash, at) => ds.getRepository(WebSession).update({ tokenHash }, { lastSeenAt: at }), canWrite);
  }

  /** A new session; the token is for the cookie and is not kept. */
  async create(userId: number, login: string, ip: string | null): Promise<{ token: string; session: WebSession }> {
    const token = newToken();
    const at = new Date(this.now());
    const session = await this.ds.getRepository(WebSession).save({
      tokenHash: sha256Hex(token), userId, login, csrfToken: newToken(), ip,
      lastSeenAt: at, expiresAt: new Date(at.getTime() + this.limits.maxMs),
    });
    return { token, session };
  }

  /** The live session of a cookie's token, its idle time reset; null when unknown, idle too long or expired. */
  async find(token: string | undefined): Promise<WebSession | null> {
    if (!token) return null;
    const repo = this.ds.getRepository(WebSession);
    const session = await repo.findOneBy({ tokenHash: sha256Hex(token) });
    if (!session) return null;
    const t = this.now();
    const seen = this.touches.latest(session.tokenHash);
    if (seen && seen > session.lastSeenAt) session.lastSeenAt = seen;
    if (session.expiresAt.getTime() <= t || session.lastSeenAt.getTime() + this.limits.idleMs <= t) {
      this.touches.forget(session.tokenHash);
      await repo.delete({ tokenHash: session.tokenHash });
      return null;
    }
    session.lastSeenAt = new Date(t);
    this.touches.note(session.tokenHash, session.lastSeenAt);
    return session;
  }

  async end(token: string | undefined): Promise<void> {
    if (!token) return;
    this.touches.forget(sha256Hex(token));
    await this.ds.getRepository(WebSession).delete({ tokenHash: sha256Hex(token) });
  }

  /** Ends every session of a user (e.g. their password changed); returns how many. */
  async endAllOf(userId: number): Promise<number> {
    return (await this.ds.getRepository(WebSession).delete({ userId })).affected ?? 0;
  }

  async pruneExpired(): Promise<number> {
    return (await this.ds.getRepository(WebSession).delete({ expiresAt: LessThan(new Date(this.now())) })).affected ?? 0;
  }
}
