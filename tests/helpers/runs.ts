/**
 * Runs and issues written straight into the database, for pages that show them: a realistic history
 * without running syncs (the engine's own tests cover how runs come about).
 */
import type { DataSource } from 'typeorm';
import { SyncIssueRow, SyncRun } from '../../src/db/entities';
import type { Severity } from '../../src/oneroster/issues';
import { emptyCounts, type SyncCounts } from '../../src/sync/types';

export async function insertRun(ds: DataSource, domainId: number, o: Partial<SyncRun> & { countsOf?: SyncCounts } = {}): Promise<SyncRun> {
  const { countsOf, ...rest } = o;
  const finished = !['queued', 'running'].includes(rest.status ?? 'succeeded');
  const started = new Date(Date.now() - 60_000);
  const run = await ds.getRepository(SyncRun).save({
    domainId, source: 'ftps', fileName: 'roster.zip', sha256: null, sizeBytes: 12_345, mode: 'apply', forced: false,
    status: 'succeeded', message: '', counts: JSON.stringify(countsOf ?? emptyCounts()), timings: JSON.stringify({ read: 120, validate: 80, plan: 40, apply: 300, commit: 20 }),
    errorCount: 0, warningCount: 0, infoCount: 0,
    startedAt: started, finishedAt: finished ? new Date(started.getTime() + 560) : null, durationMs: finished ? 560 : null,
    uploadPath: null, queuedPath: null, uploadedBy: null, attempts: 1,
    ...rest,
  });
  // queued a little before it started (the column is set by the database on insert)
  const createdAt = rest.createdAt ?? (run.startedAt ? new Date(run.startedAt.getTime() - 4_000) : null);
  if (createdAt) {
    await ds.getRepository(SyncRun).update({ id: run.id }, { createdAt });
    run.createdAt = createdAt;
  }
  return run;
}

export interface IssueSpec { severity: Severity; code: string; file: string | null; line: number | null; column: string | null; sourcedId: string | null; message: string }

/** `n` issues made by `make(i)`, inserted in batches, and the run's totals set to match. */
export async function insertIssues(ds: DataSource, run: SyncRun, n: number, make: (i: number) => IssueSpec): Promise<void> {
  const repo = ds.getRepository(SyncIssueRow);
  const totals = { error: 0, warning: 0, info: 0 };
  for (let from = 0; from < n; from += 400) {
    const rows = [];
    for (let i = from; i < Math.min(n, from + 400); i++) {
      const spec = make(i);
      totals[spec.severity]++;
      rows.push({ runId: run.id, seq: i, ...spec });
    }
    await repo.insert(rows);
  }
  await ds.getRepository(SyncRun).update({ id: run.id }, { errorCount: totals.error, warningCount: totals.warning, infoCount: totals.info });
  Object.assign(run, { errorCount: totals.error, warningCount: totals.warning, infoCount: totals.info });
}

/** A mix: every 10th an error in users.csv, every 3rd a warning, the rest info; codes cycle through four. */
export function mixedIssue(i: number): IssueSpec {
  const severity: Severity = i % 10 === 0 ? 'error' : i % 3 === 0 ? 'warning' : 'info';
  const code = ['value.required', 'value.enum_case', 'value.grade', 'csv.row_width'][i % 4];
  const file = i % 2 ? 'users.csv' : 'enrollments.csv';
  return { severity, code, file, line: i + 2, column: 'role', sourcedId: `s-${i}`, message: `issue number ${i}` };
}
