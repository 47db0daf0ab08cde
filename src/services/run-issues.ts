/**
 * A run's issues as the run page and the CSV download read them: filtered and paged in SQL (a run
 * keeps up to 10,000+ issues; sync_issue is indexed by run and seq), and streamed in batches for
 * the CSV so no request holds every issue at once.
 */
import { MoreThan, type DataSource, type FindOptionsWhere } from 'typeorm';
import { SyncIssueRow } from '../db/entities';
import type { Severity, SyncIssue } from '../oneroster/issues';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];
export const ISSUES_PER_PAGE = 50;

export interface IssueFilter { severity?: Severity; file?: string; code?: string }

export interface IssuePage { issues: SyncIssue[]; total: number; page: number; pages: number; perPage: number }

export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

function whereOf(runId: number, filter: IssueFilter): FindOptionsWhere<SyncIssueRow> {
  const where: FindOptionsWhere<SyncIssueRow> = { runId };
  if (filter.severity) where.severity = filter.severity;
  if (filter.file) where.file = filter.file;
  if (filter.code) where.code = filter.code;
  return where;
}

function issueOf(r: SyncIssueRow): SyncIssue {
  return { severity: r.severity, code: r.code as SyncIssue['code'], file: r.file, line: r.line, column: r.column, sourcedId: r.sourcedId, message: r.message };
}

/** One page (1-based; past the end reads the last) of the run's issues matching the filter, in the run's order. */
export async function issuePage(ds: DataSource, runId: number, filter: IssueFilter, page = 1, perPage = ISSUES_PER_PAGE): Promise<IssuePage> {
  const repo = ds.getRepository(SyncIssueRow);
  const where = whereOf(runId, filter);
  const total = await repo.countBy(where);
  const pages = Math.max(1, Math.ceil(total / perPage));
  const at = Math.min(Math.max(Number.isSafeInteger(page) ? page : 1, 1), pages);
  const rows = await repo.find({ where, order: { seq: 'ASC' }, skip: (at - 1) * perPage, take: perPage });
  return { issues: rows.map(issueOf), total, page: at, pages, perPage };
}

export interface IssueFacets { files: string[]; codes: string[] }

/** The files and codes the run's issues name: the choices of the page's filters. */
export async function issueFacets(ds: DataSource, runId: number): Promise<IssueFacets> {
  const repo = ds.getRepository(SyncIssueRow);
  const distinct = async (column: 'file' | 'code'): Promise<string[]> => {
    const rows = await repo.createQueryBuilder('i').select(`i.${column}`, 'v').distinct(true)
      .where('i.run_id = :runId', { runId }).andWhere(`i.${column} IS NOT NULL`).orderBy('v', 'ASC').getRawMany<{ v: string }>();
    return rows.map((r) => r.v);
  };
  return { files: await distinct('file'), codes: await distinct('code') };
}

/** Every issue of the run matching the filter, in order, read `batch` at a time (keyset on seq). */
export async function* issuesInBatches(ds: DataSource, runId: number, filter: IssueFilter = {}, batch = 1000): AsyncGenerator<SyncIssue[]> {
  const repo = ds.getRepository(SyncIssueRow);
  let after = -1;
  for (;;) {
    const rows = await repo.find({ where: { ...whereOf(runId, filter), seq: MoreThan(after) }, order: { seq: 'ASC' }, take: batch });
    if (!rows.length) return;
    yield rows.map(issueOf);
    after = rows[rows.length - 1].seq;
    if (rows.length < batch) return;
  }
}
