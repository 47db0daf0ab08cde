/**
 * The sync history as the web admin and the API read it: a principal's view of runs (another
 * tenant's run is simply not found) and a domain's runs, paged and filtered.
 */
import { In, LessThan, type DataSource, type FindOptionsWhere } from 'typeorm';
import { Domain, SyncRun } from '../db/entities';
import type { RunStatus } from '../sync/types';

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

/** States a run is in before it ends. */
export const ACTIVE_STATES: readonly RunStatus[] = ['queued', 'running'];

/** The last run of each domain that is no longer queued or running (one query for the ids, one for the rows). */
export async function lastFinishedRuns(ds: DataSource, domainIds: readonly number[]): Promise<Map<number, SyncRun>> {
  const out = new Map<number, SyncRun>();
  if (!domainIds.length) return out;
  const ids = await ds.getRepository(SyncRun).createQueryBuilder('r').select('MAX(r.id)', 'id')
    .where('r.domain_id IN (:...domainIds)', { domainIds: [...domainIds] })
    .andWhere('r.status NOT IN (:...active)', { active: [...ACTIVE_STATES] })
    .groupBy('r.domain_id').getRawMany<{ id: number | string }>();
  if (!ids.length) return out;
  const runs = await ds.getRepository(SyncRun).findBy({ id: In(ids.map((r) => Number(r.id))) });
  for (const run of runs) out.set(run.domainId, run);
  return out;
}

/** Runs the viewer sees in the given states, oldest first (at most `limit`): no domain list for an operator. */
export async function viewerRunsInStates(ds: DataSource, viewer: Viewer, states: readonly RunStatus[], limit = MAX_PAGE): Promise<{ runs: SyncRun[]; domains: Map<number, Domain> }> {
  const domains = await ds.getRepository(Domain).find(viewer.domains === null ? {} : { where: { userspace: In([...viewer.domains]) } });
  const byId = new Map(domains.map((d) => [d.id, d]));
  const where: FindOptionsWhere<SyncRun> = { status: In([...states]) };
  if (viewer.domains !== null) where.domainId = In([...byId.keys()]);
  const runs = await ds.getRepository(SyncRun).find({ where, order: { id: 'ASC' }, take: limit });
  return { runs, domains: byId };
}

/** How many queued runs were queued before this one (its place in the line, 0 = next). */
export async function queuedBefore(ds: DataSource, run: SyncRun): Promise<number> {
  return ds.getRepository(SyncRun).countBy({ status: 'queued', id: LessThan(run.id) });
}
