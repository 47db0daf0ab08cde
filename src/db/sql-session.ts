/**
 * One database connection for a sync, with the few operations the engine needs and nothing else:
 * plain SQL with `$1` placeholders on both dialects, affected-row counts, transactions, and a bulk
 * loader (COPY on PostgreSQL, a prepared insert on SQLite). TypeORM owns the schema and the
 * connection; this goes underneath it only where the entity API is far too slow for 1M rows.
 */

import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DataSource, QueryRunner } from 'typeorm';
import type BetterSqlite3 from 'better-sqlite3';

export type Dialect = 'postgres' | 'sqlite';
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

export async function openSession(ds: DataSource): Promise<SqlSession> {
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
    const pid = Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    session = new PgSession(runner, client, () => ds.query('SELECT pg_cancel_backend($1)', [pid]).then(() => undefined));
  } else {
    session = new SqliteSession(runner, conn as BetterSqlite3.Database);
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

class PgSession implements SqlSession {
  readonly dialect = 'postgres';
  constructor(private readonly runner: QueryRunner, private readonly client: PoolClient, readonly cancel: () => Promise<void>) {}

  async query<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return (await this.client.query(sql, params)).rows as T[];
  }

  async run(sql: string, params: SqlValue[] = []): Promise<number> {
    return (await this.client.query(sql, params)).rowCount ?? 0;
  }

  async load(table: string, columns: readonly string[], rows: AsyncIterable<SqlValue[][]> | Iterable<SqlValue[][]>): Promise<number> {
    const copy = this.client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    let count = 0;
    async function* encode(): AsyncGenerator<string> {
      for await (const batch of rows) {
        // one string per batch, built in place: this loop runs for every field of every row
        let chunk = '';
        for (const row of batch) {
          for (let i = 0; i < row.length; i++) {
            if (i) chunk += '\t';
            chunk += copyField(row[i]);
          }
          chunk += '\n';
        }
        count += batch.length;
        yield chunk;
      }
    }
    await pipeline(encode(), copy);
    return count;
  }

  async begin(): Promise<void> { await this.client.query('BEGIN'); }
  async commit(): Promise<void> { await this.client.query('COMMIT'); }
  async rollback(): Promise<void> { await this.client.query('ROLLBACK'); }
  instant(date: Date): string { return date.toISOString(); }
  async release(): Promise<void> { await this.runner.release(); }
}

/** COPY text format: \N is NULL; backslash, tab and line breaks are escaped. */
const COPY_SPECIAL = /[\\\t\n\r]/;

function copyField(value: SqlValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return COPY_SPECIAL.test(value) ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : value;
}

class SqliteSession implements SqlSession {
  readonly dialect = 'sqlite';
  private readonly cache = new Map<string, { stmt: BetterSqlite3.Statement; order: number[] }>();
  constructor(private readonly runner: QueryRunner, private readonly db: BetterSqlite3.Database) {}

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

  async begin(): Promise<void> { this.db.exec('BEGIN'); }
  async commit(): Promise<void> { this.db.exec('COMMIT'); }
  async rollback(): Promise<void> { if (this.db.inTransaction) this.db.exec('ROLLBACK'); }
  async cancel(): Promise<void> { /* nothing can be running: see SqlSession.cancel */ }
  /** the text form TypeORM's SQLite driver stores for Date columns */
  instant(date: Date): string { return date.toISOString().replace('T', ' ').replace('Z', ''); }
  async release(): Promise<void> { await this.runner.release(); }
}

