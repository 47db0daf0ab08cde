/**
 * The daemon end to end (run by `npm run bench`, or alone: `node dist/bench/daemon.js`): issue 4's
 * "time from the end of an FTPS upload to the email for a small zip (target under 2 s), and
 * throughput with 20 domains uploading at once".
 *
 * The real daemon runs as a child process (`node bin/rosterdrop.js serve`) on a fresh PostgreSQL
 * database (BENCH_DAEMON_DB, default rosterdrop_bench_daemon, created on the admin URL
 * BENCH_DATABASE_URL, migrated with `rosterdrop migrate`, dropped at the end), with
 * ROSTERDROP_SYNC_CONCURRENCY = BENCH_DAEMON_CONCURRENCY (default 2, the daemon's default) and mail
 * going to an SMTP server in this process (smtp-server on 127.0.0.1) that records when each message
 * has fully arrived. Domains, their administrators and notification addresses are made with the CLI
 * (`domain add`, `user add <ud>/admin --admin --password-stdin`, `settings set <ud> notificationEmails …`).
 *
 * 1. Latency: a small zip (tests/helpers/roster.ts `standardRoster(20)`, one student renamed per run
 *    so no upload is skipped as identical) is uploaded BENCH_DAEMON_RUNS times (default 10), one after
 *    the other, with `curl --ssl-reqd -k -T`; measured from curl's exit (226 received) to the arrival
 *    of the message whose `X-Rosterdrop-Run` header is that upload's run.
 * 2. Throughput: BENCH_DAEMON_DOMAINS domains (default 20) each upload a generated roster of
 *    BENCH_DAEMON_ENROLLMENTS enrollments (default 1000, no passwords: hashing would dominate), all
 *    curl processes started together; measured: until every mail arrived, syncs per minute, and per
 *    run the queue wait and sync duration from its sync_run row. Every run must have succeeded exactly
 *    once (one row per domain, one attempt, one mail).
 *
 * Everything listens on and connects to 127.0.0.1 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { onInterrupt, runInterruptCleanups } from './interrupt';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { SMTPServer } from 'smtp-server';
import { BIN, childEnv, runCli } from '../tests/cli/harness';
import { REPO_ROOT } from '../tests/helpers/paths';
import { standardRoster } from '../tests/helpers/roster';
import { freePort, freePortRange, median } from './ftps-upload';
import { generateRoster } from './generate';
import { fmtNum, mdTable, redact } from './markdown';
import { envInt } from './env';

// ------------------------------------------------------------------------------------------------
// types

export const DAEMON_LATENCY_TARGET_S = 2;

export interface DaemonLatencyRun {
  run: number;
  file: string;
  runId: number | null;
  status: string | null;
  ok: boolean;
  /** curl time_total (connect, TLS, login, upload, 226) */
  curlSeconds: number | null;
  /** curl exit → the sync_run row was written (queued) */
  toQueuedSeconds: number | null;
  /** created_at → started_at */
  queueWaitSeconds: number | null;
  /** started_at → finished_at */
  syncSeconds: number | null;
  /** finished_at → the mail arrived (result files, settings, SMTP) */
  toMailSeconds: number | null;
  /** of toMailSeconds: the SMTP session, connect → message in (includes smtp-server's fixed 100 ms greeting delay) */
  smtpSeconds: number | null;
  /** curl exit → the mail arrived: the figure */
  latencySeconds: number | null;
  error?: string;
}

export interface DaemonThroughputRun {
  domain: string;
  runId: number | null;
  status: string | null;
  attempts: number | null;
  mails: number;
  ok: boolean;
  curlSeconds: number | null;
  /** seconds after the start of the uploads */
  uploadDoneAt: number | null;
  queueWaitSeconds: number | null;
  syncSeconds: number | null;
  /** finished_at → the mail arrived (the mail is sent outside the run's slot) */
  toMailSeconds: number | null;
  /** seconds after the start of the uploads */
  mailAt: number | null;
  /** this upload's curl exit → its mail */
  latencySeconds: number | null;
  error?: string;
}

export interface DaemonReport {
  date: string;
  node: string;
  cores: number;
  postgres: string | null;
  curl: string | null;
  /** ROSTERDROP_SYNC_CONCURRENCY given to the daemon */
  concurrency: number;
  database: string;
  totalSeconds: number;
  loadAverage: { before: number; after: number };
  /** why nothing (or not everything) was measured */
  missing?: string;
  daemon: { peakRssMB: number | null; cpuSeconds: number | null; exitCode: number | null; mailWarnings: number };
  latency: {
    runs: number;
    zipBytes: number;
    rows: Record<string, number>;
    results: DaemonLatencyRun[];
    medianSeconds: number | null;
    maxSeconds: number | null;
    target: { seconds: number; median: 'met' | 'not met' | 'not measured'; max: 'met' | 'not met' | 'not measured' };
  };
  throughput: {
    domains: number;
    enrollments: number;
    rows: Record<string, number>;
    zipBytes: number;
    results: DaemonThroughputRun[];
    /** start of the uploads → the last curl exit */
    uploadsSeconds: number | null;
    /** start of the uploads → the last mail */
    allMailsSeconds: number | null;
    /** the last curl exit → the last mail */
    afterLastUploadSeconds: number | null;
    /** domains / allMailsSeconds × 60 */
    syncsPerMinute: number | null;
    /** first started_at → last finished_at */
    runnerSpanSeconds: number | null;
    /** domains / runnerSpanSeconds × 60 */
    runnerSyncsPerMinute: number | null;
    medianQueueWaitSeconds: number | null;
    maxQueueWaitSeconds: number | null;
    medianSyncSeconds: number | null;
    maxSyncSeconds: number | null;
    medianToMailSeconds: number | null;
    exactlyOnce: boolean;
    problems: string[];
  } | null;
}

export interface DaemonBenchOptions {
  tmpBase: string;
  keep: boolean;
  verbose: boolean;
  log(msg: string): void;
}

// ------------------------------------------------------------------------------------------------
// helpers

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '']);

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with PostgreSQL's timestamps). */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}



function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function pgQuery<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

function curlVersion(): string | null {
  const r = spawnSync('curl', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : null;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function cli(env: NodeJS.ProcessEnv, args: readonly string[], input = ''): Promise<string> {
  const r = await runCli(env, args, input);
  if (r.code !== 0) throw new Error(`rosterdrop ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`.trim());
  return r.stdout;
}

// ------------------------------------------------------------------------------------------------
// the mail server

interface Arrival {
  /** the whole message is in (before the 250 reply) */
  at: number;
  /** the TCP connection was accepted (smtp-server then waits 100 ms before its greeting: its early-talker check) */
  connectedAt: number;
  runId: number | null;
  to: string[];
  subject: string;
}

/** The value of a header in a raw RFC 5322 message (unfolded), or null. */
function header(raw: string, name: string): string | null {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im');
  const m = re.exec(head);
  return m ? m[1].trim() : null;
}

interface MailSink {
  port: number;
  arrivals: Arrival[];
  close(): Promise<void>;
}

/** smtp-server on 127.0.0.1: records when each message has fully arrived (before the 250 reply). */
async function startMailSink(): Promise<MailSink> {
  const arrivals: Arrival[] = [];
  const accepted = new Map<number, number>(); // client port → TCP accept
  const connected = new Map<string, number>(); // session id → TCP accept
  const server = new SMTPServer({
    secure: false, disabledCommands: ['STARTTLS'], authOptional: true, logger: false, banner: 'rosterdrop bench', disableReverseLookup: true,
    onConnect(session, cb) {
      connected.set(session.id, accepted.get(session.remotePort) ?? NaN);
      accepted.delete(session.remotePort);
      cb();
    },
    onClose(session) {
      connected.delete(session.id);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const at = nowMs();
        const raw = Buffer.concat(chunks).toString('utf8');
        const run = Number(header(raw, 'X-Rosterdrop-Run'));
        arrivals.push({
          at, connectedAt: connected.get(session.id) ?? NaN, runId: Number.isInteger(run) && run > 0 ? run : null, to: session.envelope.rcptTo.map((a) => a.address),
          subject: header(raw, 'Subject') ?? '',
        });
        cb();
      });
    },
  });
  server.server.on('connection', (socket: Socket) => {
    if (socket.remotePort !== undefined) accepted.set(socket.remotePort, nowMs());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('the SMTP server has no port');
  return { port: address.port, arrivals, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

// ------------------------------------------------------------------------------------------------
// curl

interface Upload { ok: boolean; exitAt: number; timeTotal: number | null; responseCode: number | null; error?: string }

/** One explicit-FTPS upload; the credentials go in on stdin (`-K -`). `exitAt`: when curl exited. */
function curlUpload(file: string, port: number, login: string, password: string, name: string): Promise<Upload> {
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const args = ['--ssl-reqd', '-k', '-sS', '--max-time', '120', '-K', '-', '-T', file, `ftp://127.0.0.1:${port}/${name}`,
    '-w', '\\nBENCHW %{time_total} %{response_code}\\n'];
  return new Promise((resolve) => {
    const child = spawn('curl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let exitAt = NaN;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-2000); });
    child.on('exit', () => { exitAt = nowMs(); });
    child.on('error', (err) => resolve({ ok: false, exitAt: nowMs(), timeTotal: null, responseCode: null, error: err.message }));
    child.on('close', (code) => {
      const m = /BENCHW (\S+) (\S+)/.exec(stdout);
      const timeTotal = m ? Number(m[1]) : null;
      const responseCode = m ? Number(m[2]) : null;
      const ok = code === 0 && responseCode === 226;
      resolve({
        ok, exitAt: Number.isFinite(exitAt) ? exitAt : nowMs(), timeTotal, responseCode,
        ...(ok ? {} : { error: `curl exit ${code}, last reply ${responseCode ?? '?'}: ${stderr.trim().split('\n').slice(-3).join(' ')}` }),
      });
    });
    child.stdin.end(`user = ${quote(`${login}:${password}`)}\n`);
  });
}

// ------------------------------------------------------------------------------------------------
// the daemon

interface DaemonChild {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  waitFor(message: RegExp, timeoutMs: number): Promise<Record<string, unknown>>;
}

function startDaemonChild(env: NodeJS.ProcessEnv, verbose: boolean): DaemonChild {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { if (verbose) process.stderr.write(s); });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    if (verbose) process.stderr.write(s);
    buffer += s;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ message: text });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child, lines, exited,
    async waitFor(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let done = false;
      void exited.then(() => { done = true; });
      for (;;) {
        const seen = lines.find((l) => re.test(String(l.message)));
        if (seen) return seen;
        if (done || Date.now() > deadline) {
          const tail = lines.slice(-15).map((l) => JSON.stringify(l)).join('\n');
          throw new Error(`the daemon ${done ? `exited (${child.exitCode})` : 'did not log'} ${re} in time:\n${tail}`);
        }
        await sleep(50);
      }
    },
  };
}

/** Peak RSS (VmHWM) and CPU seconds of a running process, from /proc (Linux only). */
function processStats(pid: number | undefined): { peakRssMB: number | null; cpuSeconds: number | null } {
  if (!pid || process.platform !== 'linux') return { peakRssMB: null, cpuSeconds: null };
  let peakRssMB: number | null = null;
  let cpuSeconds: number | null = null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) peakRssMB = Number(m[1]) / 1024;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    cpuSeconds = (Number(f[11]) + Number(f[12])) / ticks;
  } catch {
    // leave null
  }
  return { peakRssMB, cpuSeconds };
}

// ------------------------------------------------------------------------------------------------
// runs in the database

interface RunRow {
  id: number;
  domain: string;
  file_name: string;
  status: string;
  attempts: number;
  message: string;
  counts: string | null;
  created_ms: number;
  started_ms: number | null;
  finished_ms: number | null;
}

const RUN_SQL = `SELECT r.id, d.userspace AS domain, r.file_name, r.status, r.attempts, r.message, r.counts,
    extract(epoch FROM r.created_at) * 1000 AS created_ms, extract(epoch FROM r.started_at) * 1000 AS started_ms,
    extract(epoch FROM r.finished_at) * 1000 AS finished_ms
  FROM sync_run r JOIN domain d ON d.id = r.domain_id`;

function toRunRow(r: Record<string, unknown>): RunRow {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(r.id), domain: String(r.domain), file_name: String(r.file_name), status: String(r.status), attempts: Number(r.attempts),
    message: String(r.message ?? ''), counts: r.counts === null ? null : String(r.counts),
    created_ms: Number(r.created_ms), started_ms: num(r.started_ms), finished_ms: num(r.finished_ms),
  };
}

const FINAL = (status: string) => status !== 'queued' && status !== 'running';

// ------------------------------------------------------------------------------------------------
// the bench


function emptyReport(concurrency: number, dbName: string): DaemonReport {
  return {
    date: new Date().toISOString(), node: process.version, cores: os.availableParallelism?.() ?? os.cpus().length, postgres: null,
    curl: curlVersion(), concurrency, database: dbName, totalSeconds: 0, loadAverage: { before: os.loadavg()[0], after: NaN },
    daemon: { peakRssMB: null, cpuSeconds: null, exitCode: null, mailWarnings: 0 },
    latency: {
      runs: 0, zipBytes: 0, rows: {}, results: [], medianSeconds: null, maxSeconds: null,
      target: { seconds: DAEMON_LATENCY_TARGET_S, median: 'not measured', max: 'not measured' },
    },
    throughput: null,
  };
}

export async function runDaemonBench(opts: DaemonBenchOptions): Promise<DaemonReport> {
  const started = Date.now();
  const runs = envInt('BENCH_DAEMON_RUNS', 10, 1, 1000);
  const domains = envInt('BENCH_DAEMON_DOMAINS', 20, 1, 200);
  const enrollments = envInt('BENCH_DAEMON_ENROLLMENTS', 1000, 100, 10_000_000);
  const concurrency = envInt('BENCH_DAEMON_CONCURRENCY', 2, 1, 64);
  const timeoutMs = envInt('BENCH_DAEMON_TIMEOUT_S', 300, 10, 86_400) * 1000;
  const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = process.env.BENCH_DAEMON_DB || 'rosterdrop_bench_daemon';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(dbName)) throw new Error(`BENCH_DAEMON_DB=${dbName}: expected a plain lower-case database name`);
  const report = emptyReport(concurrency, dbName);
  const host = new URL(adminUrl).hostname;
  if (!LOOPBACK.has(host) && process.env.BENCH_ALLOW_REMOTE !== '1') {
    report.missing = `BENCH_DATABASE_URL points at ${host}: the bench only connects to a local server (BENCH_ALLOW_REMOTE=1 overrides)`;
    return report;
  }
  if (!report.curl) {
    report.missing = 'curl is not installed';
    return report;
  }
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    report.missing = 'the CLI is not built (npm run build)';
    return report;
  }
  try {
    report.postgres = (await pgQuery<{ server_version: string }>(adminUrl, 'SHOW server_version'))[0].server_version;
  } catch (err) {
    report.missing = `PostgreSQL at ${redact(adminUrl)} is not reachable: ${(err as Error).message}`;
    return report;
  }

  const tmp = fs.mkdtempSync(path.join(opts.tmpBase, 'rosterdrop-daemon-bench-'));
  const dbUrl = withDatabase(adminUrl, dbName);
  let daemon: DaemonChild | null = null;
  let smtp: MailSink | null = null;
  let db: Client | null = null;
  const interrupted = () => {
    daemon?.child.kill('SIGKILL');
    if (!opts.keep) fs.rmSync(tmp, { recursive: true, force: true });
  };
  const unregister = onInterrupt(interrupted);
  try {
    opts.log(`daemon: database ${dbName}, temp ${tmp}`);
    await pgQuery(adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await pgQuery(adminUrl, `CREATE DATABASE ${dbName}`);
    smtp = await startMailSink();
    const port = await freePort();
    const pasv = await freePortRange(Math.max(40, domains * 2));
    const dataDir = path.join(tmp, 'data');
    const env = childEnv({
      DATABASE_URL: dbUrl, ROSTERDROP_DATA_DIR: dataDir, NODE_ENV: 'production',
      ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(port), ROSTERDROP_HTTP_PORT: '0',
      ROSTERDROP_FTPS_PASV_MIN: String(pasv.minPort), ROSTERDROP_FTPS_PASV_MAX: String(pasv.maxPort),
      ROSTERDROP_SMTP_HOST: '127.0.0.1', ROSTERDROP_SMTP_PORT: String(smtp.port), ROSTERDROP_SMTP_REQUIRE_TLS: 'false',
      ROSTERDROP_MAIL_FROM: 'rosterdrop@bench.test', ROSTERDROP_SYNC_CONCURRENCY: String(concurrency),
    });

    opts.log('daemon: migrating, creating domains and administrators with the CLI');
    await cli(env, ['migrate']);
    const password = `Bench-${randomBytes(12).toString('base64url')}`;
    const latencyDomain = 'lat';
    const tpDomains = Array.from({ length: domains }, (_, i) => `tp${String(i + 1).padStart(2, '0')}`);
    await mapLimit([latencyDomain, ...tpDomains], 4, async (ud) => {
      await cli(env, ['domain', 'add', ud, '--name', `Bench ${ud}`]);
      await cli(env, ['user', 'add', `${ud}/admin`, '--admin', '--password-stdin'], `${password}\n`);
      await cli(env, ['settings', 'set', ud, 'notificationEmails', `ops@${ud}.bench.test`]);
    });

    // the zips: small ones for the latency runs, one generated roster for every throughput domain
    const zipDir = path.join(tmp, 'zips');
    fs.mkdirSync(zipDir, { recursive: true });
    const smallZips: string[] = [];
    for (let i = 1; i <= runs; i++) {
      const roster = standardRoster(20).set('users', 's1', { givenName: `Run${i}` });
      if (i === 1) {
        for (const [name, text] of roster.toFiles()) {
          if (name !== 'manifest.csv') report.latency.rows[name.replace(/\.csv$/, '')] = text.split('\n').filter(Boolean).length - 1;
        }
      }
      smallZips.push(await roster.zip(zipDir, `latency-${String(i).padStart(2, '0')}.zip`));
    }
    report.latency.zipBytes = fs.statSync(smallZips[0]).size;
    opts.log(`daemon: generating a ${enrollments}-enrollment roster for the throughput part`);
    const big = await generateRoster({ enrollments, passwords: false, dir: path.join(tmp, 'generated') });

    opts.log(`daemon: starting rosterdrop serve (ROSTERDROP_SYNC_CONCURRENCY=${concurrency})`);
    daemon = startDaemonChild(env, opts.verbose);
    await daemon.waitFor(/^rosterdrop is running$/, 60_000);
    db = new Client({ connectionString: dbUrl, connectionTimeoutMillis: 5000 });
    await db.connect();
    const client = db;
    const runsWhere = async (where: string, params: unknown[]): Promise<RunRow[]> =>
      (await client.query(`${RUN_SQL} WHERE ${where} ORDER BY r.id`, params)).rows.map((r: Record<string, unknown>) => toRunRow(r));
    const sink = smtp;
    const until = async <T>(what: string, probe: () => Promise<T | null> | T | null, interval = 20): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await probe();
        if (v !== null) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(interval);
      }
    };

    // ---- 1. latency, one upload at a time ---------------------------------------------------------
    report.latency.runs = runs;
    for (let i = 0; i < runs; i++) {
      const file = path.basename(smallZips[i]);
      const r: DaemonLatencyRun = {
        run: i + 1, file, runId: null, status: null, ok: false, curlSeconds: null, toQueuedSeconds: null, queueWaitSeconds: null,
        syncSeconds: null, toMailSeconds: null, smtpSeconds: null, latencySeconds: null,
      };
      report.latency.results.push(r);
      try {
        const up = await curlUpload(smallZips[i], port, `${latencyDomain}/admin`, password, file);
        r.curlSeconds = up.timeTotal;
        if (!up.ok) throw new Error(up.error);
        const row = await until(`the run of ${file}`, async () => {
          const [x] = await runsWhere('d.userspace = $1 AND r.file_name = $2', [latencyDomain, file]);
          return x && FINAL(x.status) ? x : null;
        });
        r.runId = row.id;
        r.status = row.status;
        const mail = await until(`the mail of run ${row.id}`, () => sink.arrivals.find((a) => a.runId === row.id) ?? null);
        r.latencySeconds = (mail.at - up.exitAt) / 1000;
        r.toQueuedSeconds = (row.created_ms - up.exitAt) / 1000;
        if (row.started_ms !== null) r.queueWaitSeconds = (row.started_ms - row.created_ms) / 1000;
        if (row.started_ms !== null && row.finished_ms !== null) r.syncSeconds = (row.finished_ms - row.started_ms) / 1000;
        if (row.finished_ms !== null) r.toMailSeconds = (mail.at - row.finished_ms) / 1000;
        if (Number.isFinite(mail.connectedAt)) r.smtpSeconds = (mail.at - mail.connectedAt) / 1000;
        r.ok = row.status === 'succeeded';
        if (!r.ok) r.error = `${row.status}: ${row.message}`;
      } catch (err) {
        r.error = (err as Error).message;
      }
      opts.log(`daemon: latency run ${r.run}/${runs}: ${r.ok ? `${fmtNum(r.latencySeconds, 3)} s (sync ${fmtNum(r.syncSeconds, 3)} s)` : `failed: ${r.error?.split('\n')[0]}`}`);
      await sleep(300); // let the runner release the domain and archive the file
    }
    const latOk = report.latency.results.filter((x) => x.ok).map((x) => x.latencySeconds as number);
    report.latency.medianSeconds = median(latOk);
    report.latency.maxSeconds = latOk.length ? Math.max(...latOk) : null;
    const allLatOk = latOk.length === runs;
    if (report.latency.medianSeconds !== null) report.latency.target.median = allLatOk && report.latency.medianSeconds < DAEMON_LATENCY_TARGET_S ? 'met' : 'not met';
    if (report.latency.maxSeconds !== null) report.latency.target.max = allLatOk && report.latency.maxSeconds < DAEMON_LATENCY_TARGET_S ? 'met' : 'not met';

    // ---- 2. throughput: every domain uploads at the same moment --------------------------------
    const tp: NonNullable<DaemonReport['throughput']> = {
      domains, enrollments, rows: big.rows, zipBytes: fs.statSync(big.zipPath).size, results: [], uploadsSeconds: null, allMailsSeconds: null,
      afterLastUploadSeconds: null, syncsPerMinute: null, runnerSpanSeconds: null, runnerSyncsPerMinute: null,
      medianQueueWaitSeconds: null, maxQueueWaitSeconds: null, medianSyncSeconds: null, maxSyncSeconds: null, medianToMailSeconds: null, exactlyOnce: false, problems: [],
    };
    report.throughput = tp;
    await sleep(1000);
    opts.log(`daemon: throughput: ${domains} domains upload a ${enrollments}-enrollment roster at once`);
    const t0 = nowMs();
    const uploads = await Promise.all(tpDomains.map((ud) => curlUpload(big.zipPath, port, `${ud}/admin`, password, 'roster.zip')));
    const lastUpload = Math.max(...uploads.map((u) => u.exitAt));
    tp.uploadsSeconds = (lastUpload - t0) / 1000;
    opts.log(`daemon: throughput: uploads done in ${fmtNum(tp.uploadsSeconds)} s (${uploads.filter((u) => u.ok).length}/${domains} ok)`);
    const okDomains = tpDomains.filter((_, i) => uploads[i].ok);
    let rows: RunRow[] = [];
    try {
      rows = await until(`the runs of ${okDomains.length} domains`, async () => {
        const x = await runsWhere('d.userspace LIKE $1', ['tp%']);
        return okDomains.every((ud) => x.some((r) => r.domain === ud && FINAL(r.status))) ? x : null;
      }, 100);
      await until('every mail', () => (rows.every((r) => sink.arrivals.some((a) => a.runId === r.id)) ? true : null), 50);
    } catch (err) {
      tp.problems.push((err as Error).message);
      rows = await runsWhere('d.userspace LIKE $1', ['tp%']);
    }
    await sleep(1500); // a duplicate mail or a second run would show up now
    rows = await runsWhere('d.userspace LIKE $1', ['tp%']);

    const expectedUsers = big.rows.users;
    for (let i = 0; i < domains; i++) {
      const ud = tpDomains[i];
      const up = uploads[i];
      const mine = rows.filter((r) => r.domain === ud);
      const row = mine[0];
      const mails = row ? sink.arrivals.filter((a) => a.runId === row.id) : [];
      const x: DaemonThroughputRun = {
        domain: ud, runId: row?.id ?? null, status: row?.status ?? null, attempts: row?.attempts ?? null, mails: mails.length, ok: false,
        curlSeconds: up.timeTotal, uploadDoneAt: (up.exitAt - t0) / 1000,
        queueWaitSeconds: row?.started_ms != null ? (row.started_ms - row.created_ms) / 1000 : null,
        syncSeconds: row?.started_ms != null && row.finished_ms != null ? (row.finished_ms - row.started_ms) / 1000 : null,
        toMailSeconds: mails.length && row?.finished_ms != null ? (mails[0].at - row.finished_ms) / 1000 : null,
        mailAt: mails.length ? (mails[0].at - t0) / 1000 : null,
        latencySeconds: mails.length ? (mails[0].at - up.exitAt) / 1000 : null,
      };
      const problems: string[] = [];
      if (!up.ok) problems.push(`upload failed: ${up.error}`);
      if (mine.length !== 1) problems.push(`${mine.length} runs`);
      if (row && row.status !== 'succeeded') problems.push(`${row.status}: ${row.message}`);
      if (row && row.attempts !== 1) problems.push(`${row.attempts} attempts`);
      if (mails.length !== 1) problems.push(`${mails.length} mails`);
      if (mails.length && !mails[0].to.includes(`ops@${ud}.bench.test`)) problems.push(`mail went to ${mails[0].to.join(', ')}`);
      if (row?.counts) {
        const counts = JSON.parse(row.counts) as { users?: { created?: number } };
        if (counts.users?.created !== expectedUsers) problems.push(`users created ${counts.users?.created ?? '?'}, expected ${expectedUsers}`);
      }
      x.ok = problems.length === 0;
      if (problems.length) {
        x.error = problems.join('; ');
        tp.problems.push(`${ud}: ${x.error}`);
      }
      tp.results.push(x);
    }
    const stray = rows.filter((r) => !tpDomains.includes(r.domain));
    if (stray.length) tp.problems.push(`runs in other domains: ${stray.map((r) => `${r.domain} #${r.id}`).join(', ')}`);
    tp.exactlyOnce = tp.results.every((x) => x.ok) && !stray.length;
    const mailTimes = tp.results.map((x) => x.mailAt).filter((v): v is number => v !== null);
    if (mailTimes.length === domains) {
      tp.allMailsSeconds = Math.max(...mailTimes);
      tp.afterLastUploadSeconds = tp.allMailsSeconds - tp.uploadsSeconds;
      tp.syncsPerMinute = (domains / tp.allMailsSeconds) * 60;
    }
    const starts = rows.map((r) => r.started_ms).filter((v): v is number => v !== null);
    const ends = rows.map((r) => r.finished_ms).filter((v): v is number => v !== null);
    if (starts.length === domains && ends.length === domains) {
      tp.runnerSpanSeconds = (Math.max(...ends) - Math.min(...starts)) / 1000;
      tp.runnerSyncsPerMinute = (domains / tp.runnerSpanSeconds) * 60;
    }
    const waits = tp.results.map((x) => x.queueWaitSeconds).filter((v): v is number => v !== null);
    const syncs = tp.results.map((x) => x.syncSeconds).filter((v): v is number => v !== null);
    tp.medianQueueWaitSeconds = median(waits);
    tp.maxQueueWaitSeconds = waits.length ? Math.max(...waits) : null;
    tp.medianSyncSeconds = median(syncs);
    tp.maxSyncSeconds = syncs.length ? Math.max(...syncs) : null;
    tp.medianToMailSeconds = median(tp.results.map((x) => x.toMailSeconds).filter((v): v is number => v !== null));
    opts.log(`daemon: throughput: all mails ${fmtNum(tp.allMailsSeconds)} s after the start, ${fmtNum(tp.syncsPerMinute, 1)} syncs/min; ` +
      `exactly once: ${tp.exactlyOnce ? 'yes' : `NO (${tp.problems.join('; ')})`}`);

    report.daemon.mailWarnings = daemon.lines.filter((l) => /^report mail (attempt failed|not delivered)$/.test(String(l.message))).length;
  } catch (err) {
    report.missing = (err as Error).message;
    opts.log(`daemon: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    unregister();
    if (daemon) {
      Object.assign(report.daemon, processStats(daemon.child.pid));
      const d = daemon;
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGTERM');
      const killer = setTimeout(() => d.child.kill('SIGKILL'), 30_000);
      report.daemon.exitCode = await d.exited;
      clearTimeout(killer);
    }
    await db?.end().catch(() => undefined);
    await smtp?.close().catch(() => undefined);
    await pgQuery(adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((e: Error) => opts.log(`daemon: could not drop ${dbName}: ${e.message}`));
    if (!opts.keep) fs.rmSync(tmp, { recursive: true, force: true });
  }
  report.totalSeconds = (Date.now() - started) / 1000;
  report.loadAverage.after = os.loadavg()[0];
  return report;
}

// ------------------------------------------------------------------------------------------------
// report


const verdict = (v: 'met' | 'not met' | 'not measured') => (v === 'met' ? '✅ met' : v === 'not met' ? '❌ not met' : '— not measured');

function rowsText(rows: Record<string, number>): string {
  return Object.entries(rows).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`).join(', ');
}

/** The `## Daemon: upload to email` section of latest.md. */
export function renderDaemonMarkdown(r: DaemonReport): string {
  const parts: string[] = [];
  parts.push(`## Daemon: upload to email, and ${r.throughput?.domains ?? 20} domains at once (${r.date.slice(0, 10)})`);
  parts.push([
    `- \`rosterdrop serve\` as a child process on PostgreSQL ${r.postgres ?? '—'} (a fresh database \`${r.database}\`, migrated with \`rosterdrop migrate\`), ` +
      `**ROSTERDROP_SYNC_CONCURRENCY=${r.concurrency}**; mail to an SMTP server on 127.0.0.1 in the bench process (smtp-server); uploads with curl explicit FTPS (\`--ssl-reqd -k -T\`) over 127.0.0.1; ${r.cores} cores, Node ${r.node}`,
    `- ${r.curl ?? 'curl missing'}`,
    `- Took ${fmtNum(r.totalSeconds / 60, 1)} min; 1-minute load average ${fmtNum(r.loadAverage.before)} before, ${fmtNum(r.loadAverage.after)} after; ` +
      `daemon peak RSS ${fmtNum(r.daemon.peakRssMB, 0)} MB, CPU ${fmtNum(r.daemon.cpuSeconds, 1)} s over the whole bench, exit code ${r.daemon.exitCode ?? '—'} after SIGTERM` +
      `${r.daemon.mailWarnings ? `; ${r.daemon.mailWarnings} failed mail attempt(s) in its log` : ''}`,
  ].join('\n'));
  if (r.missing) parts.push(`**Not (fully) measured:** ${r.missing.split('\n')[0]}`);

  const l = r.latency;
  parts.push(`### Upload end to email, small zip (${l.runs} uploads, one at a time)`);
  parts.push(`Zip: ${l.zipBytes.toLocaleString('en-US')} bytes (${rowsText(l.rows)}); each upload renames one student, so none is skipped as identical. Run 1 is the domain's first sync.`);
  parts.push(mdTable(
    ['run', 'run id', 'status', 'curl s', 'upload end → queued s', 'queue wait s', 'sync s', 'sync end → mail s', 'of which SMTP session s', '**upload end → mail s**'],
    l.results.map((x) => [
      String(x.run), x.runId === null ? '—' : String(x.runId), x.ok ? String(x.status) : `error: ${(x.error ?? '').split('\n')[0].slice(0, 160)}`,
      fmtNum(x.curlSeconds, 3), fmtNum(x.toQueuedSeconds, 3), fmtNum(x.queueWaitSeconds, 3), fmtNum(x.syncSeconds, 3), fmtNum(x.toMailSeconds, 3), fmtNum(x.smtpSeconds, 3),
      fmtNum(x.latencySeconds, 3),
    ]),
    ['---:', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
  ));
  parts.push(mdTable(
    ['upload end → mail', 'seconds', 'target', 'result'],
    [
      ['median', fmtNum(l.medianSeconds, 3), `< ${l.target.seconds} s`, verdict(l.target.median)],
      ['max', fmtNum(l.maxSeconds, 3), `< ${l.target.seconds} s`, verdict(l.target.max)],
    ],
    ['---', '---:', '---', '---'],
  ));

  const t = r.throughput;
  if (t) {
    parts.push(`### ${t.domains} domains uploading at once`);
    parts.push(`Each domain's administrator uploads the same generated roster (${t.enrollments.toLocaleString('en-US')} enrollments: ${rowsText(t.rows)}; ` +
      `${(t.zipBytes / 1024).toFixed(0)} KiB, no passwords) as its first sync; the ${t.domains} curl processes are started together (t = 0).`);
    parts.push(mdTable(
      ['figure', 'value'],
      [
        ['all uploads done (last curl exit)', `${fmtNum(t.uploadsSeconds)} s`],
        ['**all mails arrived**', `**${fmtNum(t.allMailsSeconds)} s**`],
        ['… after the last upload ended', `${fmtNum(t.afterLastUploadSeconds)} s`],
        ['**syncs per minute**, end to end (domains / all mails arrived)', `**${fmtNum(t.syncsPerMinute, 1)}**`],
        ['syncs per minute of the runner (first start → last finish)', `${fmtNum(t.runnerSyncsPerMinute, 1)} (${fmtNum(t.runnerSpanSeconds)} s)`],
        ['queue wait (created_at → started_at), median / max', `${fmtNum(t.medianQueueWaitSeconds)} / ${fmtNum(t.maxQueueWaitSeconds)} s`],
        ['sync duration (started_at → finished_at), median / max', `${fmtNum(t.medianSyncSeconds)} / ${fmtNum(t.maxSyncSeconds)} s`],
        ['sync end → mail, median', `${fmtNum(t.medianToMailSeconds)} s`],
        ['every run succeeded exactly once (1 run, 1 attempt, 1 mail per domain, right counts)', t.exactlyOnce ? '✅ yes' : `❌ no: ${t.problems.join('; ').slice(0, 300)}`],
      ],
      ['---', '---:'],
    ));
    parts.push(mdTable(
      ['domain', 'run id', 'status', 'attempts', 'mails', 'curl s', 'upload done at s', 'queue wait s', 'sync s', 'sync end → mail s', 'mail at s', 'upload end → mail s'],
      t.results.map((x) => [
        x.domain, x.runId === null ? '—' : String(x.runId), x.ok ? String(x.status) : `error: ${(x.error ?? '').slice(0, 160)}`,
        x.attempts === null ? '—' : String(x.attempts), String(x.mails), fmtNum(x.curlSeconds), fmtNum(x.uploadDoneAt), fmtNum(x.queueWaitSeconds),
        fmtNum(x.syncSeconds), fmtNum(x.toMailSeconds), fmtNum(x.mailAt), fmtNum(x.latencySeconds),
      ]),
      ['---', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    ));
  }
  parts.push([
    '- Upload end = curl\'s exit after the `226` (the daemon answers `226` only after fsync, rename into the drop folder and folder fsync); mail = the SMTP server has the whole message (before its `250`), matched by the `X-Rosterdrop-Run` header.',
    '- Queued / started / finished = the run\'s sync_run row: `created_at` (the intake queued it), `started_at` (the engine began; the runner claims a run shortly before), `finished_at`. ' +
      'Sync end → mail = result files (fsynced), settings, composing, and the SMTP session (a new connection per message), which includes a fixed 100 ms that smtp-server waits before its greeting to catch early talkers: ~0.1 s of every figure here is the test mail server\'s, not the daemon\'s.',
    '- Upload end → queued can be slightly negative: the run is queued when the `226` is sent, and curl exits only after its `QUIT`.',
    `- At most ${r.concurrency} syncs run at once (one per domain). A run's slot (and its domain lock) is held for the sync and the result files; the mail is sent outside it, so the queue wait grows by about one sync time per ${r.concurrency} runs ahead in the queue` +
      (t && t.medianSyncSeconds !== null && t.runnerSpanSeconds !== null
        ? ` (here ${t.domains} / ${r.concurrency} × ${fmtNum(t.medianSyncSeconds)} s ≈ ${fmtNum((t.domains / r.concurrency) * t.medianSyncSeconds)} s against a runner span of ${fmtNum(t.runnerSpanSeconds)} s).`
        : '.'),
    '- Domains, administrators and notification addresses were made with the CLI (`domain add`, `user add --admin --password-stdin`, `settings set … notificationEmails`); the FTPS login checks the password with Argon2id (in curl s).',
  ].join('\n'));
  return parts.join('\n\n');
}

// ------------------------------------------------------------------------------------------------

if (require.main === module) {
  const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  process.on('SIGINT', () => {
    runInterruptCleanups();
    process.exit(130);
  });
  runDaemonBench({ tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), keep: process.env.BENCH_KEEP === '1', verbose: process.env.BENCH_VERBOSE === '1', log })
    .then((r) => process.stdout.write(`${renderDaemonMarkdown(r)}\n`))
    .catch((e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    });
}
