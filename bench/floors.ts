/**
 * Floors: the parts of a sync that no design of the engine can avoid, timed alone, so the targets
 * can be read against what is possible on this machine.
 *
 * - read floor: open the zip, unzip every required file and run it through the strict reader
 *   (parse, header, every row validated), with no mapping and no database. Any engine that
 *   validates OneRoster strictly does at least this, on every sync, changed or not.
 * - insert floor: the first sync's enrollments copied, in one statement and one transaction, into a
 *   fresh table with `enrollment`'s columns and indexes (read from the live table, so the source is
 *   already in memory). A first sync has to write at least these rows and their index entries.
 * - fingerprint floor (PostgreSQL): not a floor of every engine but of the redesign the README
 *   describes for the no-change target, where a sync would stage only a fingerprint per row. It
 *   times what that design still does on top of the read floor: every managed enrollment's and
 *   user's (external ID, fingerprint) copied in, and one join per table that finds the rows whose
 *   live fingerprint differs. The live tables are first copied (untimed) with a fingerprint column,
 *   so that the joins read rows as wide as the live ones.
 */
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { IssueSink } from '../src/oneroster/issues';
import { readManifest } from '../src/oneroster/manifest';
import { readCsv } from '../src/oneroster/read-csv';
import { SCHEMAS } from '../src/oneroster/schemas';
import { APPLIED_FILES } from '../src/oneroster/types';
import { DEFAULT_ZIP_LIMITS, RosterZip } from '../src/oneroster/zip-reader';

export interface FloorResult {
  rows: number;
  seconds: number;
  /** fingerprint floor: rows whose fingerprint differed (0 when it compared what it copied) */
  changed?: number;
}

const now = (): bigint => process.hrtime.bigint();
const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

export async function readFloor(zipPath: string): Promise<FloorResult> {
  const issues = new IssueSink(100);
  const t0 = now();
  const zip = await RosterZip.open(zipPath, DEFAULT_ZIP_LIMITS, issues);
  let rows = 0;
  try {
    const manifest = await readManifest(zip, issues);
    for (const file of APPLIED_FILES) {
      const input = await zip.openStream(SCHEMAS[file].fileName);
      for await (const batch of readCsv(input, SCHEMAS[file], manifest.modes[file] as 'bulk' | 'delta', issues)) rows += batch.length;
    }
  } finally {
    zip.close();
  }
  return { rows, seconds: since(t0) };
}

const COLUMNS = 'course_id, user_id, domain_id, role, status, start_at, end_at, external_id, metadata, created_at, updated_at';
const FLOOR_TABLE = 'bench_floor_enrollment';

export async function insertFloorPostgres(databaseUrl: string): Promise<FloorResult> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`);
    // INCLUDING ALL: the same indexes (primary key, course, user, external ID) and defaults; the
    // table's storage parameters (fillfactor) are not copied by LIKE, so they are set as the live one's
    await c.query(`CREATE TABLE ${FLOOR_TABLE} (LIKE enrollment INCLUDING ALL)`);
    const { rows: [rel] } = await c.query<{ options: string[] | null }>("SELECT reloptions AS options FROM pg_class WHERE oid = 'enrollment'::regclass");
    if (rel?.options?.length) await c.query(`ALTER TABLE ${FLOOR_TABLE} SET (${rel.options.join(', ')})`);
    await c.query('CHECKPOINT');
    const t0 = now();
    await c.query('BEGIN');
    const r = await c.query(`INSERT INTO ${FLOOR_TABLE} (${COLUMNS}) SELECT ${COLUMNS} FROM enrollment ORDER BY id`);
    await c.query('COMMIT');
    const seconds = since(t0);
    await c.query(`DROP TABLE ${FLOOR_TABLE}`);
    return { rows: r.rowCount ?? 0, seconds };
  } finally {
    await c.end();
  }
}

export function insertFloorSqlite(sqlitePath: string): FloorResult {
  const db = new Database(sqlitePath);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`);
    // the live table's own DDL, renamed: same columns, same indexes
    const ddl = db.prepare("SELECT type, sql FROM sqlite_master WHERE tbl_name = 'enrollment' AND sql IS NOT NULL ORDER BY type DESC").all() as Array<{ type: string; sql: string }>;
    if (!ddl.some((d) => d.type === 'table')) throw new Error('no enrollment table: run a sync first');
    for (const d of ddl) {
      db.exec(d.sql
        .replace(/"enrollment"/g, `"${FLOOR_TABLE}"`)
        .replace(/(INDEX\s+"?)([A-Za-z0-9_]+)/, `$1floor_$2`)
        .replace(/(CONSTRAINT\s+"?)([A-Za-z0-9_]+)/g, `$1floor_$2`));
    }
    const t0 = now();
    const r = db.transaction(() => db.prepare(`INSERT INTO ${FLOOR_TABLE} (${COLUMNS}) SELECT ${COLUMNS} FROM enrollment ORDER BY id`).run())();
    const seconds = since(t0);
    db.exec(`DROP TABLE ${FLOOR_TABLE}`);
    return { rows: r.changes, seconds };
  } finally {
    db.close();
  }
}

const FINGERPRINTED = ['enrollment', 'lms_user'] as const;

export async function fingerprintFloorPostgres(databaseUrl: string): Promise<FloorResult> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  const copyOf = (t: string) => `bench_fp_${t}`;
  const stageOf = (t: string) => `bench_fp_stage_${t}`;
  try {
    // untimed: the live tables as the design would have them, and the file's fingerprints in memory
    const staged: Array<{ table: string; lines: string[] }> = [];
    for (const t of FINGERPRINTED) {
      const { rows: [rel] } = await c.query<{ options: string[] | null }>(`SELECT reloptions AS options FROM pg_class WHERE oid = '${t}'::regclass`);
      await c.query(`DROP TABLE IF EXISTS ${copyOf(t)}`);
      await c.query(`CREATE TABLE ${copyOf(t)}${rel?.options?.length ? ` WITH (${rel.options.join(', ')})` : ''} AS
        SELECT *, hashtextextended(external_id, 0) AS fp FROM ${t}`);
      await c.query(`VACUUM ANALYZE ${copyOf(t)}`);
      const { rows } = await c.query<{ line: string }>(`SELECT external_id || E'\t' || fp AS line FROM ${copyOf(t)} WHERE external_id LIKE 'or-%'`);
      staged.push({ table: t, lines: rows.map((r) => r.line) });
    }
    await c.query('CHECKPOINT');

    const t0 = now();
    let rows = 0;
    let changed = 0;
    for (const { table, lines } of staged) {
      await c.query(`DROP TABLE IF EXISTS ${stageOf(table)}`);
      await c.query(`CREATE UNLOGGED TABLE ${stageOf(table)} (ext text, fp bigint)`);
      async function* batches(): AsyncGenerator<string> {
        for (let i = 0; i < lines.length; i += 10_000) yield `${lines.slice(i, i + 10_000).join('\n')}\n`;
      }
      await pipeline(batches(), c.query(copyFrom(`COPY ${stageOf(table)} (ext, fp) FROM STDIN`)));
      await c.query(`ANALYZE ${stageOf(table)}`);
      const { rows: [r] } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${stageOf(table)} s
        LEFT JOIN ${copyOf(table)} x ON x.external_id = s.ext WHERE x.fp IS DISTINCT FROM s.fp`);
      rows += lines.length;
      changed += Number(r.n);
    }
    const seconds = since(t0);
    return { rows, seconds, changed };
  } finally {
    for (const t of FINGERPRINTED) await c.query(`DROP TABLE IF EXISTS ${copyOf(t)}, ${stageOf(t)}`).catch(() => undefined);
    await c.end();
  }
}
