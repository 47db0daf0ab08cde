/**
 * The daemon's main event loop during a large sync (issue 17 #6), run by `npm run bench`
 * (`BENCH_ONLY=loop`) or alone: `node dist/bench/event-loop.js`.
 *
 * Per database (BENCH_DBS) and engine, a child process (`node dist/bench/event-loop.js child …`)
 * starts the daemon in-process (`startDaemon`, FTPS on a free loopback port, mail to the outbox) on
 * a fresh database, copies a generated roster of BENCH_LOOP_ENROLLMENTS enrollments (default 1M,
 * no passwords) into a domain's folder and measures, with `perf_hooks.monitorEventLoopDelay`
 * (10 ms resolution), the main thread's event-loop delay from the moment the run is claimed until
 * it is recorded: p99 and max in ms, and the sync's duration. Engines (BENCH_LOOP_ENGINES):
 * `worker`, the daemon's (a worker thread per run), and `main-thread`, the engine on the daemon's
 * own thread as before issue 17 #6, for comparison.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadDaemonSettings } from '../src/config/daemon';
import { openDatabase } from '../src/db/data-source';
import { createDomain } from '../src/db/domains';
import { SyncRun } from '../src/db/entities';
import { startDaemon } from '../src/daemon/daemon';
import { SyncEngine } from '../src/sync/engine';
import { silentLogger } from '../src/util/logger';
import { freePort } from './ftps-upload';
import { generateRoster } from './generate';
import { adminQuery, freshDatabase } from './pg-admin';
import { fmtNum, mdTable, redact } from './markdown';

export type LoopEngine = 'worker' | 'main-thread';

export interface LoopRun {
  db: 'postgres' | 'sqlite';
  engine: LoopEngine;
  status: string | null;
  syncSeconds: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  error?: string;
}

export interface LoopReport {
  date: string;
  enrollments: number;
  databaseUrl: string;
  runs: LoopRun[];
}

interface ChildArgs { db: LoopRun['db']; engine: LoopEngine; zipPath: string; dir: string; databaseUrl?: string }

/** The child: the daemon in this process, one sync, the loop's delay during it. */
async function child(args: ChildArgs): Promise<LoopRun> {
  const env: NodeJS.ProcessEnv = {
    ROSTERDROP_DATA_DIR: args.dir, ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(await freePort()), ROSTERDROP_HTTP_PORT: '0',
    ROSTERDROP_WATCH_STABLE_MS: '200', ROSTERDROP_QUEUE_POLL_S: '1',
  };
  const settings = loadDaemonSettings(env);
  const ds = await openDatabase(args.databaseUrl ? { databaseUrl: args.databaseUrl, migrate: true, poolSize: 20 }
    : { sqlitePath: path.join(args.dir, 'rosterdrop.sqlite'), migrate: true });
  const domain = await createDomain(ds, { userspace: 'loop', name: 'Loop' });
  const logger = silentLogger();
  const daemon = await startDaemon(ds, settings, logger, args.engine === 'worker' ? undefined : new SyncEngine(ds, { logger }));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  try {
    fs.mkdirSync(path.join(settings.dropRoot, 'loop'), { recursive: true });
    fs.copyFileSync(args.zipPath, path.join(settings.dropRoot, 'loop', 'roster.zip'));
    const runs = ds.getRepository(SyncRun);
    // polled: each look is a turn of the loop, which a blocked loop cannot give (it is what we measure)
    while (!(await runs.findOneBy({ domainId: domain.id, status: 'running' }))) await sleep(20);
    delay.enable();
    let run: SyncRun | null = null;
    while (!(run = await runs.findOneBy({ domainId: domain.id })) || ['queued', 'running'].includes(run.status)) await sleep(20);
    await sleep(50); // a sync that never yields shows in the monitor's first tick after it
    delay.disable();
    const syncSeconds = run.startedAt && run.finishedAt ? (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000 : null;
    return { db: args.db, engine: args.engine, status: run.status, syncSeconds, p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
  } finally {
    await daemon.stop();
    await ds.destroy();
  }
}

function runChild(args: ChildArgs, timeoutMs: number): Promise<LoopRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [__filename, 'child', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as LoopRun);
      } catch {
        resolve({ db: args.db, engine: args.engine, status: null, syncSeconds: null, p99Ms: null, maxMs: null, error: `exit ${code}: ${err.slice(-500)}` });
      }
    });
  });
}

export async function runLoopBench(opts: { tmpBase: string; adminUrl: string; dbs: Array<LoopRun['db']>; log: (m: string) => void }): Promise<LoopReport> {
  const enrollments = Number(process.env.BENCH_LOOP_ENROLLMENTS ?? 1_000_000);
  const engines = (process.env.BENCH_LOOP_ENGINES ?? 'main-thread,worker').split(',').map((e) => e.trim()) as LoopEngine[];
  const timeoutMs = Number(process.env.BENCH_TIMEOUT_S ?? 7200) * 1000;
  const tmp = fs.mkdtempSync(path.join(opts.tmpBase, 'rosterdrop-loop-'));
  const report: LoopReport = { date: new Date().toISOString().slice(0, 10), enrollments, databaseUrl: redact(opts.adminUrl), runs: [] };
  try {
    opts.log(`event loop: generating ${enrollments} enrollments`);
    const roster = await generateRoster({ enrollments, dir: tmp, passwords: false });
    for (const db of opts.dbs) {
      for (const engine of engines) {
        const dir = fs.mkdtempSync(path.join(tmp, `${db}-${engine}-`));
        const name = 'rosterdrop_bench_loop';
        const databaseUrl = db === 'postgres' ? await freshDatabase(opts.adminUrl, name) : undefined;
        opts.log(`event loop: ${db}, ${engine}`);
        report.runs.push(await runChild({ db, engine, zipPath: roster.zipPath, dir, databaseUrl }, timeoutMs));
        if (db === 'postgres') await adminQuery(opts.adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return report;
}

export function renderLoopMarkdown(r: LoopReport): string {
  const rows = r.runs.map((x) => [x.db, x.engine, x.status ?? `error: ${x.error ?? '?'}`, fmtNum(x.syncSeconds, 1), fmtNum(x.p99Ms, 0), fmtNum(x.maxMs, 0)]);
  return `## Daemon event loop during a large sync\n\n${r.date}, ${r.enrollments.toLocaleString('en-US')} enrollments, the daemon in-process ` +
    `(\`monitorEventLoopDelay\`, 10 ms resolution, from the run's claim to its record). Requirement: no reply slower than 1 s.\n\n` +
    mdTable(['database', 'engine', 'status', 'sync s', 'loop delay p99 ms', 'max ms'], rows);
}

if (require.main === module) {
  const [mode, json] = process.argv.slice(2);
  if (mode === 'child') {
    child(JSON.parse(json) as ChildArgs).then((r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    }, (e: Error) => { process.stderr.write(`${e.stack ?? e.message}\n`); process.exit(1); });
  } else {
    const dbs = (process.env.BENCH_DBS ?? 'postgres,sqlite').split(',').map((d) => d.trim()) as Array<LoopRun['db']>;
    runLoopBench({ tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', dbs, log: (m) => process.stderr.write(`${m}\n`) })
      .then((r) => process.stdout.write(`${renderLoopMarkdown(r)}\n`), (e: Error) => { process.stderr.write(`${e.stack ?? e.message}\n`); process.exit(1); });
  }
}
