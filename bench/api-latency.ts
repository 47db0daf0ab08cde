/**
 * API latency under a large sync (issue 19, "Done means"), run by `npm run bench` (`BENCH_ONLY=api`)
 * or alone: `node dist/bench/api-latency.js` (prints the section without writing results).
 *
 * Per database (BENCH_API_DBS, default BENCH_DBS), a child process (`node dist/bench/api-latency.js
 * child …`) starts the whole daemon in-process (`startDaemon`: FTPS, watcher, queue runner with its
 * worker-thread engine, and the web admin over HTTPS on a loopback port) on a fresh database, with
 * one domain `api` whose administrator has an API token and a finished run (with 20 issues), and a
 * domain `big`. The bench process is the client: BENCH_API_CLIENTS (50) loops, each sending
 * `GET /api/v1/runs/{id}` with the token and the next request as soon as the answer has been read,
 * over keep-alive HTTPS (one `https.Agent`, keepAlive, maxSockets = clients). Measured, per request,
 * from the request's start to the end of its body:
 *  1. baseline: BENCH_API_BASELINE_S (15) seconds with the daemon idle (after 2 s of untimed warm-up);
 *  2. during a sync: a roster of BENCH_API_ENROLLMENTS (1,000,000) enrollments is copied into `big`'s
 *     drop folder; from the moment its run is `running` until it has finished (the whole first sync).
 * Target: p99 < 100 ms during the sync.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadDaemonSettings } from '../src/config/daemon';
import { openDatabase } from '../src/db/data-source';
import { createDomain } from '../src/db/domains';
import { SyncIssueRow, SyncRun } from '../src/db/entities';
import { createUser } from '../src/db/users';
import { startDaemon } from '../src/daemon/daemon';
import { emptyCounts } from '../src/sync/types';
import { silentLogger } from '../src/util/logger';
import { createApiToken } from '../src/services/api-tokens';
import { freePort } from './ftps-upload';
import { generateRoster } from './generate';
import { onInterrupt } from './interrupt';
import { adminQuery, freshDatabase } from './pg-admin';
import { fmtNum, mdTable, redact } from './markdown';

type Db = 'postgres' | 'sqlite';

export interface LatencyFigures { requests: number; errors: number; seconds: number; perSecond: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null }

export interface ApiLatencyRun {
  db: Db;
  baseline: LatencyFigures | null;
  duringSync: LatencyFigures | null;
  syncStatus: string | null;
  syncSeconds: number | null;
  error?: string;
}

export interface ApiLatencyReport { date: string; enrollments: number; clients: number; intervalMs: number; databaseUrl: string; cores: number; runs: ApiLatencyRun[] }

interface ChildArgs { db: Db; dir: string; zipPath: string; databaseUrl?: string }

type ChildEvent =
  | { event: 'ready'; port: number; token: string; runId: number }
  | { event: 'running' }
  | { event: 'finished'; status: string; seconds: number | null };

/** The child: the daemon, a token and a run to read; then one big sync when told. */
async function child(args: ChildArgs): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ROSTERDROP_DATA_DIR: args.dir, ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(await freePort()),
    ROSTERDROP_HTTP_HOST: '127.0.0.1', ROSTERDROP_HTTP_PORT: String(await freePort()),
    ROSTERDROP_WATCH_STABLE_MS: '200', ROSTERDROP_QUEUE_POLL_S: '1',
  };
  const settings = loadDaemonSettings(env);
  const ds = await openDatabase(args.databaseUrl ? { databaseUrl: args.databaseUrl, migrate: true, poolSize: 20 }
    : { sqlitePath: path.join(args.dir, 'rosterdrop.sqlite'), migrate: true });
  const api = await createDomain(ds, { userspace: 'api', name: 'API' });
  const big = await createDomain(ds, { userspace: 'big', name: 'Big' });
  const admin = await createUser(ds, { domainId: api.id, username: 'admin', admin: true, password: 'bench password 1' });
  const { token } = await createApiToken(ds, admin.id, 'bench');
  const counts = emptyCounts();
  counts.users.created = 200;
  counts.enrollments.created = 1000;
  const started = new Date(Date.now() - 5000);
  const run = await ds.getRepository(SyncRun).save({
    domainId: api.id, source: 'ftps', fileName: 'roster.zip', mode: 'apply', status: 'completed_with_errors', message: 'bench',
    counts: JSON.stringify(counts), timings: JSON.stringify({ read: 1000, validate: 500, plan: 500, apply: 2000, commit: 100 }),
    errorCount: 20, startedAt: started, finishedAt: new Date(), durationMs: 5000, sizeBytes: 123456, sha256: 'a'.repeat(64),
  });
  await ds.getRepository(SyncIssueRow).save(Array.from({ length: 20 }, (_, i) => ({
    runId: run.id, seq: i, severity: 'error' as const, code: 'bad_reference', file: 'enrollments.csv', line: i + 2, column: 'userSourcedId',
    sourcedId: `e${i}`, message: `userSourcedId u${i} is not in users.csv`,
  })));
  const daemon = await startDaemon(ds, settings, silentLogger());
  if (!daemon.web) throw new Error('the web admin did not start');
  const say = (e: ChildEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);
  say({ event: 'ready', port: daemon.web.port, token, runId: run.id });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'sync') {
      fs.mkdirSync(path.join(settings.dropRoot, 'big'), { recursive: true });
      fs.copyFileSync(args.zipPath, path.join(settings.dropRoot, 'big', 'roster.zip'));
      const runs = ds.getRepository(SyncRun);
      while (!(await runs.findOneBy({ domainId: big.id, status: 'running' }))) await sleep(50);
      say({ event: 'running' });
      let r: SyncRun | null = null;
      while (!(r = await runs.findOneBy({ domainId: big.id })) || ['queued', 'running'].includes(r.status)) await sleep(100);
      say({ event: 'finished', status: r.status, seconds: r.durationMs === null ? null : r.durationMs / 1000 });
    } else if (line === 'stop') {
      break;
    }
  }
  await daemon.stop();
  await ds.destroy();
}

/** `clients` loops of GET over one keep-alive agent until `stop` resolves; latencies in ms. */
export async function loadApi(o: { port: number; token: string; path: string; clients: number; intervalMs: number; stop: Promise<unknown> }): Promise<LatencyFigures> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: o.clients, rejectUnauthorized: false });
  const latencies: number[] = [];
  let errors = 0;
  let done = false;
  void o.stop.then(() => { done = true; });
  const once = () => new Promise<void>((resolve) => {
    const t = process.hrtime.bigint();
    const req = https.get({ host: '127.0.0.1', port: o.port, path: o.path, agent, headers: { authorization: `Bearer ${o.token}` } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - t) / 1e6); else errors++;
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
  });
  const began = process.hrtime.bigint();
  await Promise.all(Array.from({ length: o.clients }, async (_, i) => {
    // paced clients start spread over one interval, each then sends one request per interval (or as soon as the last answer came)
    if (o.intervalMs > 0) await sleep((i * o.intervalMs) / o.clients);
    while (!done) {
      const t = Date.now();
      await once();
      const wait = o.intervalMs - (Date.now() - t);
      if (wait > 0 && !done) await Promise.race([sleep(wait), o.stop]);
    }
  }));
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] : null);
  return { requests: latencies.length, errors, seconds, perSecond: latencies.length / seconds, p50Ms: pct(50), p99Ms: pct(99), maxMs: latencies.length ? latencies[latencies.length - 1] : null };
}

class ChildDaemon {
  private readonly waiters: Array<(e: ChildEvent) => void> = [];
  private readonly events: ChildEvent[] = [];
  stderr = '';

  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      let e: ChildEvent;
      try { e = JSON.parse(line) as ChildEvent; } catch { return; }
      const w = this.waiters.shift();
      if (w) w(e); else this.events.push(e);
    });
    proc.stderr.setEncoding('utf8').on('data', (s: string) => { this.stderr = (this.stderr + s).slice(-4000); });
  }

  next<E extends ChildEvent['event']>(event: E, timeoutMs: number): Promise<Extract<ChildEvent, { event: E }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" from the daemon within ${timeoutMs / 1000} s: ${this.stderr.slice(-500)}`)), timeoutMs);
      const onExit = () => reject(new Error(`the daemon exited before "${event}": ${this.stderr.slice(-500)}`));
      this.proc.once('exit', onExit);
      const take = (e: ChildEvent) => {
        clearTimeout(timer);
        this.proc.off('exit', onExit);
        if (e.event !== event) reject(new Error(`expected "${event}" from the daemon, got "${e.event}"`));
        else resolve(e as Extract<ChildEvent, { event: E }>);
      };
      const queued = this.events.shift();
      if (queued) take(queued); else this.waiters.push(take);
    });
  }

  send(line: string): void { this.proc.stdin.write(`${line}\n`); }
}

async function measure(db: Db, args: ChildArgs, clients: number, intervalMs: number, baselineS: number, timeoutMs: number, log: (m: string) => void): Promise<ApiLatencyRun> {
  const proc = spawn(process.execPath, [__filename, 'child', JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const off = onInterrupt(() => proc.kill('SIGKILL'));
  const d = new ChildDaemon(proc);
  const result: ApiLatencyRun = { db, baseline: null, duringSync: null, syncStatus: null, syncSeconds: null };
  try {
    const ready = await d.next('ready', 120_000);
    const target = { port: ready.port, token: ready.token, path: `/api/v1/runs/${ready.runId}`, clients, intervalMs };
    await loadApi({ ...target, stop: sleep(2000) }); // warm-up: TLS sessions, JIT, the pool
    log(`api latency: ${db}, baseline ${baselineS} s`);
    result.baseline = await loadApi({ ...target, stop: sleep(baselineS * 1000) });
    if (result.baseline.requests === 0) throw new Error(`GET ${target.path} never answered 200 (${result.baseline.errors} errors): is the runs API registered?`);
    log(`api latency: ${db}, during a sync of ${args.zipPath}`);
    d.send('sync');
    await d.next('running', timeoutMs);
    const finished = d.next('finished', timeoutMs);
    result.duringSync = await loadApi({ ...target, stop: finished.catch(() => undefined) });
    const f = await finished;
    result.syncStatus = f.status;
    result.syncSeconds = f.seconds;
    d.send('stop');
    await new Promise((resolve) => proc.once('exit', resolve));
  } catch (e) {
    result.error = (e as Error).message;
    proc.kill('SIGKILL');
  } finally {
    off();
  }
  return result;
}

export async function runApiLatencyBench(opts: { tmpBase: string; adminUrl: string; dbs: Db[]; log: (m: string) => void }): Promise<ApiLatencyReport> {
  const enrollments = Number(process.env.BENCH_API_ENROLLMENTS ?? 1_000_000);
  const clients = Number(process.env.BENCH_API_CLIENTS ?? 50);
  const baselineS = Number(process.env.BENCH_API_BASELINE_S ?? 15);
  const intervalMs = Number(process.env.BENCH_API_INTERVAL_MS ?? 1000);
  const dbs = process.env.BENCH_API_DBS ? process.env.BENCH_API_DBS.split(',').map((s) => s.trim()) as Db[] : opts.dbs;
  const timeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 7200) * 1000;
  const tmp = fs.mkdtempSync(path.join(opts.tmpBase, 'rosterdrop-api-'));
  const report: ApiLatencyReport = { date: new Date().toISOString().slice(0, 10), enrollments, clients, intervalMs, databaseUrl: redact(opts.adminUrl), cores: os.cpus().length, runs: [] };
  const off = onInterrupt(() => fs.rmSync(tmp, { recursive: true, force: true }));
  try {
    opts.log(`api latency: generating ${enrollments} enrollments`);
    const roster = await generateRoster({ enrollments, dir: tmp, passwords: false });
    for (const db of dbs) {
      const dir = fs.mkdtempSync(path.join(tmp, `${db}-`));
      const name = 'rosterdrop_bench_api';
      const databaseUrl = db === 'postgres' ? await freshDatabase(opts.adminUrl, name) : undefined;
      report.runs.push(await measure(db, { db, dir, zipPath: roster.zipPath, databaseUrl }, clients, intervalMs, baselineS, timeoutMs, opts.log));
      if (db === 'postgres') await adminQuery(opts.adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    off();
  }
  return report;
}

export function renderApiLatencyMarkdown(r: ApiLatencyReport): string {
  const row = (db: string, what: string, f: LatencyFigures | null, extra: string) =>
    [db, what, f ? String(f.requests) : '–', f ? String(f.errors) : '–', fmtNum(f?.perSecond, 0), fmtNum(f?.p50Ms, 1), fmtNum(f?.p99Ms, 1), fmtNum(f?.maxMs, 0), extra];
  const rows = r.runs.flatMap((x) => x.error && !x.baseline
    ? [[x.db, `error: ${x.error}`, '', '', '', '', '', '', '']]
    : [
      row(x.db, 'idle daemon (baseline)', x.baseline, ''),
      row(x.db, 'during the sync', x.duringSync, x.error ? `error: ${x.error}` : `${x.syncStatus ?? '?'} in ${fmtNum(x.syncSeconds, 1)} s; p99 < 100 ms: ${x.duringSync?.p99Ms !== null && x.duringSync?.p99Ms !== undefined && x.duringSync.p99Ms < 100 ? 'met' : 'NOT met'}`),
    ]);
  return `## API latency during a large sync\n\n${r.date}, \`GET /api/v1/runs/{id}\` with ${r.clients} concurrent keep-alive HTTPS clients (the bench process; ${r.intervalMs > 0 ? `each one request every ${r.intervalMs} ms at most` : 'closed loop: each sends its next request as soon as an answer came'}) against the daemon ` +
    `(a child process, web admin on loopback), idle and during a first sync of ${r.enrollments.toLocaleString('en-US')} enrollments; ${r.cores} cores. Target: p99 < 100 ms during the sync.\n\n` +
    mdTable(['database', 'while', 'requests', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'sync'], rows);
}

if (require.main === module) {
  const [mode, json] = process.argv.slice(2);
  if (mode === 'child') {
    child(JSON.parse(json) as ChildArgs).then(() => process.exit(0), (e: Error) => { process.stderr.write(`${e.stack ?? e.message}\n`); process.exit(1); });
  } else {
    const dbs = (process.env.BENCH_DBS ?? 'postgres,sqlite').split(',').map((d) => d.trim()) as Db[];
    runApiLatencyBench({ tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', dbs, log: (m) => process.stderr.write(`${m}\n`) })
      .then((r) => process.stdout.write(`${renderApiLatencyMarkdown(r)}\n`), (e: Error) => { process.stderr.write(`${e.stack ?? e.message}\n`); process.exit(1); });
  }
}
