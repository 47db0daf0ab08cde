/**
 * The SQL session under the engine, on both databases: bulk loads round-trip every awkward value
 * (COPY's text format escapes tab, backslash and line breaks), `$n` placeholders work on SQLite in
 * any order and repeated, and ROSTERDROP_SLOW_SQL_MS traces slow statements.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openSession, type SqlSession, type SqlValue } from '../../src/db/sql-session';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';

const AWKWARD: SqlValue[][] = [
  [1, 'tab\there', 'back\\slash \\N not null'],
  [2, 'line\nbreak and\r\ncrlf', null],
  [3, '', 'unicode ✓ "quotes" , commas'],
  [4, '\\', '\t'],
  // the COPY encoder sizes its buffer from UTF-16 lengths: the widest UTF-8 and escaping per unit
  [5, '€'.repeat(3000), '😀'.repeat(1000) + '\t\\'.repeat(1000)],
  [-6, '\n'.repeat(2000), 'é'],
];

for (const kind of databaseKinds()) {
  describe(`SQL session [${kind}]`, () => {
    let db: TestDatabase;
    let session: SqlSession;
    before(async () => {
      db = await openTestDatabase(kind);
      session = await openSession(db.ds);
    });
    after(async () => {
      await session.release();
      await db.close();
    });

    test('load() round-trips tabs, backslashes, line breaks, empty strings and NULLs in batches', async () => {
      await session.run('CREATE TEMP TABLE t_load (n integer, a text, b text)');
      const loaded = await session.load('t_load', ['n', 'a', 'b'], [AWKWARD.slice(0, 2), AWKWARD.slice(2)]);
      assert.equal(loaded, AWKWARD.length);
      const rows = await session.query<{ n: number; a: string | null; b: string | null }>('SELECT n, a, b FROM t_load ORDER BY n');
      assert.deepEqual(rows.map((r) => [Number(r.n), r.a, r.b]), [...AWKWARD].sort((x, y) => Number(x[0]) - Number(y[0])));
    });

    test('$n placeholders: out of order and repeated', async () => {
      const [row] = await session.query<{ x: string; y: string; z: string }>(
        'SELECT CAST($2 AS text) AS x, CAST($1 AS text) AS y, CAST($2 AS text) AS z', ['one', 'two']);
      assert.deepEqual({ ...row }, { x: 'two', y: 'one', z: 'two' });
      assert.equal(await session.run('CREATE TEMP TABLE t_run (v text)'), 0);
      assert.equal(await session.run("INSERT INTO t_run (v) VALUES ($1), ($1), ('x')", ['a']), 3);
      assert.equal(await session.run('DELETE FROM t_run WHERE v = $1', ['a']), 2, 'run() returns the rows changed');
    });

    test('ROSTERDROP_SLOW_SQL_MS prints slow statements to stderr, and nothing when unset', async () => {
      const written: string[] = [];
      const original = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
      try {
        process.env.ROSTERDROP_SLOW_SQL_MS = '0.000001';
        const traced = await openSession(db.ds);
        await traced.query('SELECT 42 AS answer');
        await traced.release();
        delete process.env.ROSTERDROP_SLOW_SQL_MS;
        const plain = await openSession(db.ds);
        await plain.query('SELECT 43 AS answer');
        await plain.release();
      } finally {
        process.stderr.write = original;
        delete process.env.ROSTERDROP_SLOW_SQL_MS;
      }
      assert.ok(written.some((w) => /\[slow sql \d+ ms\] SELECT 42 AS answer/.test(w)), written.join(''));
      assert.ok(!written.some((w) => w.includes('SELECT 43')), 'no trace without the setting');
    });

    test('release drops the session\'s TEMP tables (the connection outlives it), also inside a failed transaction', async () => {
      const temps = async (): Promise<string[]> => (kind === 'postgres'
        ? await db.ds.query("SELECT relname AS name FROM pg_class WHERE relpersistence = 't' AND relkind = 'r' AND relname LIKE 't_left%'")
        : await db.ds.query("SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE 't_left%'") as Array<{ name: string }>)
        .map((r: { name: string }) => r.name);
      const small = await openSession(db.ds, { parallelWork: false });
      await small.run(`CREATE ${small.scratch} t_left_work (n integer)`);
      await small.run('CREATE TEMP TABLE t_left_secret (n integer)');
      await small.load('t_left_work', ['n'], [[[1], [2]]]);
      await small.begin();
      await small.run('INSERT INTO t_left_secret (n) VALUES (3)');
      assert.deepEqual((await temps()).sort(), ['t_left_secret', 't_left_work']);
      await small.release();
      assert.deepEqual(await temps(), []);
    });
  });
}

describe('SQL session [postgres]: work tables in a schema of the session’s own', () => {
  let db: TestDatabase | null = null;
  before(async () => {
    if (databaseKinds().includes('postgres')) db = await openTestDatabase('postgres');
  });
  after(async () => { await db?.close(); });

  const schemaOf = async (session: SqlSession, table: string) => (await session.query<{ nspname: string; relpersistence: string }>(
    `SELECT n.nspname, c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = $1 AND pg_table_is_visible(c.oid)`, [table]))[0];
  const schemaExists = async (name: string) => (await db!.ds.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name]) as unknown[]).length > 0;
  /** runs `fn` on a new session, released after it */
  const onSession = async (fn: (session: SqlSession) => Promise<void>): Promise<void> => {
    const session = await openSession(db!.ds);
    try {
      await fn(session);
    } finally {
      await session.release();
    }
  };

  test('scratch tables are UNLOGGED in rosterdrop_work_<pid>, TEMP ones stay TEMP, and release drops the schema and resets the connection', async (t) => {
    if (!db) return t.skip('PostgreSQL not configured');
    const session = await openSession(db.ds);
    const [{ pid }] = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const schema = `rosterdrop_work_${pid}`;
    assert.equal(session.scratch, 'UNLOGGED TABLE');
    await session.run(`CREATE ${session.scratch} t_work (n integer)`);
    await session.run('CREATE TEMP TABLE t_secret (n integer)');
    assert.deepEqual({ ...(await schemaOf(session, 't_work')) }, { nspname: schema, relpersistence: 'u' });
    assert.equal((await schemaOf(session, 't_secret')).relpersistence, 't');
    await session.run(`CREATE ${session.scratch} t_kept (n integer)`);
    await session.clearScratch(['t_kept']);
    assert.equal(await schemaOf(session, 't_work'), undefined, 'clearScratch drops the work tables');
    assert.equal((await schemaOf(session, 't_kept')).nspname, schema, 'but those it is told to keep');
    assert.equal((await schemaOf(session, 't_secret')).relpersistence, 't', 'and leaves the TEMP ones');
    await session.release();
    assert.equal(await schemaExists(schema), false);
    // every pooled connection comes back without the schema on its path
    const paths = await Promise.all([1, 2, 3].map(() => db!.ds.query('SHOW search_path') as Promise<Array<{ search_path: string }>>));
    for (const [row] of paths) assert.doesNotMatch(row.search_path, /rosterdrop_work_/);
  });

  test('ROSTERDROP_PG_PARALLEL_WORKERS sets the sync session\'s parallel workers, and release resets them', async (t) => {
    if (!db) return t.skip('PostgreSQL not configured');
    const before = process.env.ROSTERDROP_PG_PARALLEL_WORKERS;
    process.env.ROSTERDROP_PG_PARALLEL_WORKERS = '0';
    try {
      await onSession(async (session) => {
        const [row] = await session.query<{ max_parallel_workers_per_gather: string }>('SHOW max_parallel_workers_per_gather');
        assert.equal(row.max_parallel_workers_per_gather, '0');
      });
    } finally {
      if (before === undefined) delete process.env.ROSTERDROP_PG_PARALLEL_WORKERS; else process.env.ROSTERDROP_PG_PARALLEL_WORKERS = before;
    }
    const rows = await Promise.all([1, 2, 3].map(() => db!.ds.query('SHOW max_parallel_workers_per_gather') as Promise<Array<{ max_parallel_workers_per_gather: string }>>));
    for (const [row] of rows) assert.notEqual(row.max_parallel_workers_per_gather, '0', 'pooled connections come back with the server default');
  });

  test('parallelWork: false (a small upload) gets TEMP work tables and no schema of its own', async (t) => {
    if (!db) return t.skip('PostgreSQL not configured');
    const session = await openSession(db.ds, { parallelWork: false });
    try {
      const [{ pid }] = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      assert.equal(session.scratch, 'TEMP TABLE');
      await session.run(`CREATE ${session.scratch} t_small (n integer)`);
      assert.equal((await schemaOf(session, 't_small')).relpersistence, 't');
      assert.equal(await schemaExists(`rosterdrop_work_${pid}`), false);
    } finally {
      await session.release();
    }
  });

  test('release after a failed statement in a transaction still drops the schema', async (t) => {
    if (!db) return t.skip('PostgreSQL not configured');
    const session = await openSession(db.ds);
    const [{ pid }] = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await session.begin();
    await session.run(`CREATE ${session.scratch} t_aborted (n integer)`);
    await assert.rejects(session.run('SELECT 1 / 0'));
    await session.release();
    assert.equal(await schemaExists(`rosterdrop_work_${pid}`), false);
  });

  test('a schema left by a session that died is dropped when the next session opens', async (t) => {
    if (!db) return t.skip('PostgreSQL not configured');
    const live = new Set((await db.ds.query('SELECT pid FROM pg_stat_activity') as Array<{ pid: number }>).map((r) => Number(r.pid)));
    let dead = 4_000_000;
    while (live.has(dead)) dead++;
    await db.ds.query(`CREATE SCHEMA rosterdrop_work_${dead}`);
    await db.ds.query(`CREATE UNLOGGED TABLE rosterdrop_work_${dead}.stage_enrollments (n integer)`);
    await onSession(async () => assert.equal(await schemaExists(`rosterdrop_work_${dead}`), false));
    // a small upload's session (TEMP work tables, no schema of its own) sweeps them too
    await db.ds.query(`CREATE SCHEMA rosterdrop_work_${dead}`);
    const small = await openSession(db.ds, { parallelWork: false });
    try {
      assert.equal(await schemaExists(`rosterdrop_work_${dead}`), false);
    } finally {
      await small.release();
    }
  });

  test('a join over work tables may run in parallel; the same join over TEMP tables may not', async (t) => {
    if (!db) return t.skip('PostgreSQL not configured');
    await onSession(async (session) => {
      // make parallel plans free so that only the table kind decides (release resets only its own settings)
      await session.run('SET parallel_setup_cost = 0; SET min_parallel_table_scan_size = 0; SET parallel_tuple_cost = 0');
      try {
        const plan = async (kind: string, name: string) => {
          await session.run(`CREATE ${kind} ${name} AS SELECT g AS n FROM generate_series(1, 20000) g`);
          await session.run(`ANALYZE ${name}`);
          const rows = await session.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM ${name} a JOIN ${name} b ON a.n = b.n`);
          return rows.map((r) => r['QUERY PLAN']).join('\n');
        };
        assert.match(await plan(session.scratch, 't_par_work'), /Gather/);
        assert.doesNotMatch(await plan('TEMP TABLE', 't_par_temp'), /Gather/);
      } finally {
        await session.run('RESET parallel_setup_cost; RESET min_parallel_table_scan_size');
      }
    });
  });

  test('a cancel sent for a statement that has just ended does not cancel the next one', async (t) => {
    if (!db) return t.skip('PostgreSQL not configured');
    await onSession(async (session) => {
      // what an interrupt does when its statement wins the race: the cancel leaves over another
      // connection, and the engine's next statement (recording the run) must still run
      await session.query('SELECT 1');
      const cancelled = session.cancel();
      assert.deepEqual(await session.query('SELECT pg_sleep(0.3), 2 AS n'), [{ pg_sleep: '', n: 2 }]);
      await cancelled;
      // and a statement that is running when the cancel arrives is cancelled
      // (its outcome is taken at once: it fails while the cancel is still being awaited)
      const running = session.query('SELECT pg_sleep(5)').then(() => null, (err: Error) => err);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await session.cancel();
      assert.match(String((await running)?.message), /canceling statement due to user request/);
    });
  });
});
