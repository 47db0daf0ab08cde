/**
 * Accepting an upload: the queued run is written to the database first, then the file moves out of
 * the user's folder into the domain's queue area (`<queue>/<userspace>/<runId>-<name>`). A crash
 * between the two leaves a queued run that still points at the upload; the next sighting of the file
 * finishes the move instead of queueing it twice.
 */
import path from 'node:path';
import { IsNull, type DataSource } from 'typeorm';
import { SyncRun } from '../db/entities';
import { findDomain } from '../db/domains';
import { isUniqueViolation } from '../db/errors';
import { fileDigest } from '../sync/run-store';
import type { SyncSource } from '../sync/types';
import type { Logger } from '../util/logger';
import { classifyUpload } from './intake-path';
import { exists, moveFile } from './files';
import { enqueueRun, setQueuedPath } from './job-store';

export interface UploadMeta {
  source: SyncSource;
  uploadedBy?: string | null;
  sha256?: string;
  size?: number;
}

export interface IntakePaths {
  dropRoot: string;
  queueDir: string;
}

export class UploadIntake {
  private readonly inFlight = new Set<string>();
  private readonly unknownWarned = new Set<string>();

  constructor(
    private readonly ds: DataSource,
    private readonly paths: IntakePaths,
    private readonly logger: Logger,
    private readonly onQueued: (run: SyncRun) => void,
  ) {}

  /** Queues the upload at `file`; null when it is not an upload, already taken, or gone. */
  async accept(file: string, meta: UploadMeta): Promise<SyncRun | null> {
    const place = classifyUpload(this.paths.dropRoot, file);
    if (!place || this.inFlight.has(file)) return null;
    this.inFlight.add(file);
    try {
      if (!(await exists(file))) return null; // taken by an earlier event, or deleted by the user
      const domain = await findDomain(this.ds, place.userspace);
      if (!domain) {
        if (!this.unknownWarned.has(place.userspace)) this.logger.warn('upload in a folder that is no domain; left alone', { folder: place.userspace });
        this.unknownWarned.add(place.userspace);
        return null;
      }
      const repo = this.ds.getRepository(SyncRun);
      // A run queued for this file before a crash, whose file never moved: finish that one.
      let run = await repo.findOne({ where: { uploadPath: file, status: 'queued', queuedPath: IsNull() }, order: { id: 'DESC' } });
      const mine = !run;
      if (!run) {
        const digest = meta.sha256 && meta.size !== undefined ? { sha256: meta.sha256, size: meta.size } : await fileDigest(file);
        try {
          run = await enqueueRun(this.ds, {
            domainId: domain.id, source: meta.source, fileName: place.name, uploadPath: file, validateOnly: place.validateOnly, forced: place.forced,
            uploadedBy: meta.uploadedBy ?? null, sha256: digest.sha256, size: digest.size,
          });
        } catch (err) {
          if (isUniqueViolation(err)) return null; // another daemon queued it a moment ago
          throw err;
        }
      }
      const queuedPath = path.join(this.paths.queueDir, place.userspace, `${run.id}-${place.name}`);
      try {
        await moveFile(file, queuedPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Gone under us: another daemon moved it (for its own run) or the user deleted it.
        if (mine) await repo.delete({ id: run.id, queuedPath: IsNull() });
        return null;
      }
      await setQueuedPath(this.ds, run.id, queuedPath);
      run.queuedPath = queuedPath;
      this.logger.info('upload queued', { runId: run.id, domain: place.userspace, file: place.name, validateOnly: place.validateOnly, forced: place.forced, source: meta.source });
      this.onQueued(run);
      return run;
    } finally {
      this.inFlight.delete(file);
    }
  }
}
