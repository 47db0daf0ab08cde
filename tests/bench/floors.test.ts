/**
 * The bench's floors (bench/floors.ts): what they time is what they claim to time. The read floor
 * reads every data row of the applied files; the insert floor copies every enrollment the first
 * sync wrote, and leaves the live table as it was; the fingerprint floor compares every managed
 * enrollment and user, finds none changed, and leaves nothing behind.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fingerprintFloorPostgres, insertFloorPostgres, insertFloorSqlite, readFloor } from '../../bench/floors';
import { generateRoster, type GeneratedRoster } from '../../bench/generate';
import { APPLIED_FILES } from '../../src/oneroster/types';
import { SyncEngine } from '../../src/sync/engine';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';
import { newRoot } from '../helpers/lms';
import { tempDir } from '../helpers/zip';

describe('bench floors', { concurrency: true }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let roster: GeneratedRoster;
  before(async () => {
    tmp = tempDir('rosterdrop-floors-');
    roster = await generateRoster({ enrollments: 2_000, seed: 11, passwords: false, dir: path.join(tmp.dir, 'gen') });
  });
  after(() => tmp?.cleanup());

  it('read + validate: every data row of the applied files, without an issue', async () => {
    const floor = await readFloor(roster.zipPath);
    const expected = APPLIED_FILES.reduce((sum, f) => sum + roster.rows[f], 0);
    assert.equal(floor.rows, expected);
    assert.ok(floor.seconds > 0);
  });

  for (const kind of databaseKinds()) {
    describe(kind, () => {
      let db: TestDatabase;
      before(async () => { db = await openTestDatabase(kind); });
      after(async () => { await db?.close(); });

      it('enrollment insert: every enrollment of the first sync, and the live table untouched', async () => {
        const d = await newRoot(db.ds, {}, 'floor');
        const first = await new SyncEngine(db.ds, { hashPasswords: false }).run({ domainId: d.id, zipPath: roster.zipPath, source: 'test' });
        assert.equal(first.status, 'succeeded');
        const live = async (): Promise<number> => Number((await db.ds.query('SELECT count(*) AS n FROM enrollment'))[0].n);
        const before = await live();
        assert.ok(before >= roster.rows.enrollments, 'every enrollment of the file, and any in base courses');

        const floor = kind === 'postgres' ? await insertFloorPostgres(db.options.databaseUrl ?? '') : insertFloorSqlite(db.sqlitePath ?? '');
        assert.equal(floor.rows, before);
        assert.ok(floor.seconds > 0);
        assert.equal(await live(), before);
        const leftover = kind === 'postgres'
          ? await db.ds.query("SELECT relname FROM pg_class WHERE relname LIKE 'bench_floor%'")
          : await db.ds.query("SELECT name FROM sqlite_master WHERE name LIKE '%floor%'");
        assert.deepEqual(leftover, [], 'the floor table and its indexes are gone');
      });

      if (kind === 'postgres') {
        it('fingerprint compare: every managed enrollment and user, none changed, nothing left behind', async () => {
          const own = await openTestDatabase(kind);
          try {
            const d = await newRoot(own.ds, {}, 'fingerprint');
            const first = await new SyncEngine(own.ds, { hashPasswords: false }).run({ domainId: d.id, zipPath: roster.zipPath, source: 'test' });
            assert.equal(first.status, 'succeeded');
            const managed = async (table: string): Promise<number> =>
              Number((await own.ds.query(`SELECT count(*) AS n FROM ${table} WHERE external_id LIKE 'or-%'`))[0].n);
            const expected = (await managed('enrollment')) + (await managed('lms_user'));
            assert.equal(expected, roster.rows.enrollments + roster.rows.users);
            const floor = await fingerprintFloorPostgres(own.options.databaseUrl ?? '');
            assert.equal(floor.rows, expected);
            assert.equal(floor.changed, 0, 'the copied fingerprints match the live ones');
            assert.ok(floor.seconds > 0);
            assert.deepEqual(await own.ds.query("SELECT relname FROM pg_class WHERE relname LIKE 'bench_fp%'"), []);
          } finally {
            await own.close();
          }
        });
      }
    });
  }
});
