/**
 * How many issues a report lists. A run keeps up to 10,000 issues, each shortened (oneroster/
 * issues.ts), which can still be megabytes: the result JSON and the mail's issues.csv list the
 * first ones up to a byte budget and count the rest; results/<upload>.issues.csv has all of them
 * (result-files.ts). Pure.
 */
import type { SyncIssue } from '../oneroster/issues';
import { csvRecord, ISSUE_CSV_COLUMNS, issueRecord } from './issues-csv';

/**
 * UTF-8 bytes of issues one result JSON lists (measured as compact JSON; the file's indentation
 * adds some 40 bytes an issue) and one mail attaches as CSV (1 MiB is 1.4 MB in base64: a mail any
 * server takes, far under the common 10-25 MB limits).
 */
export const LISTED_ISSUE_BYTES = { json: 1024 * 1024, mailCsv: 1024 * 1024 } as const;

/** the first `issues` whose sizes add up to at most `maxBytes` */
export function firstFitting(issues: readonly SyncIssue[], maxBytes: number, bytes: (issue: SyncIssue) => number): SyncIssue[] {
  let used = 0;
  for (let n = 0; n < issues.length; n++) {
    used += bytes(issues[n]);
    if (used > maxBytes) return issues.slice(0, n);
  }
  return issues.slice();
}

/** An issue as the result JSON lists it: the field names are a contract with the districts' scripts. */
export function issueJson(i: SyncIssue): Record<string, unknown> {
  return { severity: i.severity, code: i.code, file: i.file, line: i.line, column: i.column, sourcedId: i.sourcedId, message: i.message };
}

export function jsonListedIssues(issues: readonly SyncIssue[]): SyncIssue[] {
  return firstFitting(issues, LISTED_ISSUE_BYTES.json, (i) => Buffer.byteLength(JSON.stringify(issueJson(i))));
}

export function mailListedIssues(issues: readonly SyncIssue[]): SyncIssue[] {
  const header = Buffer.byteLength(csvRecord(ISSUE_CSV_COLUMNS));
  return firstFitting(issues, LISTED_ISSUE_BYTES.mailCsv - header, (i) => Buffer.byteLength(issueRecord(i)));
}
