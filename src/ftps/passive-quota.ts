/**
 * How many passive ports each user and each domain holds (issue 17 #2): idle PASVs from one tenant
 * held the whole range, and every other domain got 425. A slot is taken at PASV/EPSV and given back
 * when that data channel ends (transfer done, replaced, connection closed, or unused too long).
 */
export type QuotaLimit = 'user' | 'domain';

export interface QuotaRefusal {
  limit: QuotaLimit;
  max: number;
}

export class PassiveQuota {
  private readonly byUser = new Map<number, number>();
  private readonly byDomain = new Map<string, number>();

  constructor(private readonly maxPerUser: number, private readonly maxPerDomain: number) {}

  /** A slot for `userId` of `domain`, as its release function, or which limit refuses it. */
  acquire(userId: number, domain: string): (() => void) | QuotaRefusal {
    if ((this.byUser.get(userId) ?? 0) >= this.maxPerUser) return { limit: 'user', max: this.maxPerUser };
    if ((this.byDomain.get(domain) ?? 0) >= this.maxPerDomain) return { limit: 'domain', max: this.maxPerDomain };
    adjust(this.byUser, userId, 1);
    adjust(this.byDomain, domain, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      adjust(this.byUser, userId, -1);
      adjust(this.byDomain, domain, -1);
    };
  }
}

function adjust<K>(counts: Map<K, number>, key: K, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
