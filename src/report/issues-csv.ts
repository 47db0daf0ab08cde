/**
 * The issues CSV (RFC 4180): one format for `rosterdrop run show --issues-csv` and the e-mail
 * attachment, so a district's scripts and spreadsheets see the same columns wherever it comes from.
 * Pure; lives here (not in the CLI) because the daemon's reports use it too.
 */
import type { SyncIssue } from '../oneroster/issues';

export type Cell = string | number | null | undefined;

/**
 * One CSV field: quoted when it holds a comma, quote or line break (quotes doubled). Text that a
 * spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe: values
 * come from uploaded files, and admins open this CSV in Excel (OWASP "CSV injection").
 */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record with its CRLF line end (RFC 4180). */
export function csvRecord(values: readonly Cell[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

export const ISSUE_CSV_COLUMNS = ['severity', 'code', 'file', 'line', 'column', 'sourcedId', 'message'] as const;

/** One issue as a CSV record. */
export function issueRecord(issue: SyncIssue): string {
  return csvRecord(ISSUE_CSV_COLUMNS.map((k) => issue[k]));
}

/**
 * The issues CSV in pieces of about `chunkChars` characters: a file or a stream gets ten thousand
 * issues without one string of all of them.
 */
export function* issuesCsvChunks(issues: readonly SyncIssue[], chunkChars = 64 * 1024): Generator<string> {
  let chunk = csvRecord(ISSUE_CSV_COLUMNS);
  for (const issue of issues) {
    chunk += issueRecord(issue);
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

export function issuesCsv(issues: readonly SyncIssue[]): string {
  return [...issuesCsvChunks(issues)].join('');
}

/** The issues CSV from issues read in batches (the web download streams it from the database). */
export async function* issuesCsvStream(batches: AsyncIterable<readonly SyncIssue[]>): AsyncGenerator<string> {
  yield csvRecord(ISSUE_CSV_COLUMNS);
  for await (const batch of batches) {
    let chunk = '';
    for (const issue of batch) chunk += issueRecord(issue);
    if (chunk) yield chunk;
  }
}
