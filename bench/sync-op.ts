/**
 * The bench's one call into the engine (run inside child.ts): open the database, create or find the
 * `bench` domain, run one sync of a zip, and summarise the SyncResult.
 */
import { openDatabase } from '../src/db/data-source';
import { createDomain } from '../src/db/domains';
import { saveSettings } from '../src/db/settings-store';
import { SyncEngine } from '../src/sync/engine';
import { DEFAULT_SETTINGS, type SyncSettings } from '../src/sync/settings';
import type { SyncCounts, SyncResult, SyncStatus } from '../src/sync/types';
import { hashPassword } from '../src/util/password-hash';
import type { ChildArgs } from './measure';

type SyncArgs = Extract<ChildArgs, { op: 'sync' }>;
type DataSourceT = Awaited<ReturnType<typeof openDatabase>>;

export interface SyncSummary {
  runId: number;
  domainId: number;
  status: SyncStatus;
  message: string;
  counts: SyncCounts;
  issueTotals: SyncResult['issueTotals'];
  /** the first few kept issues, to see why a sync did not succeed */
  issueSample: Array<{ severity: string; code: string; file: string | null; line: number | null; message: string }>;
  issuesDropped: number;
  /** the engine's own duration */
  durationMs: number;
  passwordsPending: number;
  /** seconds the engine spent hashing passwords after the commit (only with hashPasswords) */
  passwordsSeconds: number | null;
  /** peak RSS (MB) when run() returned (before any inline password hashing) */
  maxRssAtReturnMB: number;
  /** peak RSS (MB) when the engine reported its result, after the commit and before it hashed */
  maxRssAtResultMB: number;
}

const rssMB = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

async function findDomainId(ds: DataSourceT, userspace: string): Promise<number | null> {
  if (!/^[a-z0-9._-]+$/.test(userspace)) throw new Error(`bad userspace ${userspace}`);
  const rows = (await ds.query(`SELECT id FROM domain WHERE userspace = '${userspace}'`)) as Array<{ id: number | string }>;
  return rows.length ? Number(rows[0].id) : null;
}

export async function runSync(args: SyncArgs): Promise<{ seconds: number; result: SyncSummary }> {
  const ds = await openDatabase(args.databaseUrl ? { databaseUrl: args.databaseUrl, migrate: true } : { sqlitePath: args.sqlitePath, migrate: true });
  try {
    const userspace = args.userspace ?? 'bench';
    let domainId = args.domainId ?? (await findDomainId(ds, userspace));
    if (domainId == null) {
      domainId = (await createDomain(ds, { userspace, name: 'Bench district' })).id;
      if (args.settings) {
        const settings = { ...DEFAULT_SETTINGS, notificationEmails: [], ...args.settings } as SyncSettings;
        await saveSettings(ds, domainId, settings);
      }
    }
    // By default the engine returns once the roster has committed and leaves the new users'
    // passwords unhashed: at ~0.2 s a hash, 200k users take hours, so the bench times hashing
    // apart (see passwordSample). With hashPasswords the engine hashes them before returning and
    // the hashing time is what run() took beyond the engine's own durationMs.
    const engine = new SyncEngine(ds, { hashPasswords: !!args.hashPasswords });
    const t0 = process.hrtime.bigint();
    let maxRssAtResultMB = 0;
    const r = await engine.run({ domainId, zipPath: args.zipPath, source: 'bench', onResult: () => { maxRssAtResultMB = rssMB(); } });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const maxRssAtReturnMB = rssMB();
    const inline = !!args.hashPasswords && r.passwordsPending > 0;
    const seconds = inline ? r.durationMs / 1000 : wall;
    return {
      seconds,
      result: {
        runId: r.runId,
        domainId: r.domainId,
        status: r.status,
        message: r.message,
        counts: r.counts,
        issueTotals: r.issueTotals,
        issueSample: r.issues.slice(0, 5).map((i) => ({ severity: i.severity, code: i.code, file: i.file, line: i.line, message: i.message })),
        issuesDropped: r.issuesDropped,
        durationMs: r.durationMs,
        passwordsPending: r.passwordsPending,
        passwordsSeconds: inline ? wall - seconds : null,
        maxRssAtReturnMB,
        maxRssAtResultMB,
      },
    };
  } finally {
    await ds.destroy();
  }
}

export interface PasswordSample {
  hashes: number;
  seconds: number;
  /** wall seconds per password when hashed as the engine does (a batch at a time on the thread pool) */
  secondsPerPassword: number;
}

/** Time the engine's password hash on `n` passwords hashed concurrently, as hashNewPasswords does. */
export async function passwordSample(n: number): Promise<{ seconds: number; result: PasswordSample }> {
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: n }, (_, i) => hashPassword(`bench-password-${i}`)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, result: { hashes: n, seconds, secondsPerPassword: seconds / n } };
}
