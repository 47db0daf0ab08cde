/**
 * What a /metrics scrape costs with many domains and runs: `node dist/bench/metrics-scrape.js`
 * (BENCH_DBS, BENCH_METRICS_DOMAINS = 500, BENCH_METRICS_RUNS = 100000). Fills a fresh database with
 * that many domains and finished runs (counts JSON, durations, sizes, issue totals; 1 in 2000 left
 * queued, running or held), then times, in this process, the database part and the rendering of
 * one operator scrape (RunMetrics.snapshot + the Prometheus text): the first after a start (it reads
 * every run once) and the next 20 (steady state, what every 15 s scrape costs), and after 100 more
 * runs arrive. Prints a Markdown table.
 */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase } from '../src/db/data-source';
import { Domain, SyncRun } from '../src/db/entities';
import { RunMetrics } from '../src/services/run-metrics';
import { emptyCounts } from '../src/sync/types';
import { scrapeRegistry } from '../src/web/ops/metrics';
import { fmtNum, mdTable } from './markdown';

type Db = 'postgres' | 'sqlite';

async function seed(ds: import('typeorm').DataSource, domains: number, runs: number, from = 0): Promise<void> {
  if (from === 0) {
    for (let i = 0; i < domains; i += 500) {
      await ds.createQueryBuilder().insert().into(Domain).values(Array.from({ length: Math.min(500, domains - i) }, (_, k) => ({
        userspace: `d${String(i + k).padStart(4, '0')}`, name: `Domain ${i + k}`, parentId: null, externalId: null, metadata: null,
      }))).execute();
    }
  }
  const ids = (await ds.getRepository(Domain).find({ select: { id: true } })).map((d) => d.id);
  const statuses = ['succeeded', 'succeeded', 'succeeded', 'completed_with_errors', 'failed', 'refused', 'validated', 'skipped'];
  const open = ['queued', 'running', 'held'];
  for (let i = 0; i < runs; i += 500) {
    await ds.createQueryBuilder().insert().into(SyncRun).values(Array.from({ length: Math.min(500, runs - i) }, (_, k) => {
      const n = from + i + k;
      const c = emptyCounts();
      c.users.created = n % 97; c.users.updated = n % 13; c.users.unchanged = 1000 + (n % 500); c.enrollments.created = n % 1000; c.enrollments.removed = n % 7;
      const status = n % 2000 === 0 ? open[(n / 2000) % 3] : statuses[n % statuses.length];
      const finished = !open.includes(status);
      return {
        domainId: ids[n % ids.length], source: n % 3 ? 'ftps' : 'watcher', fileName: 'roster.zip', mode: status === 'validated' ? 'validate' : 'apply',
        status: status as SyncRun['status'], message: '', counts: finished ? JSON.stringify(c) : null, sizeBytes: 10_000 + n,
        durationMs: finished ? 500 + (n % 120_000) : null, finishedAt: finished ? new Date(Date.now() - (runs - n) * 60_000) : null,
        startedAt: null, errorCount: n % 5, warningCount: n % 11, infoCount: 0,
      };
    })).execute();
  }
}

async function timeScrape(m: RunMetrics): Promise<{ dbMs: number; totalMs: number; bytes: number; series: number }> {
  const t = process.hrtime.bigint();
  const s = await m.snapshot(null);
  const text = await scrapeRegistry(s).metrics();
  return { dbMs: s.refreshSeconds * 1000, totalMs: Number(process.hrtime.bigint() - t) / 1e6, bytes: text.length, series: text.split('\n').filter((l) => l && !l.startsWith('#')).length };
}

async function main(): Promise<void> {
  const dbs = (process.env.BENCH_DBS ?? 'postgres,sqlite').split(',').map((d) => d.trim()) as Db[];
  const domains = Number(process.env.BENCH_METRICS_DOMAINS ?? 500);
  const runs = Number(process.env.BENCH_METRICS_RUNS ?? 100_000);
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const rows: string[][] = [];
  for (const db of dbs) {
    const dir = fs.mkdtempSync(path.join(process.env.BENCH_TMPDIR || os.tmpdir(), 'rosterdrop-metrics-'));
    const name = 'rosterdrop_bench_metrics';
    let url: string | undefined;
    if (db === 'postgres') {
      const c = new Client(adminUrl);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      url = u.toString();
    }
    const ds = await openDatabase(url ? { databaseUrl: url, migrate: true } : { sqlitePath: path.join(dir, 'rosterdrop.sqlite'), migrate: true });
    try {
      process.stderr.write(`metrics scrape: ${db}, seeding ${domains} domains and ${runs} runs\n`);
      await seed(ds, domains, runs);
      const m = new RunMetrics(ds, () => Date.now() + 3_600_000); // the seeded runs count as settled (older than the watermark's lag)
      const first = await timeScrape(m);
      const steady: Array<Awaited<ReturnType<typeof timeScrape>>> = [];
      for (let i = 0; i < 20; i++) steady.push(await timeScrape(m));
      await seed(ds, domains, 100, runs);
      const after = await timeScrape(m);
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      rows.push([db, fmtNum(first.dbMs, 0), fmtNum(first.totalMs, 0), fmtNum(med(steady.map((s) => s.dbMs)), 1), fmtNum(med(steady.map((s) => s.totalMs)), 1),
        fmtNum(Math.max(...steady.map((s) => s.totalMs)), 1), fmtNum(after.totalMs, 1), String(first.series), fmtNum(first.bytes / 1024, 0)]);
    } finally {
      await ds.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
      if (db === 'postgres') {
        const c = new Client(adminUrl);
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      }
    }
  }
  process.stdout.write(`## /metrics scrape cost\n\n${new Date().toISOString().slice(0, 10)}, ${domains} domains, ${runs.toLocaleString('en-US')} runs, ${os.cpus().length} cores, operator scrape (every domain), in-process.\n\n` +
    mdTable(['database', 'first scrape: db ms', 'first: total ms', 'steady: db ms (median of 20)', 'steady: total ms', 'steady: max ms', 'after 100 new runs: total ms', 'series', 'KiB'], rows) + '\n');
}

main().catch((e: Error) => { process.stderr.write(`${e.stack ?? e.message}\n`); process.exit(1); });
