/**
 * The daemon under a command flood (run by `npm run bench`, or alone: `node dist/bench/command-flood.js`):
 * issue 17 #1. One connection, before TLS or login, sends BENCH_FLOOD_MB MiB (default 32) of
 * `HELP\r\n` and never reads a reply; another domain's logged-in connection sends a NOOP every
 * ~20 ms meanwhile. Measured: the daemon's RSS (/proc/<pid>/status VmRSS sampled every 20 ms, and
 * VmHWM) before, at its peak and after the flooder is gone, what the daemon read (/proc/<pid>/io
 * rchar), and the NOOP round trips before, during and after. The scenario is the test's
 * (tests/helpers/command-flood.ts): `rosterdrop serve` in a child process on SQLite, whose login
 * timeout (BENCH_FLOOD_LOGIN_TIMEOUT_S, 10) is what closes the flooder. Only 127.0.0.1 is used.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { measureCommandFlood, type FloodResult } from '../tests/helpers/command-flood';
import { median } from './ftps-upload';
import { onInterrupt } from './interrupt';
import { fmtNum, mdTable } from './markdown';
import { envInt } from './env';

export interface FloodReport {
  date: string;
  node: string;
  cores: number;
  loginTimeoutS: number;
  result: FloodResult | null;
  error?: string;
}

export interface FloodBenchOptions {
  tmpBase: string;
  keep: boolean;
  verbose: boolean;
  log(msg: string): void;
}

export async function runFloodBench(opts: FloodBenchOptions): Promise<FloodReport> {
  const floodMB = envInt('BENCH_FLOOD_MB', 32, 1, 4096);
  const loginTimeoutS = envInt('BENCH_FLOOD_LOGIN_TIMEOUT_S', 10, 1, 3600);
  const report: FloodReport = { date: new Date().toISOString(), node: process.version, cores: os.availableParallelism?.() ?? os.cpus().length, loginTimeoutS, result: null };
  const tmp = fs.mkdtempSync(path.join(opts.tmpBase, 'rosterdrop-flood-bench-'));
  const remove = () => { if (!opts.keep) fs.rmSync(tmp, { recursive: true, force: true }); };
  const unregister = onInterrupt(remove);
  try {
    opts.log(`flood: ${floodMB} MB of HELP on one connection, NOOPs on another (temp ${tmp})`);
    // BENCH_FLOOD_ABORT_MB: the flooder gives up once the daemon grew this much (a daemon with the defect)
    const abortGrowthMB = envInt('BENCH_FLOOD_ABORT_MB', 4096, 16, 65_536);
    report.result = await measureCommandFlood({ dataDir: path.join(tmp, 'data'), bytes: floodMB * 2 ** 20, loginTimeoutS, probes: 20, abortGrowthMB, verbose: opts.verbose });
  } catch (err) {
    report.error = (err as Error).stack ?? String(err);
  } finally {
    unregister();
    remove();
  }
  return report;
}

function percentile(values: number[], p: number): number | null {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] : null;
}

/** The `## Command flood` section of latest.md. */
export function renderFloodMarkdown(r: FloodReport): string {
  const parts = [`## Command flood: one connection pipelines without reading (${r.date.slice(0, 10)})`];
  const x = r.result;
  if (!x) return [...parts, `Not measured: ${(r.error ?? '?').split('\n')[0]}`].join('\n\n');
  parts.push([
    `- \`rosterdrop serve\` (SQLite) in a child process; one connection sends ${x.floodMB} MB of \`HELP\\r\\n\` before TLS and reads nothing; ` +
      `another domain's administrator, logged in over TLS, sends a NOOP every ~20 ms; ${r.cores} cores, Node ${r.node}`,
    `- The flooder ${x.closedByServer ? `was closed by the daemon (login timeout ${r.loginTimeoutS} s)` : x.aborted ? 'gave up: the daemon grew past the abort limit' : 'left'} ` +
      `after ${fmtNum(x.floodSeconds, 1)} s; every byte accepted by the kernel: ${x.allSent ? 'yes' : 'no'}; the daemon read ${fmtNum(x.readMB, 1)} MB meanwhile (rchar)`,
  ].join('\n'));
  const m = x.memory;
  parts.push(mdTable(
    ['daemon memory', 'MB'],
    [
      ['RSS before the flood', fmtNum(m.rssBeforeMB, 0)], ['peak RSS during the flood (sampled every 20 ms)', fmtNum(m.peakRssMB, 0)],
      ['growth', fmtNum(m.peakRssMB - m.rssBeforeMB, 1)], ['VmHWM before / after', `${fmtNum(m.hwmBeforeMB, 0)} / ${fmtNum(m.hwmAfterMB, 0)}`],
      ['RSS after the flooder left', fmtNum(m.rssAfterMB, 0)],
    ],
    ['---', '---:'],
  ));
  const row = (name: string, v: number[]) => [name, String(v.length), fmtNum(median(v), 2), fmtNum(percentile(v, 99), 2), fmtNum(v.length ? Math.max(...v) : null, 2)];
  parts.push(mdTable(
    ['other tenant\'s NOOP', 'count', 'median ms', 'p99 ms', 'max ms'],
    [row('before the flood', x.noopMs.calibration), row('during the flood', x.noopMs.flood), row('after', x.noopMs.after)],
    ['---', '---:', '---:', '---:', '---:'],
  ));
  return parts.join('\n\n');
}

if (require.main === module) {
  const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  runFloodBench({ tmpBase: process.env.BENCH_TMPDIR || os.tmpdir(), keep: process.env.BENCH_KEEP === '1', verbose: process.env.BENCH_VERBOSE === '1', log })
    .then((r) => process.stdout.write(`${renderFloodMarkdown(r)}\n`))
    .catch((e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    });
}
