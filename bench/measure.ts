/**
 * Runs one measured operation in a fresh child process (`node dist/bench/child.js <json>`), so
 * neither the parent's heap nor an earlier operation pollutes the time or the peak RSS. The child
 * prints its report as one JSON line on stdout (the last line carrying `"bench":1`).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { RosterVariant } from './generate';

export type ChildArgs =
  | { op: 'generate'; enrollments: number; seed: number; variant: RosterVariant; passwords: boolean; dir: string }
  | { op: 'baseline-pg'; csvDir: string; databaseUrl: string }
  | { op: 'baseline-sqlite'; csvDir: string; sqlitePath: string }
  | {
      op: 'sync';
      zipPath: string;
      /** PostgreSQL when set, else the SQLite file at sqlitePath */
      databaseUrl?: string;
      sqlitePath?: string;
      /** the bench domain from the first sync; absent = create it (first sync) or look it up */
      domainId?: number;
      userspace?: string;
      /** let the engine hash new users' passwords before returning, timed apart (default: no) */
      hashPasswords?: boolean;
      /** setting overrides for the bench domain, applied when the domain is created */
      settings?: Record<string, unknown>;
      /** the hash part: the engine hashes with this candidate instead of rosterdrop's own (bench/hash-scheme.ts) */
      scheme?: HashScheme;
    }
  | { op: 'read-floor'; zipPath: string }
  | { op: 'insert-floor'; databaseUrl?: string; sqlitePath?: string }
  | { op: 'fingerprint-floor'; databaseUrl: string }
  | { op: 'parsers'; csvPath: string }
  | { op: 'password-sample'; hashes: number }
  | { op: 'hash-single'; scheme: HashScheme; hashes: number };

/** A password-hash candidate of the hash part (bench/hash.ts): the old scrypt, or an Argon2id setting. */
export type HashScheme = { alg: 'scrypt' } | { alg: 'argon2id'; m: number; t: number; p: number };

/** What bench/parsers.ts's benchParsers(csvPath) returns per parser. */
export type ParserFigure = { parser: string; rows: number; seconds: number; rowsPerSec: number };

export interface ChildReport<R = unknown> {
  bench: 1;
  op: string;
  ok: boolean;
  /** wall seconds of the measured operation only (not process start, imports or connecting) */
  seconds: number;
  /** peak resident set size of the child over its whole life */
  maxRssKiB: number;
  maxRssMB: number;
  result?: R;
  error?: string;
}

export interface RunChildOptions {
  /** kill the child after this long (default: env BENCH_TIMEOUT_S or 2 h) */
  timeoutMs?: number;
  /** pass the child's stderr through (default: env BENCH_VERBOSE) */
  verbose?: boolean;
}

const STDOUT_KEEP = 1 << 20;
const STDERR_KEEP = 16 << 10;

export function childScript(): string {
  return path.join(__dirname, 'child.js');
}

/** Parse the child's report: the last stdout line that is a JSON object with bench: 1. */
export function parseChildReport<R>(stdout: string): ChildReport<R> | null {
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith('{') || !line.includes('"bench":1')) continue;
    try {
      const parsed = JSON.parse(line) as ChildReport<R>;
      if (parsed && parsed.bench === 1) return parsed;
    } catch {
      // not ours
    }
  }
  return null;
}

export function runChild<R = unknown>(args: ChildArgs, opts: RunChildOptions = {}): Promise<ChildReport<R>> {
  const timeoutMs = opts.timeoutMs ?? Number(process.env.BENCH_TIMEOUT_S ?? 7200) * 1000;
  const verbose = opts.verbose ?? !!process.env.BENCH_VERBOSE;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childScript(), JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (stdout.length > 2 * STDOUT_KEEP) stdout = stdout.slice(-STDOUT_KEEP);
    });
    child.stderr.on('data', (d: string) => {
      if (verbose) process.stderr.write(d);
      stderr += d;
      if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const fail = (error: string): ChildReport<R> => ({ bench: 1, op: args.op, ok: false, seconds: NaN, maxRssKiB: NaN, maxRssMB: NaN, error });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(fail(`could not start the child: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const report = parseChildReport<R>(stdout);
      if (report) {
        if (!report.ok && stderr.trim() && report.error && !report.error.includes(stderr.trim().slice(-200))) {
          report.error += `\n--- child stderr (tail) ---\n${stderr.slice(-2000)}`;
        }
        resolve(report);
        return;
      }
      const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : `exited with ${signal ?? `code ${code}`} without a report`;
      resolve(fail(`${args.op}: ${why}\n--- stderr (tail) ---\n${stderr.slice(-4000)}\n--- stdout (tail) ---\n${stdout.slice(-2000)}`));
    });
  });
}
