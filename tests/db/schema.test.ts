/**
 * The entities describe the migrated schema exactly, on both databases: TypeORM's schema builder,
 * run against a freshly migrated database, finds nothing to change. Before, it would have dropped
 * every foreign key and turned PostgreSQL's timestamptz columns into timestamps, and that is what
 * `migration:generate` would have written. A migration and an entity that disagree fail here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ExternalIdHashIndexes1795996800000 } from '../../src/db/migrations/1795996800000-ExternalIdHashIndexes';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../helpers/db';

async function pendingChanges(db: TestDatabase): Promise<string[]> {
  const log = await db.ds.driver.createSchemaBuilder().log();
  return log.upQueries.map((q) => q.query);
}

for (const kind of databaseKinds()) {
  describe(`schema: entities against migrations [${kind}]`, () => {
    let db: TestDatabase;
    before(async () => { db = await openTestDatabase(kind); });
    after(async () => { await db.close(); });

    test('the schema builder finds nothing to change after the migrations', async () => {
      const changes = await pendingChanges(db);
      assert.deepEqual(changes, [], `entities and migrations disagree:\n${changes.join('\n')}`);
    });

    test('a difference is found: an index and a foreign key dropped by hand are put back', async () => {
      await db.ds.query('DROP INDEX ix_enrollment_course');
      if (kind === 'postgres') {
        const [fk] = await db.ds.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'sync_issue'::regclass AND contype = 'f'`) as Array<{ conname: string }>;
        await db.ds.query(`ALTER TABLE sync_issue DROP CONSTRAINT "${fk.conname}"`);
      }
      const changes = await pendingChanges(db);
      assert.ok(changes.some((q) => /CREATE INDEX "ix_enrollment_course"/.test(q)), changes.join('\n'));
      if (kind === 'postgres') {
        assert.ok(changes.some((q) => /ALTER TABLE "sync_issue" ADD CONSTRAINT .* FOREIGN KEY \("run_id"\) REFERENCES "sync_run"\("id"\) ON DELETE CASCADE/.test(q)),
          changes.join('\n'));
      }
    });

    if (kind === 'postgres') {
      test('external IDs are hash-indexed, an equality lookup uses it, and the migration reverts to B-trees', async () => {
        const methods = async () => (await db.ds.query(`SELECT c.relname AS name, a.amname AS method FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
          WHERE c.relname LIKE 'ix\\_%external\\_id' ORDER BY 1`) as Array<{ name: string; method: string }>)
          .map((r) => `${r.name} ${r.method}`);
        const names = ['ix_course_external_id', 'ix_domain_external_id', 'ix_enrollment_external_id', 'ix_observer_link_external_id', 'ix_user_external_id'];
        assert.deepEqual(await methods(), names.map((n) => `${n} hash`));
        const runner = db.ds.createQueryRunner();
        try {
          await runner.query('SET enable_seqscan = off');
          const plan = await runner.query(`EXPLAIN SELECT id FROM enrollment WHERE external_id = 'or-x'`) as Array<Record<string, string>>;
          await runner.query('RESET enable_seqscan');
          assert.match(plan.map((r) => Object.values(r).join('')).join('\n'), /ix_enrollment_external_id/);
          await new ExternalIdHashIndexes1795996800000().down(runner);
          assert.deepEqual(await methods(), names.map((n) => `${n} btree`));
          // the entities ask for hash indexes, so the schema builder sees the B-trees as a change
          assert.ok((await pendingChanges(db)).some((q) => /"ix_enrollment_external_id" ON "enrollment" USING hash/.test(q)));
          await new ExternalIdHashIndexes1795996800000().up(runner);
        } finally { await runner.release(); }
        assert.deepEqual(await methods(), names.map((n) => `${n} hash`));
        // (the test before this one dropped an index and a foreign key of its own)
        assert.deepEqual((await pendingChanges(db)).filter((q) => q.includes('external_id')), []);
      });
    }
  });
}
