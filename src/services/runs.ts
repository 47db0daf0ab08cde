/**
 * The sync history as the web admin and the API read it: a principal's view of runs (another
 * tenant's run is simply not found) and a domain's runs, paged and filtered.
 */
import { In, type DataSource, type FindOptionsWhere } from 'typeorm';
import { Domain, SyncRun } from '../db/entities';

/** Who is asking, as far as the history cares: the userspaces they see (null = all). */
export interface Viewer { domains: readonly string[] | null }

export interface RunPage { runs: SyncRun[]; total: number; offset: number; limit: number }

export interface RunFilter { status?: string; source?: string; offset?: number; limit?: number }

export const MAX_PAGE = 200;

/** The run and its domain if the viewer may see it; null otherwise (answer 404). */
export async function runForViewer(ds: DataSource, viewer: Viewer, runId: number): Promise<{ run: SyncRun; domain: Domain } | null> {
  if (!Number.isSafeInteger(runId) || runId < 1) return null;
  const run = await ds.getRepository(SyncRun).findOneBy({ id: runId });
  if (!run) return null;
  const domain = await ds.getRepository(Domain).findOneBy({ id: run.domainId });
  if (!domain || (viewer.domains !== null && !viewer.domains.includes(domain.userspace))) return null;
  return { run, domain };
}

/** A domain's runs, newest first. */
export async function listDomainRuns(ds: DataSource, domainId: number, filter: RunFilter = {}): Promise<RunPage> {
  const limit = Math.min(Math.max(filter.limit ?? 25, 1), MAX_PAGE);
  const offset = Math.max(filter.offset ?? 0, 0);
  const where: FindOptionsWhere<SyncRun> = { domainId };
  if (filter.status) where.status = filter.status as SyncRun['status'];
  if (filter.source) where.source = filter.source as SyncRun['source'];
  const [runs, total] = await ds.getRepository(SyncRun).findAndCount({ where, order: { id: 'DESC' }, skip: offset, take: limit });
  return { runs, total, offset, limit };
}

/** Runs of several domains in the given states (the overview's queued, running and held), oldest first. */
export async function runsInStates(ds: DataSource, domainIds: readonly number[], states: readonly string[]): Promise<SyncRun[]> {
  if (!domainIds.length) return [];
  return ds.getRepository(SyncRun).find({ where: { domainId: In([...domainIds]), status: In([...states]) as never }, order: { id: 'ASC' }, take: MAX_PAGE });
}
