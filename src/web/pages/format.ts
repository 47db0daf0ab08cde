/** Small pieces the run, overview and settings pages share: times, durations, status badges, counts. */
import type { SyncRun } from '../../db/entities';
import { ACTIONS, ENTITY_KINDS, type SyncCounts } from '../../sync/types';
import { html, type Html } from '../html';

/** A moment as `2026-12-07 23:41 UTC` (the daemon's clock; pages carry no script to localise it). */
export function when(date: Date | null | undefined): Html {
  if (!date) return html`<span class="muted">–</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const STATUS_WORDS: Record<string, string> = {
  succeeded: 'succeeded', completed_with_errors: 'completed with errors', failed: 'failed', refused: 'refused',
  validated: 'validated', queued: 'queued', running: 'running', skipped: 'skipped', held: 'held', discarded: 'discarded', expired: 'expired',
};

export function statusBadge(status: string): Html {
  return html`<span class="status ${status}">${STATUS_WORDS[status] ?? status}</span>`;
}

/** The counts a run stored (JSON), or null before it has any. */
export function countsOf(run: SyncRun): SyncCounts | null {
  if (!run.counts) return null;
  try { return JSON.parse(run.counts) as SyncCounts; } catch { return null; }
}

export function timingsOf(run: SyncRun): Record<string, number> {
  if (!run.timings) return {};
  try { return JSON.parse(run.timings) as Record<string, number>; } catch { return {}; }
}

/** "12 created, 3 updated, 1 removed" over every entity: the one-line summary of lists. */
export function countsSummary(counts: SyncCounts | null): string {
  if (!counts) return 'no changes recorded';
  const parts: string[] = [];
  for (const action of ACTIONS) {
    if (action === 'unchanged') continue;
    const n = ENTITY_KINDS.reduce((sum, kind) => sum + (counts[kind]?.[action] ?? 0), 0);
    if (n) parts.push(`${n} ${action}`);
  }
  return parts.length ? parts.join(', ') : 'no changes';
}

export function issuesSummary(run: SyncRun): string {
  const parts = [[run.errorCount, 'error'], [run.warningCount, 'warning'], [run.infoCount, 'info']] as const;
  const shown = parts.filter(([n]) => n > 0).map(([n, word]) => `${n} ${word}${n === 1 || word === 'info' ? '' : 's'}`);
  return shown.length ? shown.join(', ') : 'no issues';
}
