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
      assert.equal(loaded, 4);
      const rows = await session.query<{ n: number; a: string | null; b: string | null }>('SELECT n, a, b FROM t_load ORDER BY n');
      assert.deepEqual(rows.map((r) => [Number(r.n), r.a, r.b]), AWKWARD);
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
  });
}
