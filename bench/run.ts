/**
 * `npm run bench`: generate deterministic OneRoster zips at several scales and measure, on
 * PostgreSQL and on the embedded SQLite database, a first sync, a no-change re-sync and a re-sync
 * with 5% changes, each against a same-run baseline (plain COPY / plain prepared INSERTs of the
 * same rows). Every operation runs in its own child process (measure.ts), so the figures are
 * that process's own time and peak RSS.
 *
 * Environment:
 *   BENCH_SCALES        enrollments per scale, comma-separated (default 10000,100000,1000000)
 *   BENCH_DBS           postgres,sqlite (default both)
 *   BENCH_DATABASE_URL  admin URL of the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres);
 *                       the bench creates and drops the database rosterdrop_bench on it
 *   BENCH_SEED          generator seed (default 1)
 *   BENCH_PASSWORDS     0 = users.csv without passwords (default: with)
 *   BENCH_SETTINGS      JSON sync-setting overrides for the bench domain, e.g. '{"teacherBaseCourses":true}'
 *   BENCH_HASH_PASSWORDS 1 = let the engine hash new users' passwords inside run() and time that
 *                       (default: it skips hashing, and the bench estimates it from a timed sample;
 *                       at ~0.2 s a hash on 2 cores, 200k users would take hours)
 *   BENCH_TMPDIR        where the zips and SQLite files go (default: the OS temp dir)
 *   BENCH_KEEP          1 = keep the generated files
 *   BENCH_RESULTS_DIR   where latest.md / latest.json go (default bench/results)
 *   BENCH_TIMEOUT_S     per-operation time limit (default 7200)
 *   BENCH_VERBOSE       1 = show the children's stderr
 *   BENCH_ONLY          sync | ftps | daemon | flood | loop | api | web | hash, or a comma-separated list: run only these parts
 *                       (default: all but hash, in that order; `all` adds hash). A part not run keeps its figures from the previous
 *                       latest.json, marked as carried over.
 *
 * The FTPS part (bench/ftps-upload.ts): upload throughput of a BENCH_FTPS_MB (300) MB file with curl
 * over explicit FTPS on loopback, BENCH_FTPS_RUNS (3) times, against rosterdrop's server and vsftpd
 * on the same machine as the reference; target ≥ 0.8× vsftpd. See bench/README.md.
 *
 * The daemon part (bench/daemon.ts): `rosterdrop serve` as a child process on PostgreSQL with a
 * loopback SMTP server: upload end → report mail for a small zip (BENCH_DAEMON_RUNS, default 10;
 * target < 2 s), and BENCH_DAEMON_DOMAINS (20) domains uploading at once (throughput, queue wait vs
 * sync duration, every run exactly once). See bench/README.md.
 *
 * The web part (bench/web-upload.ts): a BENCH_WEB_MB (1024) MiB upload through the domain page against the
 * same file through FTPS, into the real daemon: MB/s of both, the ratio (target ≥ 0.8×) and the daemon's RSS.
 *
 * The flood part (bench/command-flood.ts): the daemon's peak RSS and another tenant's NOOP latency
 * while one connection pipelines BENCH_FLOOD_MB (32) MB of commands without reading a reply.
 *
 * The hash part (bench/hash.ts): OWASP's Argon2id settings and the earlier scrypt, one hash at a time
 * and through a first sync of BENCH_HASH_USERS (2000) users hashed by the engine after the commit;
 * extrapolated to the 1M bench's new users. See bench/README.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { ENTITY_KINDS, type SyncCounts } from '../src/sync/types';
import type { BaselineResult } from './baseline';
import type { FloorResult } from './floors';
import { renderDaemonMarkdown, runDaemonBench, type DaemonReport } from './daemon';
import { renderFloodMarkdown, runFloodBench, type FloodReport } from './command-flood';
import { renderWebUploadMarkdown, runWebUploadBench, webUploadOptionsFromEnv, type WebUploadReport } from './web-upload';
import { renderLoopMarkdown, runLoopBench, type LoopReport } from './event-loop';
import { renderApiLatencyMarkdown, runApiLatencyBench, type ApiLatencyReport } from './api-latency';
import { renderHashMarkdown, runHashBench, type HashReport } from './hash';
import { runInterruptCleanups } from './interrupt';
import { renderFtpsMarkdown, runFtpsBench, type FtpsReport } from './ftps-upload';
import type { GeneratedRoster } from './generate';
import { fmtNum, mdTable, redact } from './markdown';
import { runChild, type ChildArgs, type ChildReport, type ParserFigure } from './measure';
import type { PasswordSample, SyncSummary } from './sync-op';

// ------------------------------------------------------------------------------------------------
// configuration

export const TARGETS = {
  scale: 1_000_000,
  flatFrom: 100_000,
  firstSyncRatio: 2.5,
  noChangeRatio: 1.5,
  peakRssMB: 300,
  /** "flat": peak RSS at the target scale at most this multiple of the one at flatFrom */
  flatRssFactor: 1.25,
} as const;

type DbKind = 'postgres' | 'sqlite';
type OpName = 'baseline' | 'first sync' | 'no-change re-sync' | '5% change re-sync' | typeof READ_FLOOR | typeof INSERT_FLOOR | typeof FINGERPRINT_FLOOR;
const READ_FLOOR = 'floor: read + validate';
const INSERT_FLOOR = 'floor: enrollment insert';
/** PostgreSQL only: the floor of the no-change redesign (fingerprints), on top of the read floor */
const FINGERPRINT_FLOOR = 'floor: fingerprint compare';
const isFloor = (op: OpName): boolean => op === READ_FLOOR || op === INSERT_FLOOR || op === FINGERPRINT_FLOOR;

export interface OpResult {
  scale: number;
  db: DbKind;
  op: OpName;
  ok: boolean;
  rows: number;
  seconds: number | null;
  rowsPerSec: number | null;
  /** (seconds per row) / (baseline seconds per row) for the same database and scale */
  ratio: number | null;
  peakRssMB: number | null;
  status: string;
  summary: string;
  passwordsPending: number | null;
  /** measured: seconds the engine spent hashing after the commit (BENCH_HASH_PASSWORDS=1) */
  passwordsSeconds: number | null;
  /** estimated: passwordsPending × the sampled seconds per password */
  passwordsEstimatedSeconds: number | null;
  error?: string;
  sync?: SyncSummary;
}

export interface GeneratorResult {
  scale: number;
  variant: 'base' | 'changed';
  rows: number;
  files: Record<string, number>;
  seconds: number | null;
  rowsPerSec: number | null;
  peakRssMB: number | null;
  zipMB: number | null;
  error?: string;
}

export interface TargetResult {
  target: string;
  db: DbKind;
  scale: number;
  measured: string;
  limit: string;
  result: 'met' | 'not met' | 'not measured';
  note?: string;
}

interface Config {
  scales: number[];
  dbs: DbKind[];
  adminUrl: string;
  benchDbName: string;
  seed: number;
  passwords: boolean;
  hashPasswords: boolean;
  settings: Record<string, unknown> | undefined;
  tmpRoot: string;
  keep: boolean;
  resultsDir: string;
}

function envList(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
}

function readConfig(): Config {
  const scales = envList('BENCH_SCALES', '10000,100000,1000000').map((s) => {
    const n = Number(s.replace(/_/g, '').replace(/k$/i, '000').replace(/m$/i, '000000'));
    if (!Number.isInteger(n) || n < 100) throw new Error(`BENCH_SCALES: "${s}" is not a number of enrollments >= 100`);
    return n;
  });
  const dbs = envList('BENCH_DBS', 'postgres,sqlite').map((d) => {
    if (d === 'pg' || d === 'postgres' || d === 'postgresql') return 'postgres' as const;
    if (d === 'sqlite' || d === 'embedded') return 'sqlite' as const;
    throw new Error(`BENCH_DBS: unknown database "${d}"`);
  });
  const settingsRaw = process.env.BENCH_SETTINGS;
  const tmpBase = process.env.BENCH_TMPDIR || os.tmpdir();
  fs.mkdirSync(tmpBase, { recursive: true });
  return {
    scales: [...new Set(scales)].sort((a, b) => a - b),
    dbs: [...new Set(dbs)],
    adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    benchDbName: 'rosterdrop_bench',
    seed: Number(process.env.BENCH_SEED ?? 1),
    passwords: process.env.BENCH_PASSWORDS !== '0',
    hashPasswords: process.env.BENCH_HASH_PASSWORDS === '1',
    settings: settingsRaw ? (JSON.parse(settingsRaw) as Record<string, unknown>) : undefined,
    tmpRoot: fs.mkdtempSync(path.join(tmpBase, 'rosterdrop-bench-')),
    keep: process.env.BENCH_KEEP === '1',
    resultsDir: process.env.BENCH_RESULTS_DIR || path.resolve(__dirname, '..', '..', 'bench', 'results'),
  };
}

// ------------------------------------------------------------------------------------------------
// PostgreSQL helpers

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '']);

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!LOOPBACK.has(host) && process.env.BENCH_ALLOW_REMOTE !== '1') {
    throw new Error(`BENCH_DATABASE_URL points at ${host}: the bench only connects to a local server (set BENCH_ALLOW_REMOTE=1 to override)`);
  }
}

async function pgQuery<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

async function recreateDatabase(cfg: Config): Promise<string> {
  await pgQuery(cfg.adminUrl, `DROP DATABASE IF EXISTS ${cfg.benchDbName} WITH (FORCE)`);
  await pgQuery(cfg.adminUrl, `CREATE DATABASE ${cfg.benchDbName}`);
  return withDatabase(cfg.adminUrl, cfg.benchDbName);
}

async function dropDatabase(cfg: Config): Promise<void> {
  await pgQuery(cfg.adminUrl, `DROP DATABASE IF EXISTS ${cfg.benchDbName} WITH (FORCE)`);
}

// ------------------------------------------------------------------------------------------------
// formatting

function sumRows(rows: Record<string, number>): number {
  return Object.values(rows).reduce((a, b) => a + b, 0);
}

function fmtInt(n: number | null | undefined): string {
  return n == null || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US');
}
function fmtScale(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

const ACTION_MARK = { created: '+', updated: '~', unchanged: '=', removed: '-', restored: '↺' } as const;
/** e.g. "users +2000 ~5; enrollments +10000" (nonzero counts only; '=' unchanged) */
export function summariseCounts(counts: SyncCounts | undefined): string {
  if (!counts) return '';
  const parts: string[] = [];
  for (const kind of ENTITY_KINDS) {
    const c = counts[kind];
    if (!c) continue;
    const bits = (Object.keys(ACTION_MARK) as Array<keyof typeof ACTION_MARK>).filter((a) => c[a]).map((a) => `${ACTION_MARK[a]}${c[a]}`);
    if (bits.length) parts.push(`${kind} ${bits.join(' ')}`);
  }
  return parts.join('; ');
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ------------------------------------------------------------------------------------------------
// running

async function generate(cfg: Config, scale: number, variant: 'base' | 'changed', dir: string): Promise<{ gen: GeneratorResult; roster?: GeneratedRoster }> {
  const rep = await runChild<GeneratedRoster>({ op: 'generate', enrollments: scale, seed: cfg.seed, variant, passwords: cfg.passwords, dir });
  if (!rep.ok || !rep.result) {
    return { gen: { scale, variant, rows: 0, files: {}, seconds: null, rowsPerSec: null, peakRssMB: null, zipMB: null, error: rep.error } };
  }
  const roster = rep.result;
  const rows = sumRows(roster.rows);
  const zipMB = fs.statSync(roster.zipPath).size / 1048576;
  return {
    roster,
    gen: { scale, variant, rows, files: roster.rows, seconds: rep.seconds, rowsPerSec: rows / rep.seconds, peakRssMB: rep.maxRssMB, zipMB },
  };
}

let pwSample: PasswordSample | null = null;

function opFromReport(scale: number, db: DbKind, op: OpName, rows: number, rep: ChildReport<unknown>, baseline: OpResult | null): OpResult {
  const ok = rep.ok && Number.isFinite(rep.seconds);
  const seconds = ok ? rep.seconds : null;
  const rowsPerSec = seconds ? rows / seconds : null;
  let ratio: number | null = null;
  if (seconds && baseline?.ok && baseline.seconds && baseline.rows) ratio = seconds / rows / (baseline.seconds / baseline.rows);
  const out: OpResult = {
    scale, db, op, ok, rows, seconds, rowsPerSec, ratio,
    peakRssMB: Number.isFinite(rep.maxRssMB) && rep.maxRssMB > 0 ? rep.maxRssMB : null,
    status: ok ? 'ok' : 'error', summary: '', passwordsPending: null, passwordsSeconds: null, passwordsEstimatedSeconds: null,
  };
  if (!rep.ok) out.error = rep.error;
  if (op !== 'baseline' && !isFloor(op) && rep.ok) {
    const s = rep.result as SyncSummary;
    out.sync = s;
    out.status = s.status;
    out.ok = s.status === 'succeeded' || s.status === 'completed_with_errors';
    out.summary = summariseCounts(s.counts);
    const issues = s.issueTotals;
    if (issues && issues.error + issues.warning > 0) out.summary += ` (issues: ${issues.error} errors, ${issues.warning} warnings)`;
    if (!out.ok && s.message) out.summary += ` — ${s.message}`;
    out.passwordsPending = s.passwordsPending;
    out.passwordsSeconds = s.passwordsSeconds;
    if (s.passwordsPending > 0 && pwSample) out.passwordsEstimatedSeconds = s.passwordsPending * pwSample.secondsPerPassword;
  }
  return out;
}

function floorOp(scale: number, db: DbKind, op: OpName, rows: number, rep: ChildReport<FloorResult>, bl: OpResult, what: string): OpResult {
  const r = opFromReport(scale, db, op, rows, rep, bl);
  if (r.ok) r.summary = what;
  log(`${fmtScale(scale)} ${db}: ${op} ${fmtNum(r.seconds)} s, ${fmtNum(r.ratio)}× baseline${r.error ? `\n${r.error}` : ''}`);
  return r;
}

async function runDb(
  cfg: Config,
  scale: number,
  db: DbKind,
  base: GeneratedRoster,
  changed: GeneratedRoster,
  scaleDir: string,
): Promise<OpResult[]> {
  const out: OpResult[] = [];
  const baseRows = sumRows(base.rows);
  const changedRows = sumRows(changed.rows);
  let target: { databaseUrl?: string; sqlitePath?: string };
  let baselineArgs: ChildArgs;
  if (db === 'postgres') {
    const url = await recreateDatabase(cfg);
    target = { databaseUrl: url };
    baselineArgs = { op: 'baseline-pg', csvDir: base.csvDir, databaseUrl: url };
  } else {
    const sqlitePath = path.join(scaleDir, 'bench.sqlite');
    target = { sqlitePath };
    baselineArgs = { op: 'baseline-sqlite', csvDir: base.csvDir, sqlitePath: path.join(scaleDir, 'baseline.sqlite') };
  }
  try {
    log(`${fmtScale(scale)} ${db}: baseline`);
    if (target.databaseUrl) await pgQuery(target.databaseUrl, 'CHECKPOINT');
    const bl = opFromReport(scale, db, 'baseline', baseRows, await runChild<BaselineResult>(baselineArgs), null);
    if (bl.ok) bl.summary = db === 'postgres' ? 'COPY into unindexed text tables' : 'prepared INSERT, one transaction, WAL, synchronous=NORMAL';
    out.push(bl);
    if (db === 'sqlite') removeSqlite(path.join(scaleDir, 'baseline.sqlite'));
    // the same file's rows, so the ratio reads as "this much of the sync no engine can avoid"
    out.push(floorOp(scale, db, READ_FLOOR, baseRows, await runChild<FloorResult>({ op: 'read-floor', zipPath: base.zipPath }), bl,
      'unzip + strict parse and validation of every row; no mapping, no database'));

    const steps: Array<{ op: OpName; zip: GeneratedRoster; rows: number }> = [
      { op: 'first sync', zip: base, rows: baseRows },
      { op: 'no-change re-sync', zip: base, rows: baseRows },
      { op: '5% change re-sync', zip: changed, rows: changedRows },
    ];
    let domainId: number | undefined;
    for (const step of steps) {
      log(`${fmtScale(scale)} ${db}: ${step.op}`);
      // flush the previous step's dirty pages now rather than inside the next measurement
      if (target.databaseUrl) await pgQuery(target.databaseUrl, 'CHECKPOINT');
      const rep = await runChild<SyncSummary>({
        op: 'sync', zipPath: step.zip.zipPath, ...target, domainId, hashPasswords: cfg.hashPasswords, settings: cfg.settings,
      });
      const r = opFromReport(scale, db, step.op, step.rows, rep, bl);
      out.push(r);
      if (rep.ok && rep.result) domainId = rep.result.domainId;
      log(`  ${r.status} ${fmtNum(r.seconds)} s, ${fmtNum(r.ratio)}× baseline, ${fmtNum(r.peakRssMB, 0)} MB${r.error ? `\n${r.error}` : ''}`);
      if (domainId === undefined) break; // no domain: later runs cannot be meaningful
      if (step.op === 'first sync' && r.ok) {
        if (target.databaseUrl) await pgQuery(target.databaseUrl, 'CHECKPOINT');
        const floor = await runChild<FloorResult>({ op: 'insert-floor', ...target });
        out.push(floorOp(scale, db, INSERT_FLOOR, baseRows, floor, bl,
          `the first sync's ${fmtInt(floor.ok ? (floor.result?.rows ?? 0) : 0)} enrollments into a fresh table with enrollment's indexes, one statement`));
        if (target.databaseUrl) {
          const fp = await runChild<FloorResult>({ op: 'fingerprint-floor', databaseUrl: target.databaseUrl });
          out.push(floorOp(scale, db, FINGERPRINT_FLOOR, baseRows, fp, bl,
            `(external ID, fingerprint) of ${fmtInt(fp.ok ? (fp.result?.rows ?? 0) : 0)} managed enrollments and users copied in and joined to the live rows' fingerprints`));
        }
      }
    }
  } finally {
    if (db === 'postgres') await dropDatabase(cfg).catch((e: Error) => log(`could not drop ${cfg.benchDbName}: ${e.message}`));
    else removeSqlite(path.join(scaleDir, 'bench.sqlite'));
  }
  return out;
}

function removeSqlite(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

// ------------------------------------------------------------------------------------------------
// targets

export function evaluateTargets(ops: OpResult[], scalesRun: number[], dbs: DbKind[]): TargetResult[] {
  const out: TargetResult[] = [];
  const at = TARGETS.scale;
  const haveTarget = scalesRun.includes(at);
  const largest = Math.max(...scalesRun);
  const evalScale = haveTarget ? at : largest;
  const note = haveTarget ? undefined : `${fmtScale(at)} not run: indicative value at ${fmtScale(largest)}`;
  const find = (db: DbKind, scale: number, op: OpName) => ops.find((o) => o.db === db && o.scale === scale && o.op === op);
  const syncPeak = (db: DbKind, scale: number): number | null => {
    const syncs = ops.filter((o) => o.db === db && o.scale === scale && o.op !== 'baseline' && !isFloor(o.op));
    if (syncs.length < 3 || syncs.some((o) => !o.ok || o.peakRssMB == null)) return null;
    const peaks = syncs.map((o) => o.peakRssMB);
    return Math.max(...(peaks as number[]));
  };
  const verdict = (ok: boolean | null): TargetResult['result'] => (!haveTarget || ok === null ? 'not measured' : ok ? 'met' : 'not met');
  // what the floors alone cost at the same scale: a target below its floor cannot be met by any engine
  const floorNote = (db: DbKind, ...floors: OpName[]): string | undefined => {
    const parts = [note, ...floors.map((op) => {
      const f = find(db, evalScale, op);
      return f?.ok && f.ratio != null ? `${op} alone: ${fmtNum(f.ratio)}×` : undefined;
    })].filter(Boolean);
    return parts.length ? parts.join('; ') : undefined;
  };
  for (const db of dbs) {
    const first = find(db, evalScale, 'first sync');
    const firstRatio = first?.ok ? first.ratio : null;
    out.push({
      target: 'first sync ≤ 2.5× baseline', db, scale: evalScale, measured: firstRatio != null ? `${fmtNum(firstRatio)}×` : first ? `failed (${first.status})` : '—',
      limit: `${TARGETS.firstSyncRatio}×`, result: first && !first.ok && haveTarget ? 'not met' : verdict(firstRatio == null ? null : firstRatio <= TARGETS.firstSyncRatio),
      note: floorNote(db, INSERT_FLOOR),
    });
    const nc = find(db, evalScale, 'no-change re-sync');
    const ncRatio = nc?.ok ? nc.ratio : null;
    out.push({
      target: 'no-change re-sync ≤ 1.5× baseline', db, scale: evalScale, measured: ncRatio != null ? `${fmtNum(ncRatio)}×` : nc ? `failed (${nc.status})` : '—',
      limit: `${TARGETS.noChangeRatio}×`, result: nc && !nc.ok && haveTarget ? 'not met' : verdict(ncRatio == null ? null : ncRatio <= TARGETS.noChangeRatio),
      note: floorNote(db, READ_FLOOR, FINGERPRINT_FLOOR),
    });
    const peak = syncPeak(db, evalScale);
    out.push({
      target: 'peak RSS of a sync ≤ 300 MB', db, scale: evalScale, measured: peak != null ? `${fmtNum(peak, 0)} MB` : '—',
      limit: `${TARGETS.peakRssMB} MB`, result: verdict(peak == null ? null : peak <= TARGETS.peakRssMB), note,
    });
    const from = syncPeak(db, TARGETS.flatFrom);
    const haveFlat = scalesRun.includes(TARGETS.flatFrom) && haveTarget;
    const factor = peak != null && from != null && evalScale !== TARGETS.flatFrom ? peak / from : null;
    out.push({
      target: `peak RSS flat from ${fmtScale(TARGETS.flatFrom)} to ${fmtScale(at)}`, db, scale: evalScale,
      measured: factor != null ? `${fmtNum(from, 0)} → ${fmtNum(peak, 0)} MB (${fmtNum(factor)}×)` : '—',
      limit: `≤ ${TARGETS.flatRssFactor}×`,
      result: !haveFlat || factor == null ? 'not measured' : factor <= TARGETS.flatRssFactor ? 'met' : 'not met',
      note: haveFlat ? undefined : `needs both ${fmtScale(TARGETS.flatFrom)} and ${fmtScale(at)} in BENCH_SCALES`,
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// report

interface Machine {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  platform: string;
  node: string;
  postgres: string | null;
  sqlite: string;
  betterSqlite3: string;
}

async function machineInfo(cfg: Config): Promise<Machine> {
  let postgres: string | null = null;
  if (cfg.dbs.includes('postgres')) {
    try {
      postgres = (await pgQuery<{ server_version: string }>(cfg.adminUrl, 'SHOW server_version'))[0].server_version;
    } catch {
      postgres = null;
    }
  }
  const mem = new Database(':memory:');
  const sqlite = (mem.prepare('select sqlite_version() as v').get() as { v: string }).v;
  mem.close();
  let betterSqlite3 = '?';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    betterSqlite3 = (require('better-sqlite3/package.json') as { version: string }).version;
  } catch {
    // keep '?'
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? '?',
    memoryGiB: Math.round((os.totalmem() / 1073741824) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
    sqlite,
    betterSqlite3,
  };
}

function fmtPasswords(o: OpResult): string {
  if (o.passwordsPending == null) return '';
  if (o.passwordsPending === 0) return '0 new';
  if (o.passwordsSeconds != null) return `${fmtInt(o.passwordsPending)} new, hashed in ${fmtNum(o.passwordsSeconds, 1)} s`;
  if (o.passwordsEstimatedSeconds != null) return `${fmtInt(o.passwordsPending)} new, hashing ≈ ${fmtDuration(o.passwordsEstimatedSeconds)} (est.)`;
  return `${fmtInt(o.passwordsPending)} new, hashing not timed`;
}

function fmtDuration(s: number): string {
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}


function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const parts: string[] = [];
  parts.push(`# rosterdrop bench — ${m.date.slice(0, 10)}`);
  parts.push(
    [
      `- Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform}`,
      `- Node ${m.node}; PostgreSQL ${m.postgres ?? 'not reachable'}; SQLite ${m.sqlite} (better-sqlite3 ${m.betterSqlite3})`,
      `- Scales: ${report.config.scales.map(fmtScale).join(', ')} enrollments; seed ${report.config.seed}; passwords ${report.config.passwords ? 'on' : 'off'}; ` +
        `settings ${report.config.settings ? JSON.stringify(report.config.settings) : 'defaults'}`,
      `- Started ${m.date}, took ${fmtNum(report.totalSeconds / 60, 1)} min`,
    ].join('\n'),
  );
  parts.push('## Sync vs baseline');
  parts.push(
    mdTable(
      ['enrollments', 'DB', 'operation', 'rows', 'seconds', 'rows/s', '× baseline', 'peak RSS MB', 'status', 'counts', 'passwords'],
      report.ops.map((o) => [
        fmtScale(o.scale), o.db, o.op, fmtInt(o.rows), fmtNum(o.seconds), fmtInt(o.rowsPerSec),
        o.op === 'baseline' ? '1.00' : fmtNum(o.ratio), fmtNum(o.peakRssMB, 0), o.error ? `error: ${o.error.split('\n')[0].slice(0, 120)}` : o.status, o.summary,
        fmtPasswords(o),
      ]),
      ['---:', '---', '---', '---:', '---:', '---:', '---:', '---:', '---', '---', '---'],
    ),
  );
  parts.push(`## Targets (at ${fmtScale(TARGETS.scale)} enrollments + ${fmtScale(TARGETS.scale / 5)} users + ${fmtScale(TARGETS.scale / 20)} classes)`);
  parts.push(
    mdTable(
      ['target', 'DB', 'measured', 'limit', 'result', 'note'],
      report.targets.map((t) => [t.target, t.db, t.measured, t.limit, t.result === 'met' ? '✅ met' : t.result === 'not met' ? '❌ not met' : '— not measured', t.note ?? '']),
    ),
  );
  parts.push('## Generator');
  parts.push(
    mdTable(
      ['enrollments', 'variant', 'rows', 'seconds', 'rows/s', 'peak RSS MB', 'zip MB'],
      report.generator.map((g) => [fmtScale(g.scale), g.variant, fmtInt(g.rows), fmtNum(g.seconds), fmtInt(g.rowsPerSec), fmtNum(g.peakRssMB, 0), g.error ? `error: ${g.error.split('\n')[0]}` : fmtNum(g.zipMB, 1)]),
      ['---:', '---', '---:', '---:', '---:', '---:', '---:'],
    ),
  );
  if (report.parsers) {
    parts.push(`## CSV parsers (enrollments.csv at ${fmtScale(report.parsers.scale)})`);
    if (report.parsers.error) parts.push(`Not measured: ${report.parsers.error.split('\n')[0]}`);
    else
      parts.push(
        mdTable(
          ['parser', 'rows', 'seconds', 'rows/s'],
          (report.parsers.results ?? []).map((p) => [p.parser, fmtInt(p.rows), fmtNum(p.seconds), fmtInt(p.rowsPerSec)]),
          ['---', '---:', '---:', '---:'],
        ),
      );
  }
  parts.push(
    [
      '## Notes',
      '- Rows = all data rows in the zip (orgs, academicSessions, courses, classes, users, enrollments). The 5% change zip has ~1% new and ~1% removed enrollments and 0.2% new users, so its row count differs slightly.',
      '- × baseline = (seconds per row of the operation) / (seconds per row of the same database’s baseline at the same scale); lower is better.',
      '- Baselines: PostgreSQL = plain `COPY … (FORMAT csv, HEADER)` of every data file into unindexed text tables; SQLite = one prepared INSERT per row in one transaction (WAL, synchronous=NORMAL). They read the unzipped CSVs, the syncs read the zip.',
      '- Seconds cover the operation only (the sync’s `engine.run`, excluding process start and connecting); peak RSS is the child process’s `maxRSS` over its whole life.',
      '- Counts: + created, ~ updated, = unchanged, - removed, ↺ restored (nonzero only).',
      `- Floors (bench/floors.ts) time alone what no engine can skip, on the same input, so their × baseline is a lower bound for the sync's: "${READ_FLOOR}" = unzip and the strict reader over every required file (no mapping, no database), which every sync does, changed or not; "${INSERT_FLOOR}" = the first sync's enrollments, already in memory, written in one statement into a fresh table with \`enrollment\`'s columns and indexes, which a first sync cannot write for less; "${FINGERPRINT_FLOOR}" (PostgreSQL) = not a floor of every engine but of the no-change redesign the README describes: every managed enrollment's and user's (external ID, fingerprint) copied in and joined to the live rows' fingerprints, which that design would add to the read floor.`,
      `- Passwords: "N new" = the result's \`passwordsPending\` (new users whose password still has to be hashed). The engine hashes after the roster commits, so hashing is never in the sync's seconds. ` +
        (report.config.hashPasswords
          ? 'BENCH_HASH_PASSWORDS=1: the engine hashed them inside run(); "hashed in" is that time.'
          : `By default the bench runs the engine with hashPasswords off and estimates hashing as N × ${report.passwordSample ? `${fmtNum(report.passwordSample.secondsPerPassword * 1000, 0)} ms` : 'the sampled time'} a password (${report.passwordSample?.hashes ?? '?'} of the engine's own hashes, run concurrently on the thread pool, in a child of their own).`),
    ].join('\n'),
  );
  return `${parts.join('\n\n')}\n`;
}

interface BenchReport {
  machine: Machine;
  config: { scales: number[]; dbs: DbKind[]; seed: number; passwords: boolean; hashPasswords: boolean; settings: Record<string, unknown> | null; databaseUrl: string };
  totalSeconds: number;
  ops: OpResult[];
  generator: GeneratorResult[];
  parsers: { scale: number; csvRows: number; results?: ParserFigure[]; error?: string } | null;
  passwordSample: PasswordSample | null;
  targets: TargetResult[];
}


// ------------------------------------------------------------------------------------------------

/** The sync part: everything above; returns the report (main writes the files). */
async function runSyncBench(): Promise<BenchReport> {
  const started = Date.now();
  const cfg = readConfig();
  const cleanup = () => {
    if (!cfg.keep) fs.rmSync(cfg.tmpRoot, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  let dbs = cfg.dbs;
  if (dbs.includes('postgres')) {
    assertLoopback(cfg.adminUrl);
    try {
      await pgQuery(cfg.adminUrl, 'SELECT 1');
    } catch (e) {
      log(`PostgreSQL at ${redact(cfg.adminUrl)} is not reachable (${(e as Error).message}); skipping it`);
      dbs = dbs.filter((d) => d !== 'postgres');
    }
  }
  const machine = await machineInfo(cfg);
  log(`scales ${cfg.scales.map(fmtScale).join(', ')}; databases ${dbs.join(', ')}; temp ${cfg.tmpRoot}`);

  const ops: OpResult[] = [];
  const generator: GeneratorResult[] = [];
  let parsers: BenchReport['parsers'] = null;
  const largest = cfg.scales[cfg.scales.length - 1];
  if (cfg.passwords && !cfg.hashPasswords) {
    const hashes = Number(process.env.BENCH_PASSWORD_SAMPLE ?? 32);
    log(`timing ${hashes} password hashes`);
    const rep = await runChild<PasswordSample>({ op: 'password-sample', hashes });
    if (rep.ok && rep.result) pwSample = rep.result;
    else log(`password sample failed: ${rep.error}`);
  }
  try {
    for (const scale of cfg.scales) {
      const scaleDir = path.join(cfg.tmpRoot, String(scale));
      fs.mkdirSync(scaleDir, { recursive: true });
      log(`${fmtScale(scale)}: generating`);
      const b = await generate(cfg, scale, 'base', scaleDir);
      const c = await generate(cfg, scale, 'changed', scaleDir);
      generator.push(b.gen, c.gen);
      for (const g of [b.gen, c.gen]) log(`  ${g.variant}: ${fmtInt(g.rows)} rows in ${fmtNum(g.seconds)} s${g.error ? `\n${g.error}` : ''}`);
      if (!b.roster || !c.roster) continue;

      if (scale === largest) {
        log(`${fmtScale(scale)}: CSV parsers`);
        const csvPath = path.join(b.roster.csvDir, 'enrollments.csv');
        const rep = await runChild<ParserFigure[]>({ op: 'parsers', csvPath });
        parsers = { scale, csvRows: b.roster.rows.enrollments, ...(rep.ok ? { results: rep.result } : { error: rep.error }) };
      }
      for (const db of dbs) {
        try {
          ops.push(...(await runDb(cfg, scale, db, b.roster, c.roster, scaleDir)));
        } catch (e) {
          log(`${fmtScale(scale)} ${db}: ${(e as Error).stack}`);
          ops.push({
            scale, db, op: 'baseline', ok: false, rows: 0, seconds: null, rowsPerSec: null, ratio: null, peakRssMB: null,
            status: 'error', summary: '', passwordsPending: null, passwordsSeconds: null, passwordsEstimatedSeconds: null, error: (e as Error).message,
          });
        }
      }
      if (!cfg.keep) fs.rmSync(scaleDir, { recursive: true, force: true });
    }
  } finally {
    cleanup();
  }

  const report: BenchReport = {
    machine,
    config: { scales: cfg.scales, dbs, seed: cfg.seed, passwords: cfg.passwords, hashPasswords: cfg.hashPasswords, settings: cfg.settings ?? null, databaseUrl: redact(cfg.adminUrl) },
    totalSeconds: (Date.now() - started) / 1000,
    ops,
    generator,
    parsers,
    passwordSample: pwSample,
    targets: evaluateTargets(ops, cfg.scales, dbs),
  };
  return report;
}

// ------------------------------------------------------------------------------------------------
// parts and results file

const BENCH_PARTS = ['sync', 'ftps', 'daemon', 'flood', 'loop', 'api', 'web', 'hash'] as const;
type BenchPart = (typeof BENCH_PARTS)[number];

function benchParts(): BenchPart[] {
  const raw = (process.env.BENCH_ONLY ?? '').trim().toLowerCase();
  // the hash part takes ~25 min on 2 cores (mostly the old scrypt's): only when asked for
  if (raw === '' || raw === 'both') return BENCH_PARTS.filter((p) => p !== 'hash');
  if (raw === 'all') return [...BENCH_PARTS];
  const parts = raw.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(BENCH_PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_ONLY: unknown part "${p}" (expected ${BENCH_PARTS.join(', ')})`);
  }
  return BENCH_PARTS.filter((p) => parts.includes(p));
}

/** latest.json: the sync report's fields (once the sync part has run) plus `ftps`, `daemon`, `flood` and `loop`. */
type ResultsFile = Partial<BenchReport> & {
  ftps?: FtpsReport | null; daemon?: DaemonReport | null; flood?: FloodReport | null; loop?: LoopReport | null; hash?: HashReport | null;
  api?: ApiLatencyReport | null;
  web?: WebUploadReport | null;
};

function readPreviousResults(dir: string): ResultsFile | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')) as ResultsFile;
  } catch {
    return null;
  }
}

function isSyncReport(r: ResultsFile | null): r is BenchReport & ResultsFile {
  return !!r && !!r.machine && Array.isArray(r.ops) && Array.isArray(r.targets) && Array.isArray(r.generator);
}

interface PartResult<T> {
  report: T | null;
  /** figures from the previous latest.json */
  carried: boolean;
}

/** A part's section with, when carried over, a note under its heading. */
function appendSection(md: string, section: string, carriedNote: string | null): string {
  const cut = section.indexOf('\n\n');
  return `${md}\n${section.slice(0, cut)}\n\n${carriedNote ? `> ${carriedNote}\n\n` : ''}${section.slice(cut + 2)}\n`;
}

function renderResults(
  parts: BenchPart[], sync: PartResult<BenchReport>, ftps: PartResult<FtpsReport>, daemon: PartResult<DaemonReport>, flood: PartResult<FloodReport>,
  loop: PartResult<LoopReport>, hash: PartResult<HashReport>, api: PartResult<ApiLatencyReport>, web: PartResult<WebUploadReport>,
): string {
  const thisRun = `this run: BENCH_ONLY=${parts.join(',')}`;
  let md: string;
  if (sync.report) {
    md = renderMarkdown(sync.report);
    if (sync.carried) {
      const cut = md.indexOf('\n\n');
      md = `${md.slice(0, cut)}\n\n> Sync figures carried over from the run of ${sync.report.machine.date} (${thisRun}).${md.slice(cut)}`;
    }
  } else {
    md = `# rosterdrop bench — ${new Date().toISOString().slice(0, 10)}\n\nSync benchmarks: not run (BENCH_ONLY=${parts.join(',')}), and no earlier figures in latest.json.\n`;
  }
  if (ftps.report) {
    md = appendSection(md, renderFtpsMarkdown(ftps.report), ftps.carried ? `FTPS figures carried over from the run of ${ftps.report.date} (${thisRun}).` : null);
  }
  if (daemon.report) {
    md = appendSection(md, renderDaemonMarkdown(daemon.report), daemon.carried ? `Daemon figures carried over from the run of ${daemon.report.date} (${thisRun}).` : null);
  }
  if (flood.report) {
    md = appendSection(md, renderFloodMarkdown(flood.report), flood.carried ? `Flood figures carried over from the run of ${flood.report.date} (${thisRun}).` : null);
  }
  if (loop.report) {
    md = appendSection(md, renderLoopMarkdown(loop.report), loop.carried ? `Event-loop figures carried over from the run of ${loop.report.date} (${thisRun}).` : null);
  }
  if (api.report) {
    md = appendSection(md, renderApiLatencyMarkdown(api.report), api.carried ? `API latency figures carried over from the run of ${api.report.date} (${thisRun}).` : null);
  }
  if (web.report) {
    md = appendSection(md, renderWebUploadMarkdown(web.report), web.carried ? `Web upload figures carried over from the run of ${web.report.date} (${thisRun}).` : null);
  }
  if (hash.report) {
    md = appendSection(md, renderHashMarkdown(hash.report), hash.carried ? `Hashing figures carried over from the run of ${hash.report.date} (${thisRun}).` : null);
  }
  return md;
}

/** The 1M bench's first-sync new users with a password (its passwordsPending), else the generator's 200k users. */
function oneMillionNewUsers(sync: BenchReport | null): number {
  const first = sync?.ops.find((o) => o.scale === TARGETS.scale && o.op === 'first sync' && o.passwordsPending);
  return first?.passwordsPending ?? TARGETS.scale / 5;
}

async function main(): Promise<void> {
  const parts = benchParts();
  const resultsDir = process.env.BENCH_RESULTS_DIR || path.resolve(__dirname, '..', '..', 'bench', 'results');
  const previous = readPreviousResults(resultsDir);
  // registered before the sync part's own handler (which exits): stop vsftpd, remove its account,
  // kill the daemon and remove its temp files
  process.on('SIGINT', () => {
    runInterruptCleanups();
    if (!parts.includes('sync')) process.exit(130);
  });

  let sync: BenchReport | null = null;
  let syncCarried = false;
  if (parts.includes('sync')) {
    sync = await runSyncBench();
  } else if (isSyncReport(previous)) {
    sync = previous;
    syncCarried = true;
  }

  let ftps: FtpsReport | null = null;
  let ftpsCarried = false;
  if (parts.includes('ftps')) {
    log('FTPS upload throughput');
    ftps = await runFtpsBench({
      tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(),
      keep: process.env.BENCH_KEEP === '1',
      verbose: process.env.BENCH_VERBOSE === '1',
      log,
    });
  } else if (previous?.ftps) {
    ftps = previous.ftps;
    ftpsCarried = true;
  }

  let daemon: DaemonReport | null = null;
  let daemonCarried = false;
  if (parts.includes('daemon')) {
    log('daemon: upload to email, and many domains at once');
    daemon = await runDaemonBench({
      tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(),
      keep: process.env.BENCH_KEEP === '1',
      verbose: process.env.BENCH_VERBOSE === '1',
      log,
    });
  } else if (previous?.daemon) {
    daemon = previous.daemon;
    daemonCarried = true;
  }

  let flood: FloodReport | null = null;
  let floodCarried = false;
  if (parts.includes('flood')) {
    log('command flood: daemon memory and another tenant\'s NOOP latency');
    flood = await runFloodBench({
      tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(),
      keep: process.env.BENCH_KEEP === '1',
      verbose: process.env.BENCH_VERBOSE === '1',
      log,
    });
  } else if (previous?.flood) {
    flood = previous.flood;
    floodCarried = true;
  }

  let loop: LoopReport | null = null;
  let loopCarried = false;
  if (parts.includes('loop')) {
    const cfg = readConfig();
    loop = await runLoopBench({ tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), adminUrl: cfg.adminUrl, dbs: cfg.dbs, log });
  } else if (previous?.loop) {
    loop = previous.loop;
    loopCarried = true;
  }

  let api: ApiLatencyReport | null = null;
  let apiCarried = false;
  if (parts.includes('api')) {
    const cfg = readConfig();
    fs.rmSync(cfg.tmpRoot, { recursive: true, force: true }); // readConfig makes one; the api part makes its own
    api = await runApiLatencyBench({ tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), adminUrl: cfg.adminUrl, dbs: cfg.dbs, log });
  } else if (previous?.api) {
    api = previous.api;
    apiCarried = true;
  }

  let web: WebUploadReport | null = null;
  let webCarried = false;
  if (parts.includes('web')) {
    log('web upload through the domain page vs FTPS, into the daemon');
    web = await runWebUploadBench(webUploadOptionsFromEnv(process.env.BENCH_TMPDIR || os.tmpdir()));
  } else if (previous?.web) {
    web = previous.web;
    webCarried = true;
  }

  let hash: HashReport | null = null;
  let hashCarried = false;
  if (parts.includes('hash')) {
    const cfg = readConfig();
    fs.rmSync(cfg.tmpRoot, { recursive: true, force: true }); // readConfig makes one; the hash part makes its own
    hash = await runHashBench({
      tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), keep: cfg.keep, adminUrl: cfg.adminUrl, dbs: cfg.dbs,
      target: oneMillionNewUsers(sync ?? (isSyncReport(previous) ? previous : null)), log,
    });
  } else if (previous?.hash) {
    hash = previous.hash;
    hashCarried = true;
  }

  const md = renderResults(
    parts, { report: sync, carried: syncCarried }, { report: ftps, carried: ftpsCarried }, { report: daemon, carried: daemonCarried },
    { report: flood, carried: floodCarried }, { report: loop, carried: loopCarried }, { report: hash, carried: hashCarried },
    { report: api, carried: apiCarried }, { report: web, carried: webCarried },
  );
  const json: ResultsFile = { ...(sync ?? {}), ftps, daemon, flood, loop, hash, api, web };
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, 'latest.md'), md);
  fs.writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(md);
  log(`wrote ${path.join(resultsDir, 'latest.md')} and latest.json`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
