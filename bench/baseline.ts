/**
 * The bench's yardsticks: the cheapest way to get the same rows into each database, so sync
 * timings read as ratios.
 *
 * - PostgreSQL: one unindexed table of text columns per CSV, filled by a plain `COPY … FROM STDIN
 *   (FORMAT csv, HEADER true)` streamed from the file (pg-copy-streams).
 * - SQLite (better-sqlite3): the same tables, filled through one prepared INSERT per file, all in
 *   one transaction, WAL and synchronous=NORMAL, rows split by a small quote-aware CSV splitter.
 *
 * Both read every data row of every data file the sync reads (orgs, academicSessions, courses,
 * classes, users, enrollments). The timer starts after the connection opens and stops once the
 * rows are committed; the tables are dropped afterwards (outside the timer).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export const BASELINE_FILES = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'] as const;

export interface BaselineResult {
  rows: number;
  seconds: number;
  /** data rows per file */
  files: Record<string, number>;
}

export interface BaselineOptions {
  /** keep the baseline tables (default: drop them after measuring) */
  keep?: boolean;
}

const PG_SCHEMA = 'rosterdrop_baseline';

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The header row of a CSV file (BOM stripped), split into column names. */
export async function readHeader(file: string): Promise<string[]> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const nl = text.indexOf('\n');
    if (nl < 0 && bytesRead === buf.length) throw new Error(`${file}: header line longer than 64 KiB`);
    const line = (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
    return splitCsvLine(line);
  } finally {
    await fh.close();
  }
}

function existingFiles(csvDir: string): { name: string; file: string }[] {
  const out: { name: string; file: string }[] = [];
  for (const name of BASELINE_FILES) {
    const file = path.join(csvDir, `${name}.csv`);
    if (fs.existsSync(file)) out.push({ name, file });
  }
  if (out.length === 0) throw new Error(`no OneRoster data files in ${csvDir}`);
  return out;
}

// ------------------------------------------------------------------------------------------------
// PostgreSQL

export async function baselinePostgres(csvDir: string, databaseUrl: string, opts: BaselineOptions = {}): Promise<BaselineResult> {
  const files = existingFiles(csvDir);
  const headers = await Promise.all(files.map((f) => readHeader(f.file)));
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
    const perFile: Record<string, number> = {};
    let rows = 0;
    const t0 = process.hrtime.bigint();
    await client.query(`CREATE SCHEMA ${PG_SCHEMA}`);
    for (let i = 0; i < files.length; i++) {
      const table = `${PG_SCHEMA}.${quoteIdent(files[i].name)}`;
      const cols = headers[i].map((h) => `${quoteIdent(h)} text`).join(', ');
      await client.query(`CREATE TABLE ${table} (${cols})`);
      const copy = client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT csv, HEADER true)`));
      await pipeline(fs.createReadStream(files[i].file, { highWaterMark: 1 << 20 }), copy);
      perFile[files[i].name] = copy.rowCount;
      rows += copy.rowCount;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!opts.keep) await client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
    return { rows, seconds, files: perFile };
  } finally {
    await client.end();
  }
}

// ------------------------------------------------------------------------------------------------
// SQLite

/**
 * Split one CSV record (RFC 4180: quotes around fields, "" for a quote inside them). The line must
 * be a complete record (the caller joins lines while a quote is open).
 */
export function splitCsvLine(line: string): string[] {
  if (line.indexOf('"') < 0) return line.split(',');
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      let v = '';
      i++;
      for (;;) {
        const j = line.indexOf('"', i);
        if (j < 0) {
          v += line.slice(i);
          i = n;
          break;
        }
        v += line.slice(i, j);
        if (line.charCodeAt(j + 1) === 34) {
          v += '"';
          i = j + 2;
        } else {
          i = j + 1;
          break;
        }
      }
      // anything between the closing quote and the next comma is kept (lenient)
      const k = line.indexOf(',', i);
      if (k < 0) {
        out.push(v + line.slice(i));
        return out;
      }
      out.push(v + line.slice(i, k));
      i = k + 1;
    } else {
      const k = line.indexOf(',', i);
      if (k < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, k));
      i = k + 1;
    }
  }
}

/** true while a record's quotes are unbalanced (a line break inside a quoted field) */
function quoteOpen(s: string): boolean {
  let count = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) count++;
  return (count & 1) === 1;
}

/**
 * Stream the records of a CSV file (header included) to onRecord, synchronously per chunk, so a
 * caller can insert inside an open transaction between awaits.
 */
export async function forEachCsvRecord(file: string, onRecord: (fields: string[], index: number) => void): Promise<number> {
  let carry = '';
  let pending = ''; // a record whose quoted field spans lines
  let index = 0;
  let first = true;
  const handle = (raw: string) => {
    let line = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (pending) {
      line = `${pending}\n${line}`;
      pending = '';
    }
    if (line.indexOf('"') >= 0 && quoteOpen(line)) {
      pending = line;
      return;
    }
    if (first) {
      first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    if (line === '' ) return; // blank line
    onRecord(splitCsvLine(line), index++);
  };
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = carry + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      handle(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  if (carry) handle(carry);
  if (pending) onRecord(splitCsvLine(pending), index++);
  return index;
}

export async function baselineSqlite(csvDir: string, sqlitePath: string, opts: BaselineOptions = {}): Promise<BaselineResult> {
  const files = existingFiles(csvDir);
  const db = new Database(sqlitePath);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const perFile: Record<string, number> = {};
    let rows = 0;
    const t0 = process.hrtime.bigint();
    db.exec('BEGIN');
    try {
      for (const { name, file } of files) {
        let stmt: Database.Statement | null = null;
        let width = 0;
        let count = 0;
        await forEachCsvRecord(file, (fields, i) => {
          if (i === 0) {
            width = fields.length;
            db.exec(`DROP TABLE IF EXISTS ${quoteIdent(name)}`);
            db.exec(`CREATE TABLE ${quoteIdent(name)} (${fields.map((h) => `${quoteIdent(h)} TEXT`).join(', ')})`);
            stmt = db.prepare(`INSERT INTO ${quoteIdent(name)} VALUES (${fields.map(() => '?').join(', ')})`);
            return;
          }
          // a short or long row is padded / cut to the header's width, as COPY would reject it
          if (fields.length !== width) {
            fields.length = width;
            for (let k = 0; k < width; k++) if (fields[k] === undefined) fields[k] = '';
          }
          stmt!.run(fields);
          count++;
        });
        perFile[name] = count;
        rows += count;
      }
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!opts.keep) {
      for (const { name } of files) db.exec(`DROP TABLE IF EXISTS ${quoteIdent(name)}`);
    }
    return { rows, seconds, files: perFile };
  } finally {
    db.close();
  }
}
