/**
 * The entities describe the migrated schema exactly, on both databases: TypeORM's schema builder,
 * run against a freshly migrated database, finds nothing to change. Before, it would have dropped
 * every foreign key and turned PostgreSQL's timestamptz columns into timestamps, and that is what
 * `migration:generate` would have written. A migration and an entity that disagree fail here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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
  });
}
