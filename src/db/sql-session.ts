/**
 * One database connection for a sync, with the few operations the engine needs and nothing else:
 * plain SQL with `$1` placeholders on both dialects, affected-row counts, transactions, and a bulk
 * loader (COPY on PostgreSQL, a prepared insert on SQLite). TypeORM owns the schema and the
 * connection; this goes underneath it only where the entity API is far too slow for 1M rows.
 */

import { pipeline } from 'node:stream/promises';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource, QueryRunner } from 'typeorm';
import type BetterSqlite3 from 'better-sqlite3';
import { lockDir, tryFileLock, type FileLockRelease } from './file-lock';

export type Dialect = 'postgres' | 'sqlite';
/** What a session lock guards; on PostgreSQL, each kind is a key space of the two-key advisory locks. */
export type LockKind = 'hashing';
/** "rdpw" in ASCII; the domain locks use "rost" (queue/domain-lock.ts). */
const ADVISORY_SPACE: Record<LockKind, number> = { hashing: 0x72647077 };
export type LockRelease = FileLockRelease;
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface SqlSession {
  readonly dialect: Dialect;
  query<T = Row>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** runs a statement and returns the number of rows it changed */
  run(sql: string, params?: SqlValue[]): Promise<number>;
  /** streams rows into a table; `rows` yields batches */
  load(table: string, columns: readonly string[], rows: AsyncIterable<SqlValue[][]> | Iterable<SqlValue[][]>): Promise<number>;
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /**
   * Cancels the statement running on this session, from outside it (PostgreSQL; on SQLite a
   * statement blocks the event loop, so there is never one to cancel when this can run).
   */
  cancel(): Promise<void>;
  /** how an instant is written so that it compares equal to what the column holds */
  instant(date: Date): string;
  /**
   * `CREATE ${db.scratch} name …` makes a work table only this session uses (see openScratchSchema).
   * Tables that hold plain passwords are always `TEMP TABLE`.
   */
  readonly scratch: 'TEMP TABLE' | 'UNLOGGED TABLE';
  /** drops the scratch tables but those named in `keep` (the TEMP ones stay until release) */
  clearScratch(keep?: readonly string[]): Promise<void>;
  /**
   * An exclusive lock across processes that dies with this session's connection or process: a
   * session advisory lock on PostgreSQL, a file lock beside the embedded database. Returns its
   * release, or null when someone else holds it. Release with `finished` once the work it guards
   * is over for good: the embedded database's lock file then goes too (see file-lock.ts).
   */
  tryLock(kind: LockKind, key: number): Promise<LockRelease | null>;
  /** ends the session: every work table it made (scratch and TEMP) goes, the connection goes back */
  release(): Promise<void>;
}

/**
 * Fresh planner statistics for tables a sync has just filled or changed, inside its transaction.
 * Without them both planners plan with the sizes from before (a first sync: empty tables; temp
 * tables: none at all) and pick nested loops or sort-merges over a million rows: measured 8-12 s
 * instead of ~1 s for one join at 1M enrollments. A small sample is enough to get sizes right.
 */
export async function analyze(db: SqlSession, tables: readonly string[]): Promise<void> {
  if (db.dialect === 'postgres') {
    await db.run('SET default_statistics_target = 10');
    await db.run(`ANALYZE ${tables.join(', ')}`);
    await db.run('RESET default_statistics_target');
    return;
  }
  await db.run('PRAGMA analysis_limit = 1000');
  for (const t of tables) await db.run(`ANALYZE ${t}`);
}

export interface SessionOptions {
  /**
   * PostgreSQL: work tables that parallel workers can read (see openScratchSchema), default true.
   * They pay only for big joins: each costs more to create than a TEMP table (an fsync for its
   * init fork), and a sync creates about 25.
   */
  parallelWork?: boolean;
}

export async function openSession(ds: DataSource, opts: SessionOptions = {}): Promise<SqlSession> {
  const runner = ds.createQueryRunner();
  const conn: unknown = await runner.connect();
  let session: SqlSession;
  if (ds.options.type === 'postgres') {
    const client = conn as PoolClient;
    await client.query("SET TIME ZONE 'UTC'");
    // A sync joins and stages up to millions of rows on this one connection. With the stock 4 MB
    // work_mem and 8 MB temp_buffers every such hash join and temp table spills to disk. Session-local,
    // allocated only when used, and server memory: the daemon's own footprint is unchanged.
    await client.query(`SET work_mem = '${process.env.ROSTERDROP_PG_WORK_MEM ?? '256MB'}'`);
    await client.query(`SET temp_buffers = '${process.env.ROSTERDROP_PG_TEMP_BUFFERS ?? '512MB'}'`);
    // Parallel workers take both cores of a small host: 0 keeps one for the daemon's web and FTPS
    // answers (API p99 during a 1M sync 274 → 32 ms, the sync 38.8 → 39.5 s; bench/README.md)
    const workers = process.env.ROSTERDROP_PG_PARALLEL_WORKERS;
    if (workers !== undefined && /^\d{1,3}$/.test(workers)) await client.query(`SET max_parallel_workers_per_gather = ${workers}`);
    const pid = Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await dropDeadScratchSchemas(client, pid);
    const scratch = opts.parallelWork === false ? null : await openScratchSchema(client, pid);
    session = new PgSession(runner, client, scratch, () => ds.query('SELECT pg_cancel_backend($1)', [pid]).then(() => undefined));
  } else {
    session = new SqliteSession(runner, conn as BetterSqlite3.Database, lockDir(ds.options.database));
  }
  const slowMs = Number(process.env.ROSTERDROP_SLOW_SQL_MS);
  return slowMs > 0 ? traced(session, slowMs) : session;
}

/** ROSTERDROP_SLOW_SQL_MS=n prints statements slower than n ms to stderr (for tuning; off by default). */
function traced(inner: SqlSession, slowMs: number): SqlSession {
  const time = async <T>(sql: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try { return await work(); } finally {
      const ms = performance.now() - t0;
      if (ms >= slowMs) process.stderr.write(`[slow sql ${ms.toFixed(0)} ms] ${sql.replace(/\s+/g, ' ').slice(0, 220)}\n`);
    }
  };
  return Object.assign(Object.create(inner) as SqlSession, {
    query: <T>(sql: string, params?: SqlValue[]) => time(sql, () => inner.query<T>(sql, params)),
    run: (sql: string, params?: SqlValue[]) => time(sql, () => inner.run(sql, params)),
  });
}

const SCRATCH_PREFIX = 'rosterdrop_work_';

/**
 * PostgreSQL never reads a temp table in a parallel worker, so every join over staged rows ran on
 * one core while the other sat idle. Work tables are therefore UNLOGGED tables in a schema of this
 * session's own, first on its search_path: never WAL-logged, gone with the schema, and open to
 * parallel plans (at 1M enrollments: a count over the enrollment join 2.5 → 1.1 s; building
 * enrollment_target 2.5 → 1.9 s). Without the right to create a schema, the work tables stay TEMP
 * tables (slower, same results).
 */
async function openScratchSchema(client: PoolClient, pid: number): Promise<string | null> {
  const schema = `${SCRATCH_PREFIX}${pid}`;
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query("SELECT set_config('search_path', $1 || ', ' || current_setting('search_path'), false)", [schema]);
    // the stock cost of passing a row from a worker (0.1) keeps every join that writes a million
    // rows serial; measured, the parallel plan is 1.4 s against 1.9 s for enrollment_target at 1M
    await client.query('SET parallel_tuple_cost = 0.01');
    return schema;
  } catch {
    return null;
  }
}

/**
 * Work-table schemas whose session died (a crash mid-sync) keep their staged rows until someone
 * drops them: every session does, small uploads' too, which make no schema of their own. One under
 * this session's own pid was left by an earlier backend that had the same pid.
 */
async function dropDeadScratchSchemas(client: PoolClient, pid: number): Promise<void> {
  try {
    // schemas first, live backends second: a schema whose creator is not live after it was seen is dead
    const found = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname ~ $1', [`^${SCRATCH_PREFIX}[0-9]+$`]);
    const live = new Set((await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL')).rows.map((r) => Number(r.pid)));
    for (const { nspname } of found.rows) {
      const owner = Number(nspname.slice(SCRATCH_PREFIX.length));
      if (owner !== pid && live.has(owner)) continue;
      // another session may be sweeping the same one
      await client.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`).catch(() => undefined);
    }
  } catch {
    // no right to read the catalog this way: nothing to sweep here
  }
}

class PgSession implements SqlSession {
  readonly dialect = 'postgres';
  readonly scratch: 'TEMP TABLE' | 'UNLOGGED TABLE';
  constructor(private readonly runner: QueryRunner, private readonly client: PoolClient, private readonly schema: string | null,
    private readonly cancelBackend: () => Promise<void>) {
    this.scratch = schema ? 'UNLOGGED TABLE' : 'TEMP TABLE';
  }

  /**
   * A cancel is sent from another connection for the statement running now. If that statement ends
   * first, the cancel must not land on the next one (say, the UPDATE that records the interrupted
   * run): every statement waits until a cancel in flight has reached the server, which ignores it
   * while it waits for a command.
   */
  private cancelling: Promise<void> | null = null;

  // bound: sessions are wrapped by prototype (interrupt.ts, traced), and the state must be this one's
  readonly cancel = async (): Promise<void> => {
    const sent = this.cancelBackend().catch(() => undefined);
    this.cancelling = sent;
    await sent;
  };

  private async settled(): Promise<void> {
    while (this.cancelling) {
      const pending = this.cancelling;
      await pending;
      if (this.cancelling === pending) this.cancelling = null;
    }
  }

  private async send<R extends QueryResultRow = QueryResultRow>(sql: string, params?: SqlValue[]): Promise<QueryResult<R>> {
    await this.settled();
    return this.client.query<R>(sql, params);
  }

  async query<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return (await this.send(sql, params)).rows as T[];
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    return (await this.send(sql, params)).rowCount ?? 0;
  }

  async load(table: string, columns: readonly string[], rows: AsyncIterable<SqlValue[][]> | Iterable<SqlValue[][]>): Promise<number> {
    await this.settled();
    const copy = this.client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    let count = 0;
    async function* encode(): AsyncGenerator<Buffer> {
      for await (const batch of rows) {
        count += batch.length;
        yield copyBytes(batch);
      }
    }
    await pipeline(encode(), copy);
    return count;
  }

  async tryLock(kind: LockKind, key: number): Promise<LockRelease | null> {
    const space = ADVISORY_SPACE[kind];
    const rows = await this.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [space, key]);
    if (!rows[0]?.ok) return null;
    return async () => { await this.send('SELECT pg_advisory_unlock($1, $2)', [space, key]).catch(() => undefined); };
  }

  async begin(): Promise<void> { await this.send('BEGIN'); }
  async commit(): Promise<void> { await this.send('COMMIT'); }
  async rollback(): Promise<void> { await this.send('ROLLBACK'); }
  instant(date: Date): string { return date.toISOString(); }

  async clearScratch(keep: readonly string[] = []): Promise<void> {
    if (!this.schema) return;
    const tables = await this.send<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [this.schema]);
    for (const { tablename } of tables.rows) {
      if (!keep.includes(tablename)) await this.send(`DROP TABLE IF EXISTS ${this.schema}.${tablename}`);
    }
  }

  async release(): Promise<void> {
    try {
      // the connection goes back to TypeORM's pool: leave it as it came, also after a failed
      // statement left a transaction aborted (ROLLBACK outside one is only a warning)
      await this.send('ROLLBACK');
      // TEMP work tables (a small upload's, or all of them without a schema) would otherwise live
      // as long as the pooled connection, holding the last sync's rows
      await this.send('DISCARD TEMP');
      if (this.schema) await this.send(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
      await this.send('RESET search_path; RESET work_mem; RESET temp_buffers; RESET parallel_tuple_cost; RESET max_parallel_workers_per_gather');
    } catch {
      // a broken connection: nothing to tidy, and releasing it must not fail a finished sync
    } finally {
      await this.runner.release();
    }
  }
}

/** COPY text format: \N is NULL; backslash, tab and line breaks are escaped. */
const COPY_SPECIAL = /[\\\t\n\r]/;
const TAB = 0x09, LF = 0x0a, NULL_MARK = Buffer.from('\\N');

function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : value;
}

/**
 * A batch of rows as COPY text, written field by field into one Buffer. Joining each row into a
 * string first copied every value twice (the join, then UTF-8 for the socket) and left millions
 * of strings to sweep: the read phase of a 1M-enrollment sync alone, A/B, 8.9–10.9 s → 7.3–8.7 s.
 */
function copyBytes(batch: readonly SqlValue[][]): Buffer {
  // an upper bound: a UTF-16 unit is at most 3 bytes of UTF-8, and an escaped one is 2 ASCII bytes
  let size = 0;
  for (const row of batch) {
    for (const v of row) size += (v === null ? 2 : typeof v === 'number' ? 24 : 3 * v.length) + 1;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const row of batch) {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (v === null) pos += NULL_MARK.copy(buf, pos);
      else pos += buf.write(typeof v === 'number' ? String(v) : copyText(v), pos);
      buf[pos++] = i === row.length - 1 ? LF : TAB;
    }
  }
  return buf.subarray(0, pos);
}

class SqliteSession implements SqlSession {
  readonly dialect = 'sqlite';
  private readonly cache = new Map<string, { stmt: BetterSqlite3.Statement; order: number[] }>();
  constructor(private readonly runner: QueryRunner, private readonly db: BetterSqlite3.Database, private readonly locks: string | null) {}

  /** SQLite reads `$1` as a named parameter; rewrite to positional `?` with the values in order. */
  private prepare(sql: string): { stmt: BetterSqlite3.Statement; order: number[] } {
    let hit = this.cache.get(sql);
    if (!hit) {
      const order: number[] = [];
      const text = sql.replace(/\$(\d+)/g, (_m, n: string) => { order.push(Number(n) - 1); return '?'; });
      hit = { stmt: this.db.prepare(text), order };
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, hit);
    }
    return hit;
  }

  async query<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    const { stmt, order } = this.prepare(sql);
    const args = order.map((i) => params[i]);
    if (!stmt.reader) { stmt.run(...args); return []; }
    return stmt.all(...args) as T[];
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    const { stmt, order } = this.prepare(sql);
    return stmt.run(...order.map((i) => params[i])).changes;
  }

  async load(table: string, columns: readonly string[], rows: AsyncIterable<SqlValue[][]> | Iterable<SqlValue[][]>): Promise<number> {
    const stmt = this.db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    const insertBatch = this.db.transaction((batch: SqlValue[][]) => { for (const row of batch) stmt.run(row); });
    let count = 0;
    for await (const batch of rows) {
      // inside an open transaction better-sqlite3 nests with a savepoint; outside it makes one per batch
      insertBatch(batch);
      count += batch.length;
    }
    return count;
  }

  tryLock(kind: LockKind, key: number): Promise<LockRelease | null> {
    return tryFileLock(this.locks, `${kind}-${key}`);
  }

  async begin(): Promise<void> { this.db.exec('BEGIN'); }
  async commit(): Promise<void> { this.db.exec('COMMIT'); }
  async rollback(): Promise<void> { if (this.db.inTransaction) this.db.exec('ROLLBACK'); }
  async cancel(): Promise<void> { /* nothing can be running: see SqlSession.cancel */ }
  /** the text form TypeORM's SQLite driver stores for Date columns */
  instant(date: Date): string { return date.toISOString().replace('T', ' ').replace('Z', ''); }
  readonly scratch = 'TEMP TABLE';
  async clearScratch(): Promise<void> { /* TEMP tables: dropped by name (stage-tables.ts) */ }

  /**
   * The connection is the data source's only one and outlives the session: its TEMP work tables
   * (after a 1M sync, a million-row enrollment_target) are dropped, not left to the next sync.
   */
  async release(): Promise<void> {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      const tables = this.db.prepare("SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>;
      for (const { name } of tables) this.db.exec(`DROP TABLE IF EXISTS temp."${name.replace(/"/g, '""')}"`);
    } finally {
      await this.runner.release();
    }
  }
}

