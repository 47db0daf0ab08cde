/**
 * Limits on guessing web passwords, with the FTPS ban rules (ROSTERDROP_FTPS_BAN_AFTER_FAILURES and the others): failures per
 * IP count in the FTPS server's own ledger (one budget for both doors), and failures per account
 * lock that account's web sign-in for the ban's duration, whatever IP they come from (a botnet
 * gets no more guesses at one password than a single host). A lockout refuses before the password
 * is checked, so guesses during it learn nothing.
 */
import type { Admission } from '../../ftps/admission';
import type { LoginLimits } from '../../ftps/types';

export type Lockout = 'ip' | 'account';

export class LoginGuard {
  private readonly accountFailures = new Map<string, number[]>();
  private readonly accountLocks = new Map<string, number>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly ipLedger: Pick<Admission, 'recordFailure' | 'bannedUntil'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Why a sign-in is refused before its password is checked, or null. */
  locked(ip: string, login: string): Lockout | null {
    if (this.ipLedger.bannedUntil(ip) !== null) return 'ip';
    const until = this.accountLocks.get(accountKey(login));
    if (until !== undefined && until > this.now()) return 'account';
    return null;
  }

  recordFailure(ip: string, login: string): void {
    this.ipLedger.recordFailure(ip);
    const key = accountKey(login);
    const t = this.now();
    const recent = (this.accountFailures.get(key) ?? []).filter((at) => t - at < this.limits.banWindowMs);
    recent.push(t);
    if (recent.length >= this.limits.banAfterFailures) {
      this.accountLocks.set(key, t + this.limits.banDurationMs);
      this.accountFailures.delete(key);
    } else {
      this.accountFailures.set(key, recent);
    }
    this.forgetOld(t);
  }

  /** Bounded memory under a flood of made-up logins: drop what no longer counts. */
  private forgetOld(t: number): void {
    if (this.accountFailures.size < 10_000) return;
    for (const [key, times] of this.accountFailures) if (times.every((at) => t - at >= this.limits.banWindowMs)) this.accountFailures.delete(key);
    for (const [key, until] of this.accountLocks) if (until <= t) this.accountLocks.delete(key);
  }
}

/** `District/Admin` and `district/Admin` are one account (userspaces are case-insensitive). */
function accountKey(login: string): string {
  const slash = login.indexOf('/');
  return slash < 0 ? login : `${login.slice(0, slash).toLowerCase()}/${login.slice(slash + 1)}`;
}
