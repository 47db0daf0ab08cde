/**
 * FTPS upload throughput (run by `npm run bench`, or alone: `node dist/bench/ftps-upload.js`).
 *
 * A file of BENCH_FTPS_MB MiB (default 300) is uploaded with curl over explicit FTPS
 * (`curl --ssl-reqd -k -T file ftp://127.0.0.1:PORT/bench.zip`) BENCH_FTPS_RUNS times (default 3)
 * to each of:
 * - rosterdrop: our DropServer with the real LmsAuthenticator on a temp SQLite LMS (domain `bench`,
 *   administrator `bench/admin`), a generated self-signed certificate and a sink that records the
 *   upload. The server runs in a child process of its own (`node dist/bench/ftps-upload.js serve
 *   '<json>'`), as the daemon would, so its CPU time can be read per upload and the bench's own
 *   work never competes with it inside the process.
 * - vsftpd (the reference) on the same machine, as a non-daemon child (`background=NO`) with the
 *   same certificate, TLS forced for login and data, logging in as a local system user. Missing
 *   vsftpd (or no way to log in to it) is reported, and our figure stands alone.
 *
 * Runs alternate between the servers (ours first on odd runs, vsftpd first on even ones), after an
 * untimed small warm-up upload to each that also proves the login works. Before every upload the
 * previous upload is deleted and `sync` flushes dirty pages, so no run pays for another's writeback.
 * Figures come from curl's own `-w` timings: MB/s = size_upload / time_total (1 MB = 2^20 bytes).
 * Everything listens on 127.0.0.1 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { onInterrupt, runInterruptCleanups } from './interrupt';
import { fmtNum, mdTable } from './markdown';
import * as readline from 'node:readline';
import { envInt } from './env';

// ------------------------------------------------------------------------------------------------
// types

export type FtpsServerName = 'rosterdrop' | 'vsftpd';

export interface FtpsRun {
  server: FtpsServerName;
  run: number;
  ok: boolean;
  /** curl time_total: connect, TLS, login, EPSV, STOR, upload, until the 226 */
  seconds: number | null;
  /** size_upload / time_total, MB/s (MB = 2^20 bytes) */
  mbPerSec: number | null;
  /** curl's own speed_upload, MB/s */
  curlSpeedMBs: number | null;
  /** curl time_pretransfer: connected, logged in and STOR sent */
  pretransferSeconds: number | null;
  /** size_upload / (time_total − time_pretransfer): the data transfer and the wait for 226 */
  transferMBs: number | null;
  /** CPU seconds (user + system) the server spent on this upload, from /proc (Linux only) */
  serverCpuSeconds: number | null;
  /** the server received every byte (size, and SHA-256 for both servers) */
  verified: boolean;
  /** "TLSv1.3 / TLS_AES_256_GCM_SHA384" as curl reports it for the data connection */
  tls: string | null;
  error?: string;
}

export interface FtpsServerResult {
  server: FtpsServerName;
  version: string | null;
  available: boolean;
  /** why the server was not measured */
  missing?: string;
  /** notes on how it was run (e.g. sandbox options turned off) */
  notes: string[];
  runs: FtpsRun[];
  medianMBs: number | null;
  medianTransferMBs: number | null;
  medianServerCpuSeconds: number | null;
}

export interface FtpsReport {
  date: string;
  fileMB: number;
  fileBytes: number;
  runsPerServer: number;
  curl: string | null;
  node: string;
  nodeOpenssl: string;
  cores: number;
  /** where the rosterdrop server ran */
  serverProcess: 'child process';
  /** 1-minute load average before and after: other work on the machine skews the figures */
  loadAverage: { before: number; after: number };
  totalSeconds: number;
  ours: FtpsServerResult;
  vsftpd: FtpsServerResult;
  /** ours median MB/s / vsftpd median MB/s */
  ratio: number | null;
  target: { ratio: number; result: 'met' | 'not met' | 'not measured'; note?: string };
}

export const FTPS_TARGET_RATIO = 0.8;

export interface FtpsBenchOptions {
  tmpBase: string;
  keep: boolean;
  verbose: boolean;
  log(msg: string): void;
}

const MB = 1048576;
const UPLOAD_NAME = 'bench.zip';
const BENCH_USERSPACE = 'bench';
const BENCH_LOGIN = `${BENCH_USERSPACE}/admin`;
/** the system account created for vsftpd when none is configured (and removed afterwards) */
const VSFTPD_USER = 'rdbench';
const VSFTPD_USER_MARK = 'rosterdrop bench (temporary)';
const PASSWORD_ENV = 'ROSTERDROP_BENCH_FTPS_PASSWORD';
const VSFTPD_BIN_CANDIDATES = ['/usr/sbin/vsftpd', '/usr/bin/vsftpd', '/usr/local/sbin/vsftpd'];

// ------------------------------------------------------------------------------------------------
// small helpers

export function median(values: number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const fmt = (n: number | null | undefined, digits = 1): string => fmtNum(n, digits);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A range of `size` consecutive free ports on 127.0.0.1 (checked by binding each). */
export async function freePortRange(size: number, avoid: Array<{ minPort: number; maxPort: number }> = []): Promise<{ minPort: number; maxPort: number }> {
  const bindable = (port: number) => new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
  for (let attempt = 0; attempt < 200; attempt++) {
    const minPort = 30000 + Math.floor(Math.random() * 25000);
    const maxPort = minPort + size - 1;
    if (avoid.some((r) => minPort <= r.maxPort && maxPort >= r.minPort)) continue;
    let ok = true;
    for (let p = minPort; p <= maxPort && ok; p++) ok = await bindable(p);
    if (ok) return { minPort, maxPort };
  }
  throw new Error('no free passive port range on 127.0.0.1');
}

function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

let clockTicks: number | null = null;
/** user + system CPU seconds of a process (all its threads). */
function processCpuSeconds(pid: number | undefined): number | null {
  if (!pid || process.platform !== 'linux') return null;
  try {
    clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    const ticks = Number(f[11]) + Number(f[12]);
    return ticks / clockTicks;
  } catch {
    return null;
  }
}

function childPids(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function descendantPids(pid: number): number[] {
  const out: number[] = [];
  const stack = childPids(pid);
  while (stack.length) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...childPids(p));
  }
  return out;
}

/** Measures the CPU seconds a server spends between start and stop. */
interface CpuMeter {
  stop(): Promise<number | null>;
}

/** One process (all its threads): exact, from /proc/<pid>/stat. */
function processCpuMeter(pid: number | undefined): CpuMeter {
  const start = processCpuSeconds(pid);
  return { stop: async () => { const end = processCpuSeconds(pid); return start != null && end != null ? end - start : null; } };
}

/**
 * A forking server (vsftpd: a process per session, and a privileged/unprivileged pair after login):
 * the listener's own CPU plus the last-seen CPU of every descendant, sampled every 20 ms. Reaped
 * children's time is not read from the listener's cutime because vsftpd does not always wait for
 * its session processes; a process's last < 20 ms before it exits can be missed.
 */
function treeCpuMeter(pid: number | undefined, settled: () => Promise<void>): CpuMeter {
  if (!pid || process.platform !== 'linux') return { stop: async () => null };
  const root = pid;
  const start = processCpuSeconds(root);
  const seen = new Map<number, number>();
  const sample = () => {
    for (const p of descendantPids(root)) {
      const cpu = processCpuSeconds(p);
      if (cpu != null) seen.set(p, cpu);
    }
  };
  sample();
  const before = new Map(seen); // none expected: sessions are over between uploads
  const timer = setInterval(sample, 20);
  return {
    stop: async () => {
      sample();
      clearInterval(timer);
      await settled();
      const end = processCpuSeconds(root);
      if (start == null || end == null) return null;
      let total = end - start;
      for (const [p, cpu] of seen) total += cpu - (before.get(p) ?? 0);
      return total;
    },
  };
}

/** Writes `bytes` of random data (incompressible, as a zip would be) in 1 MiB blocks. */
function writeRandomFile(file: string, bytes: number): void {
  const block = Buffer.allocUnsafe(Math.min(bytes, MB));
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    for (let left = bytes; left > 0; left -= block.length) {
      randomFillSync(block);
      fs.writeSync(fd, block, 0, Math.min(left, block.length));
    }
  } finally {
    fs.closeSync(fd);
  }
}

function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 * MB);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

// ------------------------------------------------------------------------------------------------
// curl

interface CurlResult {
  ok: boolean;
  exitCode: number | null;
  timeTotal: number;
  speedUpload: number;
  sizeUpload: number;
  responseCode: number;
  timePretransfer: number;
  tls: string[];
  stderrTail: string;
}

const CURL_FORMAT = '\\nBENCHW %{time_total} %{speed_upload} %{size_upload} %{response_code} %{time_pretransfer}\\n';

/**
 * One explicit-FTPS upload. The credentials go in on stdin (`-K -`), so they never appear in the
 * process list; `-v` is only read for the negotiated TLS version and cipher.
 */
function curlUpload(file: string, port: number, user: string, password: string, timeoutS: number): Promise<CurlResult> {
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const config = `user = ${quote(`${user}:${password}`)}\n`;
  const args = [
    '--ssl-reqd', '-k', '-sS', '-v', '--max-time', String(timeoutS), '-K', '-',
    '-T', file, `ftp://127.0.0.1:${port}/${UPLOAD_NAME}`, '-w', CURL_FORMAT,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    const tls: string[] = [];
    const tail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      const m = /SSL connection using (.+)$/.exec(line);
      if (m) tls.push(m[1].trim());
      if (!line.startsWith('> PASS')) tail.push(line);
      if (tail.length > 40) tail.shift();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /BENCHW (\S+) (\S+) (\S+) (\S+) (\S+)/.exec(stdout);
      const [timeTotal, speedUpload, sizeUpload, responseCode, timePretransfer] = m ? m.slice(1).map(Number) : [NaN, NaN, NaN, NaN, NaN];
      resolve({
        ok: code === 0 && !!m, exitCode: code, timeTotal, speedUpload, sizeUpload, responseCode, timePretransfer, tls,
        stderrTail: tail.filter((l) => !/^[*<>] ?$/.test(l)).slice(-12).join('\n'),
      });
    });
    child.stdin.end(config);
  });
}

function curlVersion(): string | null {
  const r = spawnSync('curl', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : null;
}

// ------------------------------------------------------------------------------------------------
// servers under test

interface ServerUnderTest {
  name: FtpsServerName;
  port: number;
  user: string;
  password: string;
  /** where the upload lands */
  uploadPath: string;
  /** starts measuring the server's CPU time (for one upload) */
  cpu(): CpuMeter;
  /** size + SHA-256 of the last upload as the server saw or stored it */
  verify(bytes: number, sha256: string): Promise<boolean>;
  stop(): Promise<void>;
  /** for an interrupted bench: SIGKILL, synchronously */
  kill(): void;
}

interface ServeArgs {
  dataDir: string;
  sqlitePath: string;
  passive: { minPort: number; maxPort: number };
  maxUploadBytes: number;
  verbose: boolean;
}

type ServeEvent =
  | { event: 'ready'; port: number; dropRoot: string }
  | { event: 'upload'; name: string; size: number; sha256: string; path: string }
  | { event: 'error'; error: string };

/** Our server, in a child process: `node ftps-upload.js serve '<json>'`. */
async function startOurs(dir: string, verbose: boolean, passive: { minPort: number; maxPort: number }, maxUploadBytes: number): Promise<ServerUnderTest> {
  const password = randomBytes(18).toString('base64url');
  const args: ServeArgs = { dataDir: dir, sqlitePath: path.join(dir, 'lms.sqlite'), passive, maxUploadBytes, verbose };
  // BENCH_FTPS_SERVER_NODE_ARGS: extra node flags for the server process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  const nodeArgs = (process.env.BENCH_FTPS_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  // the password goes in the environment, not on the command line that `ps` shows
  const child = spawn(process.execPath, [...nodeArgs, __filename, 'serve', JSON.stringify(args)], {
    stdio: ['pipe', 'pipe', verbose ? 'inherit' : 'pipe'], env: { ...process.env, [PASSWORD_ENV]: password },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4000); });
  const uploads: Array<Extract<ServeEvent, { event: 'upload' }>> = [];
  const ready = new Promise<Extract<ServeEvent, { event: 'ready' }>>((resolve, reject) => {
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const ev = JSON.parse(line) as ServeEvent;
      if (ev.event === 'ready') resolve(ev);
      else if (ev.event === 'upload') uploads.push(ev);
      else if (ev.event === 'error') reject(new Error(ev.error));
    });
    child.once('exit', (code) => reject(new Error(`the rosterdrop server exited (${code}) before it was ready: ${stderr.trim()}`)));
    setTimeout(() => reject(new Error('the rosterdrop server did not start within 60 s')), 60_000).unref();
  });
  let info: Extract<ServeEvent, { event: 'ready' }>;
  try {
    info = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    name: 'rosterdrop', port: info.port, user: BENCH_LOGIN, password,
    uploadPath: path.join(info.dropRoot, BENCH_USERSPACE, UPLOAD_NAME),
    cpu: () => processCpuMeter(child.pid),
    verify: async (bytes, sha256) => {
      // the sink ran before the 226, so the record is there (allow the pipe a moment)
      for (let i = 0; i < 50 && !uploads.length; i++) await sleep(20);
      const u = uploads.shift();
      uploads.length = 0;
      return !!u && u.size === bytes && u.sha256 === sha256;
    },
    stop: () => stopChild(child, 10_000),
    kill: () => { child.kill('SIGKILL'); },
  };
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.stdin && !child.stdin.destroyed) child.stdin.end();
    else child.kill('SIGTERM');
  });
}

/** The child side: our real server, LMS authenticator and a recording sink. */
async function serve(args: ServeArgs): Promise<void> {
  const emit = (ev: ServeEvent) => process.stdout.write(`${JSON.stringify(ev)}\n`);
  const { openDatabase } = await import('../src/db/data-source');
  const { createDomain } = await import('../src/db/domains');
  const { createUser } = await import('../src/db/users');
  const { loadFtpsSettings } = await import('../src/config/ftps');
  const { LmsAuthenticator } = await import('../src/ftps/lms-authenticator');
  const { DropServer } = await import('../src/ftps/server');
  const { loadTlsMaterial } = await import('../src/ftps/tls-material');
  const { createLogger, silentLogger } = await import('../src/util/logger');
  type Upload = import('../src/ftps/types').CompletedUpload;
  type Config = import('../src/ftps/types').DropServerConfig;

  const password = process.env[PASSWORD_ENV];
  if (!password) throw new Error(`${PASSWORD_ENV} is not set`);
  delete process.env[PASSWORD_ENV];
  const ds = await openDatabase({ sqlitePath: args.sqlitePath, migrate: true });
  const domain = await createDomain(ds, { userspace: BENCH_USERSPACE, name: 'Bench' });
  await createUser(ds, { domainId: domain.id, username: 'admin', admin: true, password });
  const base = loadFtpsSettings({ ROSTERDROP_DATA_DIR: args.dataDir });
  const tls = await loadTlsMaterial({ certFile: null, keyFile: null, dataDir: args.dataDir });
  const config: Config = {
    ...base, host: '127.0.0.1', explicitPort: 0, implicitPort: null, tls,
    passive: { ...base.passive, ...args.passive, advertisedAddress: null },
    maxUploadBytes: Math.max(base.maxUploadBytes, args.maxUploadBytes),
  };
  const sink = {
    accept: (u: Upload) => {
      emit({ event: 'upload', name: u.name, size: u.size, sha256: u.sha256, path: u.path });
    },
  };
  const logger = args.verbose ? createLogger({ level: 'info', json: true, stderr: true }) : silentLogger();
  const server = await DropServer.start(config, new LmsAuthenticator(ds), sink, logger);
  emit({ event: 'ready', port: server.ports.explicit, dropRoot: config.dropRoot });
  const shutdown = async () => {
    await server.stop();
    await ds.destroy();
    process.exit(0);
  };
  process.stdin.resume();
  process.stdin.on('end', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

// --- vsftpd ----------------------------------------------------------------------------------------

interface VsftpdAccount {
  user: string;
  password: string;
  uid: number;
  gid: number;
  /** we created it and remove it afterwards */
  created: boolean;
}

function lookupUser(name: string): { uid: number; gid: number; gecos: string } | null {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const f = r.stdout.trim().split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), gecos: f[4] ?? '' };
}

/**
 * The local account vsftpd's login uses: BENCH_VSFTPD_USER / BENCH_VSFTPD_PASSWORD when set (an
 * existing account), else, when running as root, a temporary account `rdbench` with a random
 * password, removed at the end (shell /bin/sh because Debian's PAM stack requires a listed shell;
 * home = `home`, the upload folder, because vsftpd changes into the home before local_root).
 */
function vsftpdAccount(home: string): VsftpdAccount | string {
  const user = process.env.BENCH_VSFTPD_USER;
  const password = process.env.BENCH_VSFTPD_PASSWORD;
  if (user || password) {
    if (!user || !password) return 'set both BENCH_VSFTPD_USER and BENCH_VSFTPD_PASSWORD';
    const u = lookupUser(user);
    if (!u) return `BENCH_VSFTPD_USER=${user} does not exist`;
    return { user, password, uid: u.uid, gid: u.gid, created: false };
  }
  if (process.getuid?.() !== 0) return 'not running as root: set BENCH_VSFTPD_USER and BENCH_VSFTPD_PASSWORD to a local account vsftpd can log in';
  const pw = randomBytes(24).toString('base64url');
  let existing = lookupUser(VSFTPD_USER);
  if (existing && existing.gecos !== VSFTPD_USER_MARK) return `a user ${VSFTPD_USER} exists that the bench did not create; set BENCH_VSFTPD_USER/BENCH_VSFTPD_PASSWORD`;
  let created = false;
  if (!existing) {
    const r = spawnSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-c', VSFTPD_USER_MARK, VSFTPD_USER], { encoding: 'utf8' });
    if (r.status !== 0) return `useradd ${VSFTPD_USER} failed: ${(r.stderr || r.error?.message || '').trim()}`;
    created = true;
    existing = lookupUser(VSFTPD_USER);
    if (!existing) return `useradd ${VSFTPD_USER} did not create the user`;
  } else {
    // left over from an interrupted run: point it at this run's folder
    spawnSync('usermod', ['-d', home, VSFTPD_USER]);
  }
  const r = spawnSync('chpasswd', [], { input: `${VSFTPD_USER}:${pw}\n`, encoding: 'utf8' });
  if (r.status !== 0) {
    if (created) spawnSync('userdel', [VSFTPD_USER]);
    return `chpasswd failed: ${(r.stderr || r.error?.message || '').trim()}`;
  }
  return { user: VSFTPD_USER, password: pw, uid: existing.uid, gid: existing.gid, created };
}

/**
 * Removes the temporary account. userdel refuses while a process of the account runs (a vsftpd
 * session that is still exiting, e.g. after Ctrl-C), so it is retried for up to 2 s, then forced.
 */
function removeAccount(account: VsftpdAccount): void {
  if (!account.created) return;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 40; i++) {
    if (spawnSync('userdel', [account.user]).status === 0 || !lookupUser(account.user)) return;
    Atomics.wait(pause, 0, 0, 50);
  }
  spawnSync('userdel', ['-f', account.user]);
}

function vsftpdVersion(bin: string): string | null {
  // vsftpd prints its version on file descriptor 0
  const r = spawnSync('sh', ['-c', '"$0" -v 0>&1', bin], { encoding: 'utf8' });
  const m = /version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1] : null;
}

function vsftpdConfig(o: {
  port: number; root: string; emptyDir: string; cert: string; key: string; passive: { minPort: number; maxPort: number }; sandboxOff: boolean;
}): string {
  const lines = [
    'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${o.port}`, 'background=NO',
    'anonymous_enable=NO', 'local_enable=YES', 'write_enable=YES', 'local_umask=027', `local_root=${o.root}`,
    'chroot_local_user=NO', 'port_enable=NO', 'connect_from_port_20=NO',
    'pasv_enable=YES', `pasv_min_port=${o.passive.minPort}`, `pasv_max_port=${o.passive.maxPort}`,
    'ssl_enable=YES', 'allow_anon_ssl=NO', 'force_local_logins_ssl=YES', 'force_local_data_ssl=YES',
    'ssl_tlsv1=YES', 'ssl_sslv2=NO', 'ssl_sslv3=NO', 'require_ssl_reuse=NO',
    `rsa_cert_file=${o.cert}`, `rsa_private_key_file=${o.key}`,
    'pam_service_name=vsftpd', `secure_chroot_dir=${o.emptyDir}`,
    'xferlog_enable=NO', 'dirmessage_enable=NO', 'use_localtime=NO',
  ];
  if (o.sandboxOff) lines.push('seccomp_sandbox=NO', 'isolate=NO', 'isolate_network=NO');
  return `${lines.join('\n')}\n`;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

async function startVsftpd(
  bin: string, dir: string, root: string, tlsFiles: { cert: string; key: string }, account: VsftpdAccount,
  passive: { minPort: number; maxPort: number }, sandboxOff: boolean,
): Promise<ServerUnderTest> {
  const emptyDir = path.join(dir, 'empty');
  fs.mkdirSync(emptyDir, { recursive: true, mode: 0o755 });
  fs.chmodSync(emptyDir, 0o755);
  const port = await freePort();
  const confFile = path.join(dir, sandboxOff ? 'vsftpd-nosandbox.conf' : 'vsftpd.conf');
  fs.writeFileSync(confFile, vsftpdConfig({ port, root, emptyDir, cert: tlsFiles.cert, key: tlsFiles.key, passive, sandboxOff }), { mode: 0o600 });
  const child = spawn(bin, [confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => { output = (output + d.toString()).slice(-4000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(e.message)));
  if (!(await waitForPort(port, child, 5000))) {
    await stopChild(child, 1000);
    throw new Error(`vsftpd did not start: ${output.trim() || `exit ${child.exitCode ?? child.signalCode}`}`);
  }
  const uploadPath = path.join(root, UPLOAD_NAME);
  const settled = async () => {
    // a session's processes exit just after curl; their CPU counts once the listener reaps them
    for (let i = 0; i < 100 && childPids(child.pid).length; i++) await sleep(20);
  };
  return {
    name: 'vsftpd', port, user: account.user, password: account.password, uploadPath,
    cpu: () => treeCpuMeter(child.pid, settled),
    verify: async (bytes, sha256) => {
      await settled();
      try {
        return fs.statSync(uploadPath).size === bytes && sha256File(uploadPath) === sha256;
      } catch {
        return false;
      }
    },
    stop: () => stopChild(child, 3000),
    kill: () => { child.kill('SIGKILL'); },
  };
}

// ------------------------------------------------------------------------------------------------
// measuring

async function uploadOnce(s: ServerUnderTest, file: string, bytes: number, sha256: string, run: number, timeoutS: number): Promise<FtpsRun> {
  fs.rmSync(s.uploadPath, { force: true });
  spawnSync('sync');
  const meter = s.cpu();
  const c = await curlUpload(file, s.port, s.user, s.password, timeoutS);
  const cpu = await meter.stop();
  const verified = c.ok ? await s.verify(bytes, sha256) : false;
  fs.rmSync(s.uploadPath, { force: true });
  const ok = c.ok && c.responseCode === 226 && c.sizeUpload === bytes && verified;
  const seconds = Number.isFinite(c.timeTotal) ? c.timeTotal : null;
  const transferS = Number.isFinite(c.timeTotal) && Number.isFinite(c.timePretransfer) ? c.timeTotal - c.timePretransfer : NaN;
  const out: FtpsRun = {
    server: s.name, run, ok, seconds,
    mbPerSec: ok && seconds ? bytes / MB / seconds : null,
    curlSpeedMBs: ok && Number.isFinite(c.speedUpload) ? c.speedUpload / MB : null,
    pretransferSeconds: Number.isFinite(c.timePretransfer) ? c.timePretransfer : null,
    transferMBs: ok && transferS > 0 ? bytes / MB / transferS : null,
    serverCpuSeconds: cpu,
    verified,
    tls: c.tls.length ? c.tls[c.tls.length - 1] : null,
  };
  if (!ok) {
    out.error = !c.ok ? `curl exit ${c.exitCode}: ${c.stderrTail}`
      : c.responseCode !== 226 ? `last reply ${c.responseCode}`
        : c.sizeUpload !== bytes ? `curl uploaded ${c.sizeUpload} of ${bytes} bytes`
          : 'the server did not receive the file intact (size or SHA-256 differs)';
  }
  return out;
}

function summarise(r: FtpsServerResult): void {
  const ok = r.runs.filter((x) => x.ok);
  r.medianMBs = median(ok.map((x) => x.mbPerSec as number));
  r.medianTransferMBs = median(ok.map((x) => x.transferMBs as number));
  r.medianServerCpuSeconds = median(ok.map((x) => x.serverCpuSeconds ?? NaN));
}

function emptyResult(server: FtpsServerName, version: string | null): FtpsServerResult {
  return { server, version, available: false, notes: [], runs: [], medianMBs: null, medianTransferMBs: null, medianServerCpuSeconds: null };
}

function fmtRun(r: FtpsRun): string {
  return r.ok
    ? `${fmt(r.mbPerSec)} MB/s (${fmt(r.seconds, 2)} s, server CPU ${fmt(r.serverCpuSeconds, 2)} s, ${r.tls ?? 'TLS ?'})`
    : `failed: ${r.error?.split('\n')[0]}`;
}


export async function runFtpsBench(opts: FtpsBenchOptions): Promise<FtpsReport> {
  const started = Date.now();
  const fileMB = envInt('BENCH_FTPS_MB', 300, 1, 1_048_576);
  const runs = envInt('BENCH_FTPS_RUNS', 3, 1, 100);
  const timeoutS = envInt('BENCH_FTPS_TIMEOUT_S', 600, 10, 86_400);
  const bytes = fileMB * MB;
  const { loadTlsMaterial } = await import('../src/ftps/tls-material');
  const report: FtpsReport = {
    date: new Date().toISOString(), fileMB, fileBytes: bytes, runsPerServer: runs, curl: curlVersion(),
    node: process.version, nodeOpenssl: process.versions.openssl, cores: os.availableParallelism?.() ?? os.cpus().length,
    serverProcess: 'child process', totalSeconds: 0, loadAverage: { before: os.loadavg()[0], after: NaN },
    ours: emptyResult('rosterdrop', null), vsftpd: emptyResult('vsftpd', null), ratio: null,
    target: { ratio: FTPS_TARGET_RATIO, result: 'not measured' },
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    report.ours.version = `ftp-srv ${(require('ftp-srv/package.json') as { version: string }).version}`;
  } catch {
    // leave null
  }
  if (!report.curl) {
    report.ours.missing = 'curl is not installed';
    report.vsftpd.missing = 'curl is not installed';
    report.target.note = 'curl is not installed';
    return report;
  }

  const tmp = fs.mkdtempSync(path.join(opts.tmpBase, 'rosterdrop-ftps-bench-'));
  const servers: ServerUnderTest[] = [];
  let account: VsftpdAccount | null = null;
  const interrupted = () => {
    for (const s of servers) s.kill();
    if (account) removeAccount(account);
    if (!opts.keep) fs.rmSync(tmp, { recursive: true, force: true });
  };
  const unregister = onInterrupt(interrupted);
  try {
    const ourDir = path.join(tmp, 'rosterdrop');
    fs.mkdirSync(ourDir, { recursive: true });
    // the certificate a first start generates; vsftpd is given the same pair
    const tls = await loadTlsMaterial({ certFile: null, keyFile: null, dataDir: ourDir });
    const tlsFiles = { cert: tls.certFile, key: path.join(path.dirname(tls.certFile), 'server-key.pem') };

    const file = path.join(tmp, 'upload.bin');
    opts.log(`ftps: writing a ${fileMB} MB test file`);
    writeRandomFile(file, bytes);
    const sha256 = sha256File(file);
    const warmBytes = Math.min(bytes, 8 * MB);
    const warmFile = path.join(tmp, 'warmup.bin');
    writeRandomFile(warmFile, warmBytes);
    const warmSha = sha256File(warmFile);

    const ourPassive = await freePortRange(20);
    opts.log('ftps: starting the rosterdrop server (child process)');
    try {
      const ours = await startOurs(ourDir, opts.verbose, ourPassive, bytes + MB);
      servers.push(ours);
      const warm = await uploadOnce(ours, warmFile, warmBytes, warmSha, 0, timeoutS);
      if (!warm.ok) throw new Error(`warm-up upload failed: ${warm.error}`);
      report.ours.available = true;
    } catch (err) {
      report.ours.missing = (err as Error).message;
      opts.log(`ftps: rosterdrop server unavailable: ${report.ours.missing}`);
    }

    const bin = process.env.BENCH_VSFTPD_BIN || VSFTPD_BIN_CANDIDATES.find((b) => fs.existsSync(b)) || which('vsftpd');
    if (!bin || !fs.existsSync(bin)) {
      report.vsftpd.missing = 'vsftpd is not installed (apt-get install -y vsftpd): no reference figure';
    } else {
      report.vsftpd.version = vsftpdVersion(bin);
      const vsDir = path.join(tmp, 'vsftpd');
      const vsRoot = path.join(vsDir, 'root');
      fs.mkdirSync(vsRoot, { recursive: true, mode: 0o750 });
      // the account must reach its folder under tmp
      fs.chmodSync(tmp, 0o755);
      fs.chmodSync(vsDir, 0o755);
      const acc = vsftpdAccount(vsRoot);
      if (typeof acc === 'string') {
        report.vsftpd.missing = acc;
      } else {
        account = acc;
        fs.chownSync(vsRoot, acc.uid, acc.gid);
        const vsPassive = await freePortRange(20, [ourPassive]);
        let lastError = '';
        for (const sandboxOff of [false, true]) {
          opts.log(`ftps: starting vsftpd ${report.vsftpd.version ?? ''}${sandboxOff ? ' (seccomp_sandbox, isolate and isolate_network off)' : ''}`);
          let vs: ServerUnderTest | null = null;
          try {
            vs = await startVsftpd(bin, vsDir, vsRoot, tlsFiles, acc, vsPassive, sandboxOff);
            const warm = await uploadOnce(vs, warmFile, warmBytes, warmSha, 0, timeoutS);
            if (!warm.ok) throw new Error(`warm-up upload failed: ${warm.error}`);
            servers.push(vs);
            report.vsftpd.available = true;
            report.vsftpd.notes.push(sandboxOff
              ? `run with seccomp_sandbox=NO, isolate=NO, isolate_network=NO (with the defaults it failed: ${lastError.split('\n')[0]})`
              : 'run with its default sandbox (seccomp, isolate)');
            report.vsftpd.notes.push(`logged in as the local account ${acc.user}${acc.created ? ' (created for the run, removed afterwards)' : ''}`);
            break;
          } catch (err) {
            lastError = (err as Error).message;
            opts.log(`ftps: vsftpd: ${lastError.split('\n')[0]}`);
            if (vs) await vs.stop();
          }
        }
        if (!report.vsftpd.available) report.vsftpd.missing = `vsftpd could not be used: ${lastError}`;
      }
    }
    if (report.vsftpd.missing) opts.log(`ftps: reference missing: ${report.vsftpd.missing.split('\n')[0]}`);

    const ours = servers.find((s) => s.name === 'rosterdrop');
    const vs = servers.find((s) => s.name === 'vsftpd');
    for (let run = 1; run <= runs; run++) {
      const order = run % 2 === 1 ? [ours, vs] : [vs, ours];
      for (const s of order) {
        if (!s) continue;
        const r = await uploadOnce(s, file, bytes, sha256, run, timeoutS);
        (s.name === 'rosterdrop' ? report.ours : report.vsftpd).runs.push(r);
        opts.log(`ftps: run ${run}/${runs} ${s.name}: ${fmtRun(r)}`);
      }
    }
  } finally {
    unregister();
    for (const s of servers) await s.stop().catch(() => undefined);
    if (account) removeAccount(account);
    if (!opts.keep) fs.rmSync(tmp, { recursive: true, force: true });
  }
  summarise(report.ours);
  summarise(report.vsftpd);
  const ourMB = report.ours.medianMBs;
  const refMB = report.vsftpd.medianMBs;
  if (ourMB != null && refMB != null && refMB > 0) {
    report.ratio = ourMB / refMB;
    report.target.result = report.ratio >= FTPS_TARGET_RATIO ? 'met' : 'not met';
  } else {
    report.target.note = !report.vsftpd.available ? `no vsftpd reference: ${report.vsftpd.missing?.split('\n')[0] ?? 'not measured'}`
      : ourMB == null ? 'rosterdrop: no successful upload' : 'vsftpd: no successful upload';
    if (report.ours.available && ourMB == null) report.target.result = 'not met';
  }
  report.totalSeconds = (Date.now() - started) / 1000;
  report.loadAverage.after = os.loadavg()[0];
  return report;
}

// ------------------------------------------------------------------------------------------------
// report


/** The `## FTPS upload throughput` section of latest.md. */
export function renderFtpsMarkdown(r: FtpsReport): string {
  const parts: string[] = [];
  parts.push(`## FTPS upload throughput (${r.date.slice(0, 10)})`);
  parts.push([
    `- ${r.fileMB} MB file (random bytes; 1 MB = 2^20 bytes), ${r.runsPerServer} upload(s) per server, curl explicit FTPS (\`--ssl-reqd -k -T\`) over 127.0.0.1; ${r.cores} cores`,
    `- ${r.curl ?? 'curl missing'}; rosterdrop on Node ${r.node} (OpenSSL ${r.nodeOpenssl}), ${r.ours.version ?? ''}, in a child process; vsftpd ${r.vsftpd.version ?? '—'}`,
    `- Took ${fmt(r.totalSeconds / 60, 1)} min; 1-minute load average ${fmt(r.loadAverage.before, 2)} before, ${fmt(r.loadAverage.after, 2)} after (other work on the machine skews the figures)`,
  ].join('\n'));
  const rows: string[][] = [];
  for (const s of [r.ours, r.vsftpd]) {
    if (!s.available) {
      rows.push([s.server, '—', '—', '—', '—', '—', '—', '—', `not measured: ${s.missing ?? '?'}`]);
      continue;
    }
    for (const x of s.runs) {
      rows.push([
        s.server, String(x.run), fmt(x.seconds, 2), fmt(x.mbPerSec), fmt(x.curlSpeedMBs), fmt(x.pretransferSeconds, 3), fmt(x.transferMBs), fmt(x.serverCpuSeconds, 2),
        x.ok ? `ok${x.tls ? `, ${x.tls}` : ''}` : `error: ${(x.error ?? '').split('\n')[0].slice(0, 160)}`,
      ]);
    }
  }
  parts.push(mdTable(
    ['server', 'run', 'seconds (time_total)', 'MB/s', 'curl speed_upload MB/s', 'login s (time_pretransfer)', 'transfer MB/s', 'server CPU s', 'status'],
    rows, ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---'],
  ));
  const verdict = r.target.result === 'met' ? '✅ met' : r.target.result === 'not met' ? '❌ not met' : '— not measured';
  parts.push(mdTable(
    ['', 'rosterdrop', 'vsftpd', 'ratio', 'target', 'result'],
    [
      ['median MB/s (time_total)', fmt(r.ours.medianMBs), fmt(r.vsftpd.medianMBs), r.ratio != null ? `${fmt(r.ratio, 2)}×` : '—', `≥ ${r.target.ratio}× vsftpd`, `${verdict}${r.target.note ? ` (${r.target.note})` : ''}`],
      ['median transfer MB/s (after login)', fmt(r.ours.medianTransferMBs), fmt(r.vsftpd.medianTransferMBs),
        r.ours.medianTransferMBs && r.vsftpd.medianTransferMBs ? `${fmt(r.ours.medianTransferMBs / r.vsftpd.medianTransferMBs, 2)}×` : '—', '', ''],
      ['median server CPU s per upload', fmt(r.ours.medianServerCpuSeconds, 2), fmt(r.vsftpd.medianServerCpuSeconds, 2), '', '', ''],
    ],
    ['---', '---:', '---:', '---:', '---', '---'],
  ));
  const notes = [
    '- MB/s = size_upload / time_total from curl\'s `-w`: connect, TLS, login, EPSV, STOR, the data, and the wait for the `226`. ' +
      'rosterdrop sends `226` only after fsync of the file, rename into place and fsync of the folder; vsftpd does not fsync, so its figure excludes the disk flush.',
    '- Login s = curl time_pretransfer (connected, TLS, logged in, STOR sent). rosterdrop checks the LMS password with Argon2id (m=7168 KiB, t=5, p=1; scrypt before issue 18), vsftpd through PAM. Transfer MB/s = size / (time_total − time_pretransfer).',
    '- Server CPU = user + system seconds of the server during the upload, from /proc: rosterdrop\'s one process exactly; vsftpd\'s listener plus its session processes, sampled every 20 ms (approximate).',
    '- Each upload is preceded by deleting the previous one and `sync`; runs alternate between the servers after an untimed 8 MB warm-up each.',
    ...r.vsftpd.notes.map((n) => `- vsftpd: ${n}.`),
  ];
  parts.push(notes.join('\n'));
  return parts.join('\n\n');
}

// ------------------------------------------------------------------------------------------------

if (require.main === module) {
  if (process.argv[2] === 'serve') {
    serve(JSON.parse(process.argv[3] ?? '{}') as ServeArgs).catch((e: Error) => {
      process.stdout.write(`${JSON.stringify({ event: 'error', error: e.stack ?? e.message })}\n`, () => process.exit(1));
    });
  } else {
    const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
    process.on('SIGINT', () => {
      runInterruptCleanups();
      process.exit(130);
    });
    runFtpsBench({ tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), keep: process.env.BENCH_KEEP === '1', verbose: process.env.BENCH_VERBOSE === '1', log })
      .then((r) => process.stdout.write(`${renderFtpsMarkdown(r)}\n`))
      .catch((e: Error) => {
        process.stderr.write(`${e.stack ?? e.message}\n`);
        process.exit(1);
      });
  }
}
