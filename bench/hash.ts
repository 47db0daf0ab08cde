/**
 * The hash part (`BENCH_ONLY=hash`, issue 18): OWASP's five equivalent Argon2id settings and the
 * scrypt that rosterdrop used before, each measured two ways in a child process of its own:
 * - one hash at a time (ms per hash: what a login costs);
 * - a first sync of BENCH_HASH_USERS users with passwords, the engine hashing them after the commit
 *   through the real src/sync/passwords.ts (its batches, its concurrency on libuv's pool, its
 *   UPDATEs), on each database: passwords a second, and the child's peak RSS against its RSS when
 *   the sync returned (what hashing added).
 * The first-sync rate extrapolates to the 1M bench's new users (passwordsPending of its first sync).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { OWASP_ARGON2ID, ARGON2ID } from '../src/util/password-hash';
import { envInt } from './env';
import { fmtNum, mdTable } from './markdown';
import { runChild, type HashScheme } from './measure';
import type { SyncSummary } from './sync-op';
import type { GeneratedRoster } from './generate';

export interface HashSingle { hashes: number; msMedian: number; msMean: number }

export interface HashRun {
  scheme: HashScheme;
  single: (HashSingle & { peakRssMB: number }) | null;
  syncs: Array<{
    db: 'sqlite' | 'postgres';
    passwords: number;
    seconds: number;
    perSecond: number;
    /** the child's peak RSS (sync + hashing) and its peak when run() had committed (before hashing) */
    peakRssMB: number;
    rssAtCommitMB: number;
  } | { db: 'sqlite' | 'postgres'; error: string }>;
}

export interface HashReport {
  date: string;
  users: number;
  /** hashes at once in hashNewPasswords on this machine (min(cores, UV_THREADPOOL_SIZE − 2)) */
  concurrency: number;
  /** the 1M bench's new users with a password (its first sync's passwordsPending) */
  target: number;
  runs: HashRun[];
  /** what src/util/password-hash.ts hashes with */
  inUse: string;
}

export const schemeName = (s: HashScheme): string => (s.alg === 'scrypt' ? 'scrypt N=2^14 r=8 p=5 (before)' : `argon2id m=${s.m} t=${s.t} p=${s.p}`);
const memoryMiB = (s: HashScheme): number => (s.alg === 'scrypt' ? 16 : s.m / 1024);

function schemes(): HashScheme[] {
  const all: HashScheme[] = [{ alg: 'scrypt' }, ...OWASP_ARGON2ID.map((o) => ({ alg: 'argon2id' as const, ...o }))];
  const only = (process.env.BENCH_HASH_SCHEMES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  // e.g. BENCH_HASH_SCHEMES=scrypt,19456 (an Argon2id setting by its m), in that order: the
  // machine's load drifts during a run, so a second run in the reverse order shows the drift
  const key = (s: HashScheme): string => (s.alg === 'scrypt' ? 'scrypt' : String(s.m));
  return only.length ? only.map((k) => all.find((s) => key(s) === k)).filter((s): s is HashScheme => !!s) : all;
}

async function recreatePg(adminUrl: string, db: string): Promise<string> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${db}`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function runHashBench(opts: {
  tmpBase: string; keep: boolean; adminUrl: string; dbs: Array<'sqlite' | 'postgres'>; target: number; log: (m: string) => void;
}): Promise<HashReport> {
  const users = envInt('BENCH_HASH_USERS', 2000, 50, 1_000_000);
  const singles = envInt('BENCH_HASH_SINGLE', 20, 1, 10_000);
  const dir = fs.mkdtempSync(path.join(opts.tmpBase, 'rosterdrop-bench-hash-'));
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const report: HashReport = {
    date: new Date().toISOString(), users, concurrency: Math.max(1, Math.min((await import('node:os')).availableParallelism(), pool - 2)),
    target: opts.target, runs: [], inUse: schemeName({ alg: 'argon2id', ...ARGON2ID }),
  };
  try {
    // the generator makes E/5 users, ~99% with a password
    const gen = await runChild<GeneratedRoster>({ op: 'generate', enrollments: users * 5, seed: 1, variant: 'base', passwords: true, dir });
    if (!gen.ok || !gen.result) throw new Error(`generating the roster failed: ${gen.error}`);
    const zipPath = gen.result.zipPath;
    for (const scheme of schemes()) {
      const run: HashRun = { scheme, single: null, syncs: [] };
      opts.log(`hash: ${schemeName(scheme)}: ${singles} hashes one at a time`);
      const one = await runChild<HashSingle>({ op: 'hash-single', scheme, hashes: singles });
      if (one.ok && one.result) run.single = { ...one.result, peakRssMB: one.maxRssMB };
      for (const db of opts.dbs) {
        opts.log(`hash: ${schemeName(scheme)}: first sync of ${users} users on ${db}, hashing after the commit`);
        const target = db === 'postgres'
          ? { databaseUrl: await recreatePg(opts.adminUrl, 'rosterdrop_bench_hash') }
          : { sqlitePath: path.join(dir, `hash-${run.syncs.length}-${Date.now()}.sqlite`) };
        const rep = await runChild<SyncSummary>({ op: 'sync', zipPath, ...target, hashPasswords: true, scheme });
        const s = rep.result;
        if (rep.ok && s && s.passwordsSeconds && s.status === 'succeeded') {
          run.syncs.push({
            db, passwords: s.passwordsPending, seconds: s.passwordsSeconds, perSecond: s.passwordsPending / s.passwordsSeconds,
            peakRssMB: rep.maxRssMB, rssAtCommitMB: s.maxRssAtResultMB,
          });
        } else {
          run.syncs.push({ db, error: rep.error ?? `status ${s?.status}: ${s?.message}` });
        }
        if (target.sqlitePath) for (const f of [target.sqlitePath, `${target.sqlitePath}-wal`, `${target.sqlitePath}-shm`]) fs.rmSync(f, { force: true });
      }
      report.runs.push(run);
    }
  } finally {
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const hours = (s: number): string => (s >= 3600 ? `${fmtNum(s / 3600, 1)} h` : `${fmtNum(s / 60, 0)} min`);

export function renderHashMarkdown(r: HashReport): string {
  const dbs = [...new Set(r.runs.flatMap((x) => x.syncs.map((s) => s.db)))];
  const rate = (x: HashRun, db: string): number | null => {
    const s = x.syncs.find((y) => y.db === db);
    return s && 'perSecond' in s ? s.perSecond : null;
  };
  const rows = r.runs.map((x) => {
    const cells = [schemeName(x.scheme), fmtNum(memoryMiB(x.scheme), 1), fmtNum(x.single?.msMedian, 1)];
    for (const db of dbs) {
      const s = x.syncs.find((y) => y.db === db);
      if (!s || !('perSecond' in s)) { cells.push(s ? `error: ${s.error.slice(0, 80)}` : '—', '—', '—'); continue; }
      cells.push(fmtNum(s.perSecond, 1), `${fmtNum(s.rssAtCommitMB, 0)} → ${fmtNum(s.peakRssMB, 0)}`, hours(r.target / s.perSecond));
    }
    return cells;
  });
  const head = ['setting', 'MiB a hash', 'ms a hash, one at a time'];
  for (const db of dbs) head.push(`${db}: passwords/s in the sync`, `${db}: peak RSS MB at commit → with hashing`, `${db}: ${fmtInt(r.target)} users (extrapolated)`);
  const argon = r.runs.filter((x) => x.scheme.alg === 'argon2id');
  const best = (db: string): HashRun | undefined => argon.filter((x) => rate(x, db) !== null).sort((a, b) => (rate(b, db) ?? 0) - (rate(a, db) ?? 0))[0];
  const scrypt = r.runs.find((x) => x.scheme.alg === 'scrypt');
  const lines = dbs.map((db) => {
    const b = best(db);
    const sr = scrypt ? rate(scrypt, db) : null;
    const br = b ? rate(b, db) : null;
    return `- ${db}: most passwords a second: ${b ? schemeName(b.scheme) : '—'}${br && sr ? `, ${fmtNum(br / sr, 1)}× scrypt's rate (${hours(r.target / br)} against ${hours(r.target / sr)} for ${fmtInt(r.target)} users)` : ''}.`;
  });
  return `## Password hashing\n\n${r.date.slice(0, 10)}. Each setting in a child of its own: ${r.runs[0]?.single?.hashes ?? '?'} hashes one at a time, then a first ` +
    `sync of ${fmtInt(r.users)} users (~99% with a password) with the engine hashing after the commit (src/sync/passwords.ts, ` +
    `${r.concurrency} at a time on this machine). The ${fmtInt(r.target)}-user column is extrapolated from the ${fmtInt(r.users)}-user ` +
    `measurement (the 1M bench's first-sync new users at that rate). In use: ${r.inUse}.\n\n` +
    `${mdTable(head, rows)}\n\n${lines.join('\n')}`;
}
