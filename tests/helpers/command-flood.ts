/**
 * The command flood of issue 17: one connection, before TLS or login, pipelines command lines
 * (`HELP\r\n` …) and never reads a reply, while another tenant's logged-in connection keeps asking
 * NOOP. The daemon is the real one (`rosterdrop serve`) in a child process, so its memory is its
 * own (/proc/<pid>/status). tests/ftps/flood.test.ts asserts on the figures, bench/command-flood.ts
 * reports them.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { childEnv, runCli } from '../cli/harness';
import { freePort, startServe, type Daemon } from './daemon';
import { expectCode, loggedIn, type RawFtp } from './ftp-raw';

export interface FloodOptions {
  /** data directory of the daemon (a temp folder) */
  dataDir: string;
  /** bytes of command lines the flooder sends */
  bytes: number;
  /** the pipelined command, without CRLF */
  line?: string;
  /** the daemon's login timeout: how long the flooder, never logged in, may stay */
  loginTimeoutS: number;
  /** NOOPs timed before the flood and again after it */
  probes: number;
  /** the flooder gives up once the daemon has grown this much (spares the machine a runaway daemon) */
  abortGrowthMB: number;
  /** the daemon's log on stderr */
  verbose?: boolean;
}

export interface FloodResult {
  floodMB: number;
  /** the kernel took every byte: the daemon read them, or the socket buffers could hold them */
  allSent: boolean;
  /** the daemon closed the flooder (its login timeout), whether or not every byte was sent */
  closedByServer: boolean;
  /** the flooder gave up because the daemon grew past `abortGrowthMB` */
  aborted: boolean;
  /** from the first byte sent to the flooder's end */
  floodSeconds: number;
  /** bytes the daemon read (sockets and files, /proc/<pid>/io rchar) during the flood, MB */
  readMB: number | null;
  memory: {
    rssBeforeMB: number;
    hwmBeforeMB: number;
    /** the highest VmRSS sampled during the flood (every 20 ms) */
    peakRssMB: number;
    hwmAfterMB: number;
    /** after the flooder is gone and the NOOPs after it */
    rssAfterMB: number;
  };
  /** round trips of the other tenant's NOOP, ms */
  noopMs: { calibration: number[]; flood: number[]; after: number[] };
}

const MB = 1024 * 1024;
const LOGIN = 'district/admin';
const PASSWORD = 'Flood-Test-Pass1';

/** VmRSS and VmHWM of a process, MB (Linux). */
export function processMemory(pid: number): { rssMB: number; hwmMB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMB: kib('VmRSS') / 1024, hwmMB: kib('VmHWM') / 1024 };
}

function readBytes(pid: number): number | null {
  try {
    return Number(/^rchar: (\d+)/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return null;
  }
}

async function noop(c: RawFtp): Promise<number> {
  const t0 = process.hrtime.bigint();
  expectCode(await c.cmd('NOOP'), 200);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function noops(c: RawFtp, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await noop(c));
  return out;
}

interface Flooder {
  /** resolves when every byte is sent (true) or the connection closed first (false) */
  sent: Promise<boolean>;
  closed: Promise<void>;
  destroy(): void;
}

/** Connects and writes `bytes` of `line\r\n`, respecting backpressure, reading nothing. */
async function flood(port: number, line: string, bytes: number): Promise<Flooder> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  socket.pause(); // never read: the replies pile up in the kernel, as with a client that does not read
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const unit = Buffer.from(`${line}\r\n`);
  const chunk = Buffer.concat(Array.from({ length: Math.ceil(64 * 1024 / unit.length) }, () => unit));
  const sent = (async () => {
    for (let left = bytes; left > 0; left -= chunk.length) {
      if (socket.destroyed) return false;
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      const last = left <= chunk.length;
      const written = new Promise<boolean>((resolve) => socket.write(piece, (err) => resolve(!err)));
      if (last) return Promise.race([written, closed.then(() => false)]);
      if (socket.writableNeedDrain) {
        await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
      }
    }
    return true;
  })();
  return { sent, closed, destroy: () => socket.destroy() };
}

async function startDaemon(opts: FloodOptions): Promise<{ daemon: Daemon; port: number }> {
  const port = await freePort();
  const pasv = await freePort();
  const env = childEnv({
    ROSTERDROP_DATA_DIR: opts.dataDir, NODE_ENV: 'production', ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(port), ROSTERDROP_HTTP_PORT: '0',
    ROSTERDROP_FTPS_PASV_MIN: String(pasv), ROSTERDROP_FTPS_PASV_MAX: String(pasv), ROSTERDROP_FTPS_LOGIN_TIMEOUT_S: String(opts.loginTimeoutS),
  });
  for (const [args, input] of [[['domain', 'add', 'district', '--name', 'District']], [['user', 'add', LOGIN, '--admin', '--password-stdin'], `${PASSWORD}\n`]] as const) {
    const r = await runCli(env, args, input);
    if (r.code !== 0) throw new Error(`rosterdrop ${args.join(' ')}: ${r.stderr}`);
  }
  const daemon = startServe(env);
  if (opts.verbose) daemon.child.stderr?.pipe(process.stderr);
  await daemon.waitFor(/FTPS listening/);
  return { daemon, port };
}

export async function measureCommandFlood(opts: FloodOptions): Promise<FloodResult> {
  fs.mkdirSync(path.resolve(opts.dataDir), { recursive: true });
  const { daemon, port } = await startDaemon(opts);
  const pid = daemon.child.pid as number;
  let tenant: RawFtp | null = null;
  let flooder: Flooder | null = null;
  try {
    tenant = await loggedIn(port, LOGIN, PASSWORD);
    const calibration = await noops(tenant, opts.probes);
    const before = processMemory(pid);
    const readBefore = readBytes(pid);
    let peakRssMB = before.rssMB;
    let aborted = false;
    let gaveUp = false;

    const started = Date.now();
    const f = await flood(port, opts.line ?? 'HELP', opts.bytes);
    flooder = f;
    let allSent = false;
    const ended = Promise.race([f.sent.then((all) => { allSent = all; return f.closed; }), f.closed]);
    let over = false;
    void ended.then(() => { over = true; });
    // a hang guard: the daemon should have closed the flooder after its login timeout
    const guard = setTimeout(() => { gaveUp = true; f.destroy(); }, 3 * opts.loginTimeoutS * 1000 + 30_000);
    // a sample every 20 ms: the memory's peak, and the brake for a daemon that grows without bound
    const sampler = setInterval(() => {
      peakRssMB = Math.max(peakRssMB, processMemory(pid).rssMB);
      if (peakRssMB - before.rssMB > opts.abortGrowthMB && !aborted) {
        aborted = true;
        f.destroy();
      }
    }, 20);
    const during: number[] = [];
    try {
      while (!over) {
        during.push(await noop(tenant));
        // one NOOP every 20 ms or so: enough to see any stall, without a busy loop on a shared machine
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 20)), ended]);
      }
    } finally {
      clearInterval(sampler);
      clearTimeout(guard);
    }
    const closedByServer = !aborted && !gaveUp; // only the brake and the guard close it from this side
    const floodSeconds = (Date.now() - started) / 1000;
    const readAfter = readBytes(pid);
    f.destroy(); // the flooder leaves (if the daemon has not closed it)
    await f.closed;
    const hwmAfterMB = processMemory(pid).hwmMB;
    const after = await noops(tenant, opts.probes);
    return {
      floodMB: opts.bytes / MB, allSent, closedByServer, aborted, floodSeconds,
      readMB: readBefore !== null && readAfter !== null ? (readAfter - readBefore) / MB : null,
      memory: { rssBeforeMB: before.rssMB, hwmBeforeMB: before.hwmMB, peakRssMB, hwmAfterMB, rssAfterMB: processMemory(pid).rssMB },
      noopMs: { calibration, flood: during, after },
    };
  } finally {
    flooder?.destroy();
    tenant?.destroy();
    daemon.child.kill('SIGKILL'); // a stuck daemon must not outlive the measurement
    await daemon.exited;
  }
}
