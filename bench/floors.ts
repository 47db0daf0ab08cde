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
 */
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { IssueSink } from '../src/oneroster/issues';
import { readManifest } from '../src/oneroster/manifest';
import { readCsv } from '../src/oneroster/read-csv';
import { SCHEMAS } from '../src/oneroster/schemas';
import { REQUIRED_FILES } from '../src/oneroster/types';
import { DEFAULT_ZIP_LIMITS, RosterZip } from '../src/oneroster/zip-reader';

export interface FloorResult {
  rows: number;
  seconds: number;
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
    for (const file of REQUIRED_FILES) {
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
