/**
 * One sync run as a JSON object: `sync --json`, `run show --json` and `GET /api/v1/runs/{id}` all
 * print this, from a sync just run or from a run read back from the history. Pure; lives here (not
 * in the CLI) because the web API serves it too.
 */
import type { SyncRun } from '../db/entities';
import { runCounts } from '../db/runs';
import type { SyncIssue } from '../oneroster/issues';
import type { RunStatus, SyncCounts, SyncResult, SyncSource } from '../sync/types';

export interface RunJson {
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
}

export function runJsonFromResult(result: SyncResult, domain: string, forced: boolean): RunJson {
  return {
    runId: result.runId, domain, file: result.fileName, sha256: result.sha256, status: result.status, mode: result.mode,
    forced, source: 'cli', message: result.message, startedAt: result.startedAt.toISOString(),
    finishedAt: result.finishedAt.toISOString(), durationMs: result.durationMs, timings: result.timings, counts: result.counts,
    issueTotals: result.issueTotals, issuesDropped: result.issuesDropped, issues: result.issues,
  };
}

export function runJsonFromRun(run: SyncRun, domain: string, issues: SyncIssue[]): RunJson {
  const issueTotals = { error: run.errorCount, warning: run.warningCount, info: run.infoCount };
  return {
    runId: run.id, domain, file: run.fileName, sha256: run.sha256, status: run.status, mode: run.mode, forced: run.forced,
    source: run.source, message: run.message, startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null, durationMs: run.durationMs, timings: storedTimings(run.timings),
    counts: runCounts(run), issueTotals,
    issuesDropped: Math.max(0, issueTotals.error + issueTotals.warning + issueTotals.info - issues.length), issues,
  };
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

/** One run in a list (a domain's history): the run without its issues, as `history --json` lists it. */
export interface RunSummaryJson {
  runId: number;
  domain: string;
  file: string;
  sha256: string | null;
  sizeBytes: number | null;
  status: RunStatus;
  mode: 'apply' | 'validate';
  forced: boolean;
  source: SyncSource;
  uploadedBy: string | null;
  message: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  counts: SyncCounts;
  issueTotals: { error: number; warning: number; info: number };
}

export function runSummaryJson(run: SyncRun, domain: string): RunSummaryJson {
  return {
    runId: run.id, domain, file: run.fileName, sha256: run.sha256, sizeBytes: run.sizeBytes, status: run.status, mode: run.mode,
    forced: run.forced, source: run.source, uploadedBy: run.uploadedBy, message: run.message, createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null, finishedAt: run.finishedAt?.toISOString() ?? null, durationMs: run.durationMs,
    counts: runCounts(run), issueTotals: { error: run.errorCount, warning: run.warningCount, info: run.infoCount },
  };
}
