/**
 * Who may connect and how often they may fail: per-IP and global connection counts, and a ban
 * for IPs with repeated failed logins. Failures count per IP over every account, and a valid login
 * does not clear them (else one known password would cover unlimited guesses at others). The ban
 * ends at a fixed time: connections refused during it do not extend it. When a ban starts, the
 * listeners (the server) end every unauthenticated connection of that IP.
 */
import { isIPv4 } from 'node:net';
import type { ConnectionLimits, LoginLimits } from './types';

export type Refusal = 'banned' | 'too-many-connections' | 'too-many-from-ip';

/** `::ffff:127.0.0.1` and `127.0.0.1` are one client. */
export function normalizeIp(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(.+)$/i.exec(address);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : address.toLowerCase();
}

export class Admission {
  private readonly open = new Map<string, number>();
  private total = 0;
  private readonly failures = new Map<string, number[]>();
  private readonly bans = new Map<string, number>();
  private readonly allow: Set<string>;
  private readonly banListeners: Array<(ip: string) => void> = [];

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly login: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.allow = new Set(login.allowList.map(normalizeIp));
  }

  /** Registers a new connection, or says why it is refused (nothing is registered then). */
  admit(ip: string): Refusal | null {
    if (this.bannedUntil(ip) !== null) return 'banned';
    if (this.total >= this.limits.maxConnections) return 'too-many-connections';
    const mine = this.open.get(ip) ?? 0;
    if (mine >= this.limits.maxConnectionsPerIp) return 'too-many-from-ip';
    this.open.set(ip, mine + 1);
    this.total++;
    return null;
  }

  release(ip: string): void {
    const mine = this.open.get(ip) ?? 0;
    if (mine <= 0) return;
    if (mine === 1) this.open.delete(ip);
    else this.open.set(ip, mine - 1);
    this.total--;
  }

  /** Records a failed login; returns true when this failure starts a ban. */
  recordFailure(ip: string): boolean {
    if (this.allow.has(ip)) return false;
    const t = this.now();
    const recent = (this.failures.get(ip) ?? []).filter((at) => t - at < this.login.banWindowMs);
    recent.push(t);
    if (recent.length >= this.login.banAfterFailures && this.bannedUntil(ip) === null) {
      this.bans.set(ip, t + this.login.banDurationMs);
      this.failures.delete(ip);
      for (const listener of this.banListeners) listener(ip);
      return true;
    }
    this.failures.set(ip, recent);
    return false;
  }

  /** Called with the IP whenever a ban starts. */
  onBan(listener: (ip: string) => void): void {
    this.banListeners.push(listener);
  }

  /** End of the IP's ban in ms since the epoch, or null when it is not banned. */
  bannedUntil(ip: string): number | null {
    const until = this.bans.get(ip);
    if (until === undefined) return null;
    if (until <= this.now()) {
      this.bans.delete(ip);
      return null;
    }
    return until;
  }

  get connectionCount(): number {
    return this.total;
  }
}
