/**
 * One sync run as the CLI shows it: the JSON object of `sync --json` and `run show --json`
 * (src/report/run-json.ts) and its human rendering.
 */
import { ACTIONS, ENTITY_KINDS, type SyncCounts } from '../sync/types';
import type { RunJson } from '../report/run-json';
import { formatDuration, formatInstant, formatIssue, oneLine, plural, table } from './output';

// the object itself is shared with the web API (src/report/run-json.ts)
export { runJsonFromResult as reportFromResult, runJsonFromRun as reportFromRun } from '../report/run-json';
export type RunReport = RunJson;

export function countsTable(counts: SyncCounts): string {
  return table(['', ...ACTIONS], ENTITY_KINDS.map((kind) => [kind, ...ACTIONS.map((a) => counts[kind][a])]), [1, 2, 3, 4, 5]);
}

export function totalsLine(t: RunReport['issueTotals']): string {
  return `${plural(t.error, 'error')}, ${plural(t.warning, 'warning')}, ${t.info} info`;
}

/** The human summary: header, counts per entity, the first `issueLimit` issues (0 = all), the message. */
export function renderReport(r: RunReport, issueLimit: number): string {
  const lines: string[] = [];
  const started = r.startedAt ? formatInstant(new Date(r.startedAt)) : 'not started';
  lines.push(`run ${r.runId}: ${r.status.replace(/_/g, ' ')}${r.mode === 'validate' ? ' (validation only, nothing changed)' : ''}${r.forced ? ' (forced)' : ''}`);
  lines.push(`  domain  ${r.domain}`);
  lines.push(`  file    ${r.file}${r.sha256 ? `  sha256 ${r.sha256}` : ''}`);
  lines.push(`  started ${started}${r.durationMs !== null ? `  took ${formatDuration(r.durationMs)}` : ''}  via ${r.source}`);
  // a failed or refused sync rolled back: its counts are what it had planned, not changes
  lines.push('', r.status === 'failed' || r.status === 'refused' ? 'nothing was changed' : countsTable(r.counts), '');
  lines.push(`issues: ${totalsLine(r.issueTotals)}`);
  const shown = issueLimit > 0 ? r.issues.slice(0, issueLimit) : r.issues;
  for (const issue of shown) lines.push(`  ${formatIssue(issue)}`);
  const hidden = r.issues.length - shown.length;
  if (hidden > 0) lines.push(`  … ${hidden} more: rosterdrop run show ${r.runId} --issues-csv issues.csv`);
  if (r.issuesDropped > 0) lines.push(`  (${r.issuesDropped} more were counted but not kept)`);
  if (r.message) lines.push('', oneLine(r.message));
  return `${lines.join('\n')}\n`;
}
