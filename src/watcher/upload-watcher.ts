/**
 * Notices finished uploads in the drop root. The FTPS server hands its uploads over directly (they
 * are complete when renamed into place); this watcher catches the rest: files copied in by cp,
 * rsync or another transfer service, once their size has stopped changing, and anything missed
 * (events lost, files placed while the daemon was down) by a sweep at start and at intervals.
 */
import { watch, type FSWatcher } from 'chokidar';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../util/logger';
import { classifyUpload } from '../queue/intake-path';

export interface WatcherOptions {
  dropRoot: string;
  /** a file counts as complete when its size has not changed for this long */
  stableMs: number;
  /** full sweep of the drop root */
  sweepMs: number;
}

export class UploadWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private recheck: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: WatcherOptions,
    private readonly onUpload: (file: string) => void,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await fs.mkdir(this.opts.dropRoot, { recursive: true, mode: 0o750 });
    this.watcher = watch(this.opts.dropRoot, {
      ignoreInitial: true, // the sweep below takes what is already there
      depth: 2,
      followSymlinks: false,
      // Hidden names (temp uploads, .part files) and results/ are never uploads.
      ignored: (file: string) => path.basename(file).startsWith('.') || /[\\/]results([\\/]|$)/.test(path.relative(this.opts.dropRoot, file)),
      awaitWriteFinish: { stabilityThreshold: this.opts.stableMs, pollInterval: Math.min(250, this.opts.stableMs) },
    });
    this.watcher.on('add', (file: string) => this.consider(file));
    this.watcher.on('error', (err: unknown) => this.logger.warn('watcher error', { error: (err as Error).message }));
    await new Promise<void>((resolve) => this.watcher?.once('ready', () => resolve()));
    await this.sweep();
    this.timer = setInterval(() => { void this.sweep(); }, this.opts.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.recheck) clearTimeout(this.recheck);
    await this.watcher?.close();
  }

  /** Every upload-shaped file already in place whose last change is older than `stableMs`. */
  async sweep(): Promise<number> {
    let found = 0;
    let young = false;
    const now = Date.now();
    for (const folder of await fs.readdir(this.opts.dropRoot, { withFileTypes: true }).catch(() => [])) {
      if (!folder.isDirectory() || folder.name.startsWith('.')) continue;
      for (const dir of ['', 'validate', 'force'].map((area) => path.join(this.opts.dropRoot, folder.name, area))) {
        for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
          const file = path.join(dir, entry.name);
          if (!entry.isFile() || !classifyUpload(this.opts.dropRoot, file)) continue;
          const stat = await fs.stat(file).catch(() => null);
          if (!stat) continue;
          if (now - stat.mtimeMs < this.opts.stableMs) {
            young = true; // maybe still being written: look again once it could be stable
            continue;
          }
          found++;
          this.onUpload(file);
        }
      }
    }
    if (young && !this.recheck) {
      this.recheck = setTimeout(() => {
        this.recheck = null;
        void this.sweep();
      }, this.opts.stableMs);
      this.recheck.unref();
    }
    return found;
  }

  private consider(file: string): void {
    if (classifyUpload(this.opts.dropRoot, file)) this.onUpload(file);
  }
}
