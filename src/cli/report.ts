/**
 * One sync run as the CLI shows it: the same object for a sync just run (`sync --json`) and for a
 * run read back from the history (`run show --json`), and its human rendering.
 */
import type { SyncRun } from '../db/entities';
import { runCounts } from '../db/runs';
import type { SyncIssue } from '../oneroster/issues';
import { ACTIONS, ENTITY_KINDS, type RunStatus, type SyncCounts, type SyncResult, type SyncSource } from '../sync/types';
import { formatDuration, formatInstant, formatIssue, oneLine, plural, table } from './output';

export interface RunReport {
  runId: number;
  domain: string;
  file: string;
  sha256: string | null;
  status: RunStatus;
  mode: 'apply' | 'validate';
  forced: boolean;
  source: SyncSource;
  message: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  /** milliseconds per engine phase (read, validate, plan, apply, commit: those that ran) */
  timings: Record<string, number>;
  counts: SyncCounts;
  issueTotals: { error: number; warning: number; info: number };
  /** issues counted in the totals but not kept in `issues` (the engine keeps the first 10,000) */
  issuesDropped: number;
  issues: SyncIssue[];
  /** a held run: how many removals and deactivations it lists (see `run show`), else null */
  heldRemovals: number | null;
  /** who approved or discarded a held run, and when; null when nobody decided */
  decision: { by: string; at: string | null; approved: boolean } | null;
}

export function reportFromResult(result: SyncResult, domain: string, forced: boolean): RunReport {
  return {
    runId: result.runId, domain, file: result.fileName, sha256: result.sha256, status: result.status, mode: result.mode,
    forced, source: 'cli', message: result.message, startedAt: result.startedAt.toISOString(),
    finishedAt: result.finishedAt.toISOString(), durationMs: result.durationMs, timings: result.timings, counts: result.counts,
    issueTotals: result.issueTotals, issuesDropped: result.issuesDropped, issues: result.issues,
    heldRemovals: result.status === 'held' ? result.heldRemovals ?? 0 : null, decision: null,
  };
}

/** `heldRemovals`: the count of the run's held_removal rows, for a held run */
export function reportFromRun(run: SyncRun, domain: string, issues: SyncIssue[], heldRemovals: number | null = null): RunReport {
  const issueTotals = { error: run.errorCount, warning: run.warningCount, info: run.infoCount };
  return {
    runId: run.id, domain, file: run.fileName, sha256: run.sha256, status: run.status, mode: run.mode, forced: run.forced,
    source: run.source, message: run.message, startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null, durationMs: run.durationMs, timings: storedTimings(run.timings),
    counts: runCounts(run), issueTotals,
    issuesDropped: Math.max(0, issueTotals.error + issueTotals.warning + issueTotals.info - issues.length), issues,
    heldRemovals: run.status === 'held' ? heldRemovals ?? 0 : null, decision: runDecision(run),
  };
}

export function runDecision(run: Pick<SyncRun, 'decidedBy' | 'decidedAt' | 'approved'>): RunReport['decision'] {
  return run.decidedBy ? { by: run.decidedBy, at: run.decidedAt?.toISOString() ?? null, approved: run.approved } : null;
}

/** "approved by x at 2026-…" / "discarded by x at …", or '' */
export function decisionText(d: RunReport['decision']): string {
  if (!d) return '';
  return `${d.approved ? 'approved' : 'discarded'} by ${d.by}${d.at ? ` at ${formatInstant(new Date(d.at))}` : ''}`;
}

function storedTimings(text: string | null): Record<string, number> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object') return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return {};
  }
}

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
  if (r.decision) lines.push(`  ${decisionText(r.decision)}`);
  // a failed or refused sync rolled back: its counts are what it had planned, not changes
  if (r.status === 'held') lines.push('', 'held for review, nothing was changed yet; approving it would change:');
  lines.push('', r.status === 'failed' || r.status === 'refused' || r.status === 'discarded' || r.status === 'expired' ? 'nothing was changed' : countsTable(r.counts), '');
  if (r.heldRemovals !== null) {
    lines.push(`held: it would remove or deactivate ${plural(r.heldRemovals, 'entity', 'entities')}` +
      `${r.heldRemovals ? ` (listed by \`rosterdrop run show ${r.runId} --removals\`)` : ''}; ` +
      `\`rosterdrop run approve ${r.runId}\` applies it, \`rosterdrop run discard ${r.runId}\` drops it`, '');
  }
  lines.push(`issues: ${totalsLine(r.issueTotals)}`);
  const shown = issueLimit > 0 ? r.issues.slice(0, issueLimit) : r.issues;
  for (const issue of shown) lines.push(`  ${formatIssue(issue)}`);
  const hidden = r.issues.length - shown.length;
  if (hidden > 0) lines.push(`  … ${hidden} more: rosterdrop run show ${r.runId} --issues-csv issues.csv`);
  if (r.issuesDropped > 0) lines.push(`  (${r.issuesDropped} more were counted but not kept)`);
  if (r.message) lines.push('', oneLine(r.message));
  return `${lines.join('\n')}\n`;
}
