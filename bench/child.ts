/**
 * One measured bench operation per process: `node dist/bench/child.js '<json ChildArgs>'`.
 * Prints one JSON line (ChildReport) on stdout: the operation's seconds and the process's peak
 * RSS (`process.resourceUsage().maxRSS`, KiB). See measure.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { baselinePostgres, baselineSqlite } from './baseline';
import { fingerprintFloorPostgres, insertFloorPostgres, insertFloorSqlite, readFloor } from './floors';
import { generateRoster } from './generate';
import type { ChildArgs, ChildReport, ParserFigure } from './measure';
import { passwordSample, runSync } from './sync-op';
import { hashSingle, useScheme } from './hash-scheme';
import { boundHeapGrowth } from '../src/util/heap-growth';

type ParsersModule = { benchParsers(csvPath: string): Promise<ParserFigure[]> };

function now(): bigint {
  return process.hrtime.bigint();
}
function since(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function runOp(args: ChildArgs): Promise<{ seconds: number; result: unknown }> {
  switch (args.op) {
    case 'generate': {
      const t0 = now();
      const result = await generateRoster({ enrollments: args.enrollments, seed: args.seed, variant: args.variant, passwords: args.passwords, dir: args.dir });
      return { seconds: since(t0), result };
    }
    case 'baseline-pg': {
      const r = await baselinePostgres(args.csvDir, args.databaseUrl);
      return { seconds: r.seconds, result: r };
    }
    case 'baseline-sqlite': {
      const r = await baselineSqlite(args.csvDir, args.sqlitePath);
      return { seconds: r.seconds, result: r };
    }
    case 'sync':
      // as the rosterdrop command does (src/cli/main.ts): a sync's peak RSS is the product's
      boundHeapGrowth();
      if (args.scheme) useScheme(args.scheme);
      return runSync(args);
    case 'read-floor': {
      const r = await readFloor(args.zipPath);
      return { seconds: r.seconds, result: r };
    }
    case 'insert-floor': {
      const r = args.databaseUrl ? await insertFloorPostgres(args.databaseUrl) : insertFloorSqlite(args.sqlitePath ?? '');
      return { seconds: r.seconds, result: r };
    }
    case 'fingerprint-floor': {
      const r = await fingerprintFloorPostgres(args.databaseUrl);
      return { seconds: r.seconds, result: r };
    }
    case 'password-sample':
      return passwordSample(args.hashes);
    case 'hash-single':
      return hashSingle(args.scheme, args.hashes);
    case 'parsers': {
      // bench/parsers.ts is written separately; load it at run time so the bench builds without it
      const file = path.join(__dirname, 'parsers.js');
      if (!fs.existsSync(file)) throw new Error('bench/parsers.ts is not built (dist/bench/parsers.js missing)');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(file) as ParsersModule;
      if (typeof mod.benchParsers !== 'function') throw new Error('bench/parsers does not export benchParsers(csvPath)');
      const t0 = now();
      const result = await mod.benchParsers(args.csvPath);
      return { seconds: since(t0), result };
    }
    default:
      throw new Error(`unknown op ${(args as { op: string }).op}`);
  }
}

async function main(): Promise<void> {
  let report: ChildReport;
  let op = '?';
  try {
    const args = JSON.parse(process.argv[2] ?? '') as ChildArgs;
    op = args.op;
    const { seconds, result } = await runOp(args);
    report = { bench: 1, op, ok: true, seconds, maxRssKiB: 0, maxRssMB: 0, result };
  } catch (err) {
    const e = err as Error;
    report = { bench: 1, op, ok: false, seconds: NaN, maxRssKiB: 0, maxRssMB: 0, error: e?.stack ?? String(err) };
  }
  const maxRss = process.resourceUsage().maxRSS; // KiB
  report.maxRssKiB = maxRss;
  report.maxRssMB = Math.round((maxRss / 1024) * 10) / 10;
  // the report is the last line; exit explicitly so open handles (pools, workers) cannot hang us
  process.stdout.write(`\n${JSON.stringify(report)}\n`, () => process.exit(report.ok ? 0 : 1));
}

void main();
