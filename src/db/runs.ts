/** Reading the sync history (sync_run rows); src/sync/run-store.ts writes it. */
import type { DataSource } from 'typeorm';
import { ACTIONS, emptyCounts, ENTITY_KINDS, type SyncCounts } from '../sync/types';
import { SyncRun } from './entities';

/** A domain's runs, newest first. */
export async function listRuns(ds: DataSource, domainId: number, limit: number): Promise<SyncRun[]> {
  return ds.getRepository(SyncRun).find({ where: { domainId }, order: { id: 'DESC' }, take: limit > 0 ? limit : undefined });
}

export async function findRun(ds: DataSource, runId: number): Promise<SyncRun | null> {
  return ds.getRepository(SyncRun).findOneBy({ id: runId });
}

/** The counts a finished run stored; zeros for a run that has not finished (or unreadable text). */
export function runCounts(run: Pick<SyncRun, 'counts'>): SyncCounts {
  const counts = emptyCounts();
  if (!run.counts) return counts;
  let stored: unknown;
  try {
    stored = JSON.parse(run.counts);
  } catch {
    return counts;
  }
  if (!stored || typeof stored !== 'object') return counts;
  for (const kind of ENTITY_KINDS) {
    const row: unknown = (stored as Record<string, unknown>)[kind];
    if (!row || typeof row !== 'object') continue;
    for (const action of ACTIONS) {
      const n = (row as Record<string, unknown>)[action];
      if (typeof n === 'number') counts[kind][action] = n;
    }
  }
  return counts;
}
