/**
 * How the sync's writes sit in PostgreSQL's storage. A re-sync that changes a few fields of
 * existing rows (an end date moved, a name fixed: a nightly export's usual changes) updates them in
 * place, on their own page, touching no index (HOT): `enrollment` and `lms_user` keep 10% of each page
 * free for that (migration HotUpdates). With full pages every such update moved the row to another
 * page and wrote all four of enrollment's indexes (a 5% re-sync at 1M: 2.8 s against 1.0 s).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DataSource } from 'typeorm';
import { databaseKinds } from '../helpers/db';
import { brief, newRoot, useDatabase } from '../helpers/lms';
import { largeRoster } from '../helpers/roster';

/** The heap page each row of `external_id`s is on. */
async function pages(ds: DataSource, table: string, externalIds: string[]): Promise<Map<string, number>> {
  const rows = await ds.query(`SELECT external_id, (ctid::text::point)[0] AS page FROM ${table} WHERE external_id = ANY($1)`,
    [externalIds]) as Array<{ external_id: string; page: number }>;
  return new Map(rows.map((r) => [r.external_id, Number(r.page)]));
}

/** The external ID of the first managed row (matching `like`) on each of the table's first five pages, none on its last. */
async function onePerPage(ds: DataSource, table: string, like: string): Promise<string[]> {
  const rows = await ds.query(`SELECT DISTINCT ON (page) external_id, page FROM (
      SELECT external_id, (ctid::text::point)[0] AS page, id FROM ${table} WHERE external_id LIKE $1) x
    WHERE page < (SELECT max((ctid::text::point)[0]) FROM ${table}) ORDER BY page, id LIMIT 5`, [like]) as Array<{ external_id: string }>;
  assert.equal(rows.length, 5, `${table} fills at least six pages`);
  return rows.map((r) => r.external_id);
}

for (const kind of databaseKinds().filter((k) => k === 'postgres')) {
  describe(`storage [${kind}]`, () => {
    const env = useDatabase(kind);

    test('a re-sync\'s changed enrollments and users stay on their page (HOT updates)', async () => {
      const root = await newRoot(env.ds);
      const roster = largeRoster(12, 40);
      assert.equal((await env.sync(root.id, roster)).status, 'succeeded');
      // one row on each of the first pages, which later rows filled: with no room left there, an update
      // moves the row to another page (a nightly export's changes are spread like this, a few a page)
      const enrollments = await onePerPage(env.ds, 'enrollment', 'or-be-bs%');
      const users = await onePerPage(env.ds, 'lms_user', 'or-bs%');
      const [enrollmentPages, userPages] = [await pages(env.ds, 'enrollment', enrollments), await pages(env.ds, 'lms_user', users)];

      const changed = roster.clone();
      for (const e of enrollments) changed.set('enrollments', e.slice('or-'.length), { endDate: '2024-11-29' });
      for (const u of users) changed.set('users', u.slice('or-'.length), { familyName: 'Renamed' });
      const r = await env.sync(root.id, changed);
      assert.equal(r.status, 'succeeded', r.issues.map(brief).join('\n'));
      assert.deepEqual([r.counts.enrollments.updated, r.counts.users.updated], [5, 5]);
      assert.deepEqual(await pages(env.ds, 'enrollment', enrollments), enrollmentPages, 'each enrollment is still on its page');
      assert.deepEqual(await pages(env.ds, 'lms_user', users), userPages, 'each user is still on its page');
    });
  });
}
