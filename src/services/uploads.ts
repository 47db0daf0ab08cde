/**
 * Uploads over HTTP (the domain page's form and the API), into the same intake and queue as FTPS:
 * the zip is streamed to a hidden temp file in the domain's drop folder (which the watcher ignores),
 * hashed and counted on the way, fsynced, renamed to `<userspace>/[validate/|force/]<name>.zip` and
 * handed to the intake. Never buffered: memory stays flat whatever the size. A refused, oversized
 * or aborted upload leaves nothing behind.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SyncRun } from '../db/entities';
import { isUploadName, MAX_UPLOAD_NAME_BYTES } from '../ftps/drop-fs';
import { fileWriter, storageError, syncDir, UploadError } from '../ftps/upload-receiver';
import type { UploadIntake } from '../queue/intake';

export const UPLOAD_MODES = ['sync', 'validate', 'force'] as const;
export type UploadMode = (typeof UPLOAD_MODES)[number];

/** The field the zip must come in. */
export const FILE_FIELD = 'file';

/** Why an upload was not taken: an HTTP status, a stable code for scripts, and a message for people. */
export class UploadRefused extends Error {
  /** `detail`: the cause for the log (e.g. the file system's error), never sent to the client */
  constructor(readonly status: 400 | 413 | 500 | 503 | 507, readonly code: string, message: string, readonly detail?: string) {
    super(message);
    this.name = 'UploadRefused';
  }
}

/** One part of a multipart body, whatever parsed it. */
export type UploadPart =
  | { kind: 'field'; name: string; value: string }
  | {
    kind: 'file'; name: string; fileName: string; stream: Readable;
    /** true once the parser cut the file at the size cap */
    truncated(): boolean;
  };

export interface UploadDeps {
  dropRoot: string;
  maxUploadBytes: number;
  intake: Pick<UploadIntake, 'accept'>;
}

export interface UploadRequest {
  userspace: string;
  /** `userspace/username` of who uploads */
  login: string;
  source: 'web' | 'api';
  parts: AsyncIterable<UploadPart>;
  /** the mode from the fields (read once the whole body is in, so fields may come after the file); throws UploadRefused */
  mode(fields: ReadonlyMap<string, string>): UploadMode;
}

/** Why a name is refused, naming the rule; null when it is a valid upload name (the FTPS rules). */
export function uploadNameProblem(name: string): string | null {
  if (!name) return 'the file has no name';
  if (name.includes('/') || name.includes('\\')) return `file name "${name}" has path parts: give the zip's name only`;
  if (!isUploadName(name)) {
    return `file name "${name}" is not allowed: only .zip files of at most ${MAX_UPLOAD_NAME_BYTES} bytes, no hidden names (starting with "."), no control or direction characters`;
  }
  return null;
}

/** `mode` as given (query parameter or form field); undefined = sync. */
export function parseMode(value: string | undefined): UploadMode {
  if (value === undefined || value === '') return 'sync';
  if ((UPLOAD_MODES as readonly string[]).includes(value)) return value as UploadMode;
  throw new UploadRefused(400, 'bad_mode', `mode "${value}" is not one of ${UPLOAD_MODES.join(', ')}`);
}

interface Staged { temp: string; size: number; sha256: string }

/** Reads the whole body, stores the zip and queues it: the queued run. */
export async function storeUpload(deps: UploadDeps, req: UploadRequest): Promise<SyncRun> {
  const base = await domainFolder(deps.dropRoot, req.userspace);
  const fields = new Map<string, string>();
  let staged: Staged | null = null;
  let fileName = '';
  let refusal: UploadRefused | null = null;
  try {
    for await (const part of req.parts) {
      if (part.kind === 'field') {
        fields.set(part.name, part.value);
        continue;
      }
      // Anything refused is still read to its end (and dropped), so the client gets to read the answer.
      if (refusal) { await drain(part.stream); continue; }
      if (part.name !== FILE_FIELD || staged) {
        refusal = new UploadRefused(400, 'bad_field', staged ? `one file per upload, in the field "${FILE_FIELD}"` : `the zip must come in the field "${FILE_FIELD}", not "${part.name}"`);
        await drain(part.stream);
        continue;
      }
      const problem = uploadNameProblem(part.fileName);
      if (problem) {
        refusal = new UploadRefused(400, 'bad_name', problem);
        await drain(part.stream);
        continue;
      }
      fileName = part.fileName;
      staged = await stage(base, part.stream, deps.maxUploadBytes, part.truncated);
    }
    if (refusal) throw refusal;
    if (!staged) throw new UploadRefused(400, 'no_file', `no file: send the zip as multipart/form-data in the field "${FILE_FIELD}"`);
    const mode = req.mode(fields);
    const dir = mode === 'sync' ? base : path.join(base, mode);
    await ensureDir(dir);
    const finalPath = path.join(dir, fileName);
    await rename(staged.temp, finalPath).catch((err: unknown) => { throw httpStorageError(storageError(err, 'rename')); });
    const { size, sha256 } = staged;
    staged = null;
    try {
      await syncDir(dir);
    } catch (err) {
      await unlink(finalPath).catch(() => undefined); // the rename may not be durable: the upload must not stand
      throw httpStorageError(storageError(err, 'fsync of the folder'));
    }
    // If this throws (database down), the zip stays in the drop folder under its name and the
    // watcher's next sweep queues it, as for an FTPS upload whose hand-over failed.
    const run = await deps.intake.accept(finalPath, { source: req.source, uploadedBy: req.login, sha256, size });
    if (!run) throw new UploadRefused(503, 'not_queued', 'the upload was stored but taken by another intake (or the domain is gone); look at the domain\'s history');
    return run;
  } finally {
    if (staged) await unlink(staged.temp).catch(() => undefined);
  }
}

/** The domain's drop folder, made as FTPS makes it (a real folder, never a link). */
async function domainFolder(dropRoot: string, userspace: string): Promise<string> {
  if (!userspace || userspace.startsWith('.') || userspace.includes('/') || userspace.includes('\\')) {
    throw new UploadRefused(400, 'bad_domain', `"${userspace}" is not a domain's folder name`);
  }
  const base = path.join(dropRoot, userspace);
  await ensureDir(base);
  return base;
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  if (!(await lstat(dir)).isDirectory()) throw new UploadRefused(500, 'storage', 'the domain\'s drop folder is not a folder; the cause is in the daemon log');
}

/**
 * Streams one file into `.web-<uuid>.part` in `dir`: size cap, SHA-256 on the way, written data
 * flushed in the background and fsynced at the end (the FTPS receiver's writer). On any failure
 * the temp file is gone before this throws.
 */
async function stage(dir: string, source: Readable, maxBytes: number, truncated: () => boolean): Promise<Staged> {
  const temp = path.join(dir, `.web-${randomUUID()}.part`);
  const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640)
    .catch((err: unknown) => { throw httpStorageError(storageError(err, 'open')); });
  const hash = createHash('sha256');
  const writer = fileWriter(file);
  const tooLarge = () => new UploadRefused(413, 'too_large', `the upload is larger than the limit of ${maxBytes} bytes (${formatBytes(maxBytes)}); nothing was stored`);
  let size = 0;
  let ok = false;
  try {
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > maxBytes) return cb(tooLarge());
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(source, meter, writer.stream).catch((err: unknown) => {
      if (err instanceof UploadRefused) throw err;
      throw new UploadRefused(400, 'aborted', 'the upload ended before its end (connection closed or malformed multipart body); nothing was stored');
    });
    // the parser cuts the file at the cap (its limit is the same) and reads the rest away
    if (truncated()) throw tooLarge();
    const failure = writer.failure();
    if (failure) throw httpStorageError(failure);
    await file.sync().catch((err: unknown) => { throw httpStorageError(storageError(err, 'fsync')); });
    ok = true;
    return { temp, size, sha256: hash.digest('hex') };
  } finally {
    await writer.idle();
    await file.close().catch(() => undefined);
    if (!ok) {
      await unlink(temp).catch(() => undefined);
      if (!source.destroyed) await drain(source).catch(() => undefined);
    }
  }
}

/** The FTPS receiver's storage failure as HTTP: a full disk is 507 (retry later), anything else 500. */
function httpStorageError(err: UploadError): UploadRefused {
  return err.code === 452
    ? new UploadRefused(507, 'insufficient_storage', 'not enough storage space on the server for this upload; nothing was stored, try again later', err.detail)
    : new UploadRefused(500, 'storage', 'the upload could not be stored; nothing was kept, the cause is in the daemon log', err.detail);
}

async function drain(stream: Readable): Promise<void> {
  stream.resume();
  if (stream.readableEnded || stream.destroyed) return;
  await new Promise<void>((resolve) => { stream.once('end', resolve); stream.once('close', resolve); stream.once('error', () => resolve()); });
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(n % (1 << 30) ? 1 : 0)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(n % (1 << 10) ? 1 : 0)} KiB`;
  return `${n} bytes`;
}
