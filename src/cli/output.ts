/** Plain-text tables, CSV (RFC 4180) and the small formatters the commands share. Pure. */
import type { SyncIssue } from '../oneroster/issues';
import type { Cell } from '../report/issues-csv';

// the CSV helpers moved to src/report/ (the daemon's reports share them); re-exported for the CLI
export { csvField, csvRecord, ISSUE_CSV_COLUMNS, issuesCsv, issuesCsvChunks, type Cell } from '../report/issues-csv';

/** A left-aligned text table; columns listed in `right` are right-aligned (numbers). */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[], right: readonly number[] = []): string {
  const text = [headers, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = headers.map((_, i) => Math.max(...text.map((r) => [...(r[i] ?? '')].length)));
  return text
    .map((r) => r.map((c, i) => {
      const pad = ' '.repeat(widths[i] - [...c].length);
      return right.includes(i) ? pad + c : c + pad;
    }).join('  ').trimEnd())
    .join('\n');
}

/** `users.csv:10 [grades] csv.row_width: message`; whole-upload problems read `(upload)`. */
export function formatIssue(i: SyncIssue): string {
  const where = i.file ? `${i.file}${i.line !== null ? `:${i.line}` : ''}` : '(upload)';
  return `${i.severity.padEnd(7)} ${where}${i.column ? ` [${i.column}]` : ''} ${i.code}: ${oneLine(i.message)}`;
}

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

export { plural } from '../util/plural';

/** 2025-01-31 14:05:09Z, or an empty string */
export function formatInstant(date: Date | null | undefined): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')}Z` : '';
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Stable JSON for --json: one object, pretty-printed, with a final line break. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
