/**
 * A one-line progress display for long syncs, on stderr and only on a terminal (the caller
 * decides). It redraws in place a few times a second; `clear()` wipes it before a log line.
 */
import type { SyncProgress } from '../sync/types';
import { formatBytes } from './output';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 24;
const LABELS: Record<SyncProgress['phase'], string> = {
  read: 'reading', validate: 'checking references', plan: 'planning changes', apply: 'applying changes',
  passwords: 'hashing passwords', done: 'done',
};

export function bar(fraction: number, width = BAR_WIDTH): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The line for one progress report (pure, for tests): spinner, phase, bar when the total is known, elapsed time. */
export function renderProgress(p: SyncProgress, elapsedMs: number, frame: number, columns: number): string {
  const parts = [SPINNER[frame % SPINNER.length], LABELS[p.phase]];
  if (p.phase === 'read') {
    if (p.file) parts.push(p.file);
    if (p.total > 0) parts.push(bar(p.done / p.total), `${formatBytes(p.done)} of ${formatBytes(p.total)}`);
  } else if (p.phase === 'passwords' && p.total > 0) {
    parts.push(bar(p.done / p.total), `${p.done} of ${p.total}`);
  }
  parts.push(formatElapsed(elapsedMs));
  const line = parts.join('  ');
  const max = Math.max(10, columns - 1);
  return [...line].length > max ? [...line].slice(0, max).join('') : line;
}

export interface ProgressStream {
  write(text: string): boolean;
  columns?: number;
}

export class ProgressBar {
  private last: SyncProgress | null = null;
  private frame = 0;
  private shown = false;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly stream: ProgressStream, intervalMs = 100) {
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref();
  }

  update(p: SyncProgress): void {
    if (p.phase === 'done') { this.stop(); return; }
    this.last = p;
  }

  /** Wipes the line (before something else is written to the stream); the next tick redraws it. */
  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }

  stop(): void {
    clearInterval(this.timer);
    this.clear();
    this.last = null;
  }

  private draw(): void {
    if (!this.last) return;
    this.frame++;
    this.stream.write(`\r\x1b[2K${renderProgress(this.last, Date.now() - this.started, this.frame, this.stream.columns || 80)}`);
    this.shown = true;
  }
}
