/** RunReports for the report tests: a sync that completed with errors, and variations. */
import type { SyncIssue } from '../../src/oneroster/issues';
import type { RunReport } from '../../src/report/run-report';
import { emptyCounts } from '../../src/sync/types';

export const issue = (over: Partial<SyncIssue> = {}): SyncIssue => ({
  severity: 'error', code: 'value.required', file: 'users.csv', line: 10, column: 'username', sourcedId: 'u10', message: 'username is blank', ...over,
});

export function sampleReport(over: Partial<RunReport> = {}): RunReport {
  const counts = emptyCounts();
  counts.domains = { created: 0, updated: 1, unchanged: 3, removed: 0, restored: 0 };
  counts.users = { created: 5, updated: 2, unchanged: 1200, removed: 1, restored: 0 };
  counts.enrollments = { created: 40, updated: 0, unchanged: 9000, removed: 12, restored: 3 };
  return {
    runId: 42,
    domain: { userspace: 'district', name: 'Grand Bend ISD' },
    fileName: 'roster.zip',
    uploadedBy: 'district/alice',
    sha256: 'ab'.repeat(32),
    status: 'completed_with_errors',
    validateOnly: false,
    forced: false,
    message: '',
    counts,
    issues: [
      issue(),
      issue({ severity: 'warning', code: 'value.grade', line: 11, column: 'grades', sourcedId: 'u11', message: 'grade "13" is not a CEDS code' }),
      issue({ file: 'enrollments.csv', line: 7, column: 'classSourcedId', code: 'ref.unknown', sourcedId: 'e7', message: 'class "c9" is not in classes.csv' }),
      issue({ file: 'classes.csv', line: 3, column: null, code: 'csv.row_width', sourcedId: null, message: '=cmd|calc row has 9 fields, the header 10' }),
    ],
    issueTotals: { error: 3, warning: 1, info: 0 },
    issuesDropped: 0,
    startedAt: new Date('2025-01-31T14:04:00.000Z'),
    finishedAt: new Date('2025-01-31T14:05:12.000Z'),
    durationMs: 72_000,
    ...over,
  };
}
