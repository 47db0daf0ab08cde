import type { SqlSession, SqlValue } from '../../db/sql-session';
import type { IssueSink } from '../../oneroster/issues';
import type { DataFile, FileMode } from '../../oneroster/types';
import type { ZonedDates } from '../dates';
import type { SyncSettings } from '../settings';
import type { SyncCounts } from '../types';

/** What every apply step works with. All writes go through `db`, inside the sync's transaction. */
export interface ApplyContext {
  db: SqlSession;
  issues: IssueSink;
  modes: Record<DataFile, FileMode>;
  settings: SyncSettings;
  dates: ZonedDates;
  counts: SyncCounts;
  root: { id: number; userspace: string; externalId: string | null };
  /** one timestamp for every row the sync touches */
  now: string;
}

/** `domain_id IN (…)`: the sync manages only what lies in its domain's subtree. */
export const IN_SCOPE = '(SELECT id FROM scope_domain)';

/**
 * managed = external ID starts with or- (exactly: SQLite's LIKE ignores case, so LIKE 'or-%' would
 * also take a hand-made "OR-…" ID for a managed one)
 */
export const MANAGED = "substr(external_id, 1, 3) = 'or-'";

export async function count(db: SqlSession, sql: string, params?: SqlValue[]): Promise<number> {
  const rows = await db.query<{ n: number | string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Rebuilds the scope table: the root domain and all its descendants. */
export async function refreshScope(db: SqlSession, rootId: number): Promise<void> {
  await db.run('DROP TABLE IF EXISTS scope_domain');
  await db.run(`CREATE TEMP TABLE scope_domain AS
    WITH RECURSIVE t(id) AS (SELECT id FROM domain WHERE id = $1 UNION SELECT d.id FROM domain d JOIN t ON d.parent_id = t.id)
    SELECT id FROM t`, [rootId]);
  await refreshStats(db, ['scope_domain']);
}

/**
 * Fresh planner statistics for tables the sync has just filled or changed, inside its
 * transaction. Without them both planners keep the sizes from before the sync (a first sync: empty
 * tables) and pick nested loops or sort-merges over a million rows: measured 8-12 s instead of ~1 s
 * for one join at 1M enrollments. A small sample is enough to get sizes right.
 */
export async function refreshStats(db: SqlSession, tables: readonly string[]): Promise<void> {
  if (db.dialect === 'postgres') {
    await db.run('SET default_statistics_target = 10');
    for (const t of tables) await db.run(`ANALYZE ${t}`);
    await db.run('RESET default_statistics_target');
    return;
  }
  await db.run('PRAGMA analysis_limit = 1000');
  for (const t of tables) await db.run(`ANALYZE ${t}`);
}
