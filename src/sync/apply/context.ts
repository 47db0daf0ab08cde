import { analyze, type SqlSession, type SqlValue } from '../../db/sql-session';
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

/**
 * A flag column: 1 when `when` holds and the live row `live` already holds every value the sync
 * would write (NULLs equal), else 0. Taken in the join that finds the live row anyway, so that the
 * writes after it need to touch only the rows flagged 0.
 */
export function sameFlag(live: string, when: string, values: Record<string, string>): string {
  const equal = Object.entries(values).map(([col, value]) => `${live}.${col} IS NOT DISTINCT FROM ${value}`);
  return `CASE WHEN ${[when, ...equal].join(' AND ')} THEN 1 ELSE 0 END`;
}

export async function count(db: SqlSession, sql: string, params?: SqlValue[]): Promise<number> {
  const rows = await db.query<{ n: number | string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Rebuilds the scope table: the root domain and all its descendants. */
export async function refreshScope(db: SqlSession, rootId: number): Promise<void> {
  await db.run('DROP TABLE IF EXISTS scope_domain');
  await db.run(`CREATE ${db.scratch} scope_domain AS
    WITH RECURSIVE t(id) AS (SELECT id FROM domain WHERE id = $1 UNION SELECT d.id FROM domain d JOIN t ON d.parent_id = t.id)
    SELECT id FROM t`, [rootId]);
  await analyze(db, ['scope_domain']);
}
