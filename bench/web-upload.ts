/**
 * Web upload throughput against FTPS (issue 19: "a 1 GB upload through the page streamed at ≥ 0.8×
 * the FTPS rate with flat memory"). Run by `npm run bench` (BENCH_ONLY=web), or alone:
 * `node dist/bench/web-upload.js` prints the section without writing results.
 *
 * The real daemon (`rosterdrop serve`, a child process, SQLite, FTPS and the web admin on
 * 127.0.0.1) receives the same file of BENCH_WEB_MB MiB (default 1024; random bytes named .zip, so
 * each run's sync fails at once on "not a zip" and costs nothing) BENCH_WEB_RUNS times (default 3)
 * each way, alternating (FTPS first on odd runs, web first on even ones):
 * - FTPS: `curl --ssl-reqd -k -T file ftp://…/bench.zip` (answer 226 after fsync and rename);
 * - web: `curl -k -F file=@file https://…/domains/bench?_csrf=…` with the session cookie of a
 *   sign-in (the page's own form POST; answer 303 after fsync, rename and the run queued).
 * Credentials and the cookie go to curl on stdin (`-K -`). MB/s = size / curl's time_total
 * (1 MB = 2^20 bytes). During each upload the daemon's VmRSS is sampled from /proc every 20 ms:
 * before, peak, and the difference. Between uploads the bench waits for the run's sync to end and
 * calls `sync` so no upload pays for another's writeback.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import https from 'node:https';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { childEnv, runCli } from '../tests/cli/harness';
import { freePort, startServe, type Daemon } from '../tests/helpers/daemon';
import { envInt } from './env';
import { freePortRange, median } from './ftps-upload';
import { onInterrupt, runInterruptCleanups } from './interrupt';
import { fmtNum, mdTable } from './markdown';

const MB = 1 << 20;
export const WEB_TARGET_RATIO = 0.8;
const USERSPACE = 'bench';
const LOGIN = `${USERSPACE}/admin`;
const PASSWORD = 'bench web upload password';

export interface WebUploadRun {
  via: 'ftps' | 'web';
  run: number;
  ok: boolean;
  seconds: number | null;
  mbPerSec: number | null;
  /** the daemon's VmRSS just before the upload and its maximum during it, MB */
  rssBeforeMB: number | null;
  rssPeakMB: number | null;
  /** the daemon's sync read back the same bytes (size and SHA-256 of its `sync started` line) */
  verified: boolean;
  error?: string;
}

export interface WebUploadReport {
  date: string;
  fileMB: number;
  runsPerPath: number;
  runs: WebUploadRun[];
  ftpsMedianMBs: number | null;
  webMedianMBs: number | null;
  /** web / FTPS of the medians */
  ratio: number | null;
  target: number;
  /** the daemon's VmHWM (peak RSS over its life) at the end, MB */
  daemonPeakRssMB: number | null;
  /** the largest VmRSS growth during one upload, per path, MB */
  maxRssGrowthMB: { ftps: number | null; web: number | null };
  loadBefore: number;
  loadAfter: number;
}

export interface WebUploadOptions { fileMB: number; runs: number; tmpDir: string; keep: boolean; verbose: boolean }

export function webUploadOptionsFromEnv(tmpRoot = process.env.BENCH_TMPDIR ?? '/tmp'): WebUploadOptions {
  return {
    fileMB: envInt('BENCH_WEB_MB', 1024, 1, 1_000_000), runs: envInt('BENCH_WEB_RUNS', 3, 1, 100),
    tmpDir: tmpRoot, keep: process.env.BENCH_KEEP === '1', verbose: process.env.BENCH_VERBOSE === '1',
  };
}

function procKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** random bytes, 4 MiB at a time (the file's content does not matter: it is not a zip) */
function writeFile(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(4 * MB);
  try {
    for (let done = 0; done < bytes; done += block.length) {
      for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.random() * 0xffffffff) >>> 0, i);
      fs.writeSync(fd, block, 0, Math.min(block.length, bytes - done));
    }
  } finally {
    fs.closeSync(fd);
  }
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    fs.createReadStream(file).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

interface Curl { ok: boolean; code: number | null; timeTotal: number; sizeUpload: number; response: number; tail: string }

function curl(args: string[], config: string, timeoutS: number): Promise<Curl> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-k', '-sS', '--max-time', String(timeoutS), '-K', '-', '-o', '/dev/null', '-w', '\\nBENCHW %{time_total} %{size_upload} %{response_code}\\n', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const tail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    readline.createInterface({ input: child.stderr }).on('line', (l) => { tail.push(l); if (tail.length > 10) tail.shift(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /BENCHW (\S+) (\S+) (\S+)/.exec(out);
      const [timeTotal, sizeUpload, response] = m ? m.slice(1).map(Number) : [NaN, NaN, NaN];
      resolve({ ok: code === 0 && !!m, code, timeTotal, sizeUpload, response, tail: tail.join('\n') });
    });
    child.stdin.end(config);
  });
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** A minimal HTTPS client for the sign-in (self-signed certificate, loopback). */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', rejectUnauthorized: false, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function cookiesOf(headers: Record<string, string | string[] | undefined>): string[] {
  const set = headers['set-cookie'];
  return (Array.isArray(set) ? set : set ? [set] : []).map((c) => c.split(';')[0]).filter((c) => !c.endsWith('='));
}

/** Signs in like the browser: the session cookie and the domain page's CSRF token. */
async function signIn(base: string): Promise<{ cookie: string; csrf: string }> {
  const form = await request(`${base}/login`, {});
  const loginCookie = cookiesOf(form.headers).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const res = await request(`${base}/login`, {
    method: 'POST', headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, login: LOGIN, password: PASSWORD }).toString(),
  });
  if (res.status !== 303) throw new Error(`web sign-in failed: ${res.status}`);
  const cookie = cookiesOf(res.headers).join('; ');
  const page = await request(`${base}/domains/${USERSPACE}`, { headers: { cookie } });
  const token = /action="\/domains\/bench\?_csrf=([^"]+)"/.exec(page.body)?.[1];
  if (page.status !== 200 || !token) throw new Error(`domain page: ${page.status}`);
  return { cookie, csrf: decodeURIComponent(token) };
}

export async function runWebUploadBench(opts: WebUploadOptions): Promise<WebUploadReport> {
  const dir = fs.mkdtempSync(path.join(opts.tmpDir, 'rosterdrop-bench-web-'));
  let daemon: Daemon | null = null;
  const cleanup = () => {
    daemon?.child.kill('SIGKILL');
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  };
  const off = onInterrupt(cleanup);
  try {
    const bytes = opts.fileMB * MB;
    const file = path.join(dir, 'bench.zip');
    writeFile(file, bytes);
    const sha256 = await sha256Of(file);
    const [ftpsPort, httpPort] = [await freePort(), await freePort()];
    const pasv = await freePortRange(10);
    const env = childEnv({
      ROSTERDROP_DATA_DIR: path.join(dir, 'data'), NODE_ENV: 'production',
      ROSTERDROP_FTPS_HOST: '127.0.0.1', ROSTERDROP_FTPS_PORT: String(ftpsPort), ROSTERDROP_FTPS_PASV_MIN: String(pasv.minPort), ROSTERDROP_FTPS_PASV_MAX: String(pasv.maxPort),
      ROSTERDROP_HTTP_HOST: '127.0.0.1', ROSTERDROP_HTTP_PORT: String(httpPort),
      ROSTERDROP_FTPS_MAX_UPLOAD_MB: String(opts.fileMB + 16),
    });
    for (const [args, input] of [[['domain', 'add', USERSPACE, '--name', 'Bench']], [['user', 'add', LOGIN, '--admin', '--password-stdin'], `${PASSWORD}\n`]] as const) {
      const r = await runCli(env, args, input);
      if (r.code !== 0) throw new Error(`rosterdrop ${args.join(' ')}: ${r.stderr}`);
    }
    daemon = startServe(env);
    if (opts.verbose) daemon.child.stderr?.pipe(process.stderr);
    await daemon.waitFor(/rosterdrop is running/);
    const pid = daemon.child.pid as number;
    const base = `https://127.0.0.1:${httpPort}`;
    const session = await signIn(base);
    const loadBefore = (await import('node:os')).loadavg()[0];
    const timeoutS = Math.max(600, opts.fileMB);
    let finished = 0;
    const runs: WebUploadRun[] = [];
    const once = async (via: 'ftps' | 'web', run: number): Promise<WebUploadRun> => {
      spawnSync('sync');
      const rssBefore = procKb(pid, 'VmRSS');
      let peak = rssBefore ?? 0;
      const sampler = setInterval(() => { peak = Math.max(peak, procKb(pid, 'VmRSS') ?? 0); }, 20);
      const c = via === 'ftps'
        ? await curl(['--ssl-reqd', '-T', file, `ftp://127.0.0.1:${ftpsPort}/bench-${run}.zip`], `user = ${quote(`${LOGIN}:${PASSWORD}`)}\n`, timeoutS)
        : await curl(['-F', `file=@${file};filename=bench-web-${run}.zip;type=application/zip`, `${base}/domains/${USERSPACE}?_csrf=${encodeURIComponent(session.csrf)}`],
          `header = ${quote(`Cookie: ${session.cookie}`)}\n`, timeoutS);
      clearInterval(sampler);
      peak = Math.max(peak, procKb(pid, 'VmRSS') ?? 0);
      const expected = via === 'ftps' ? 226 : 303;
      const ok = c.ok && c.response === expected && c.sizeUpload >= bytes;
      let verified = false;
      if (ok) {
        // the run's sync (it fails at once: not a zip) must be over before the next upload
        finished++;
        const end = Date.now() + timeoutS * 1000;
        while (daemon && daemon.lines.filter((l) => l.message === 'sync finished').length < finished) {
          if (Date.now() > end) throw new Error(`the sync of ${via} run ${run} did not finish within ${timeoutS} s`);
          await new Promise((r) => setTimeout(r, 50)); // the daemon's log arrives on a pipe: looked at every 50 ms
        }
        const started = daemon?.lines.filter((l) => l.message === 'sync started').at(-1);
        verified = started?.bytes === bytes && started?.sha256 === sha256;
      }
      const r: WebUploadRun = {
        via, run, ok, seconds: ok ? c.timeTotal : null, mbPerSec: ok ? bytes / MB / c.timeTotal : null,
        rssBeforeMB: rssBefore === null ? null : rssBefore / 1024, rssPeakMB: peak / 1024, verified,
        ...(ok ? {} : { error: `curl exit ${c.code}, answer ${c.response}: ${c.tail}` }),
      };
      process.stderr.write(`  web bench: ${via} run ${run}: ${r.mbPerSec === null ? r.error : `${fmtNum(r.mbPerSec, 0)} MB/s in ${fmtNum(r.seconds ?? 0, 2)} s, RSS ${fmtNum(r.rssBeforeMB ?? 0, 0)} → ${fmtNum(r.rssPeakMB ?? 0, 0)} MB`}\n`);
      return r;
    };
    for (let run = 1; run <= opts.runs; run++) {
      const order: Array<'ftps' | 'web'> = run % 2 ? ['ftps', 'web'] : ['web', 'ftps'];
      for (const via of order) runs.push(await once(via, run));
    }
    const hwm = procKb(pid, 'VmHWM');
    const med = (via: 'ftps' | 'web') => median(runs.filter((r) => r.via === via && r.mbPerSec !== null).map((r) => r.mbPerSec as number));
    const [ftpsMedianMBs, webMedianMBs] = [med('ftps'), med('web')];
    const growth = (via: 'ftps' | 'web') => {
      const g = runs.filter((r) => r.via === via && r.rssBeforeMB !== null && r.rssPeakMB !== null).map((r) => (r.rssPeakMB as number) - (r.rssBeforeMB as number));
      return g.length ? Math.max(...g) : null;
    };
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    daemon = null;
    return {
      date: new Date().toISOString(), fileMB: opts.fileMB, runsPerPath: opts.runs, runs, ftpsMedianMBs, webMedianMBs,
      ratio: ftpsMedianMBs && webMedianMBs ? webMedianMBs / ftpsMedianMBs : null, target: WEB_TARGET_RATIO,
      daemonPeakRssMB: hwm === null ? null : hwm / 1024, maxRssGrowthMB: { ftps: growth('ftps'), web: growth('web') },
      loadBefore, loadAfter: (await import('node:os')).loadavg()[0],
    };
  } finally {
    off();
    cleanup();
  }
}

export function renderWebUploadMarkdown(r: WebUploadReport): string {
  const rows = r.runs.map((x) => [x.via, String(x.run), x.seconds === null ? (x.error ?? 'failed').split('\n')[0] : fmtNum(x.seconds, 2), x.mbPerSec === null ? '' : fmtNum(x.mbPerSec, 0),
    x.rssBeforeMB === null ? '' : fmtNum(x.rssBeforeMB, 0), x.rssPeakMB === null ? '' : fmtNum(x.rssPeakMB, 0), x.verified ? 'yes' : 'NO']);
  const verdict = r.ratio === null ? 'not measured' : r.ratio >= r.target ? 'met' : 'NOT met';
  return [
    `## Web upload vs FTPS (${r.fileMB} MiB, ${r.date.slice(0, 10)})`,
    `The daemon (\`rosterdrop serve\`, SQLite) receives the same ${r.fileMB} MiB file through its FTPS server (curl -T) and through the domain page's form (curl -F with the session cookie), ${r.runsPerPath} times each, alternating. Load average ${fmtNum(r.loadBefore, 2)} → ${fmtNum(r.loadAfter, 2)}.`,
    mdTable(['path', 'run', 'seconds', 'MB/s', 'daemon RSS before MB', 'peak during MB', 'same bytes synced'], rows),
    mdTable(['', 'value'], [
      ['FTPS median MB/s', r.ftpsMedianMBs === null ? '' : fmtNum(r.ftpsMedianMBs, 0)],
      ['web median MB/s', r.webMedianMBs === null ? '' : fmtNum(r.webMedianMBs, 0)],
      [`web / FTPS (target ≥ ${r.target}×)`, r.ratio === null ? '' : `${fmtNum(r.ratio, 2)}× (${verdict})`],
      ['largest RSS growth during one upload: web', `${fmtNum(r.maxRssGrowthMB.web, 0)} MB`],
      ['largest RSS growth during one upload: FTPS', `${fmtNum(r.maxRssGrowthMB.ftps, 0)} MB`],
      ['daemon peak RSS (VmHWM) over the whole bench', r.daemonPeakRssMB === null ? '' : `${fmtNum(r.daemonPeakRssMB, 0)} MB`],
    ]),
  ].join('\n\n');
}

if (require.main === module) {
  runWebUploadBench(webUploadOptionsFromEnv()).then((r) => {
    process.stdout.write(`${renderWebUploadMarkdown(r)}\n`);
  }, (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    runInterruptCleanups();
    process.exit(1);
  });
}
