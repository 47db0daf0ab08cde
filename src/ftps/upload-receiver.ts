/**
 * Receives one upload from a data socket: a hidden temp file in the target folder, size cap,
 * SHA-256 on the fly, and only on a clean end (TLS close_notify) fsync, rename into place and fsync
 * of the folder (web uploads share the writer: src/services/uploads.ts). Anything else deletes the temp file: a truncated or aborted upload never appears
 * under its final name (defects 7 and 16). While the upload runs, written data is flushed to disk in
 * the background (see fileWriter), so the fsync before the 226 has only the tail left to write.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DataSocket } from './data-channel';

export class UploadError extends Error {
  /** `detail`: the cause for the log (e.g. the file system's error), never sent to the client */
  constructor(readonly code: number, message: string, readonly detail?: string) {
    super(message);
    this.name = 'UploadError';
  }
}

/**
 * A failed write, fsync or rename of the upload: 452 when the disk (or a quota) is full, which a
 * client may retry later (RFC 959), else 451; the cause goes to the log only (no paths to clients).
 */
export function storageError(err: unknown, step: string): UploadError {
  if (err instanceof UploadError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const detail = `${step}: ${err instanceof Error ? err.message : String(err)}`;
  return code === 'ENOSPC' || code === 'EDQUOT'
    ? new UploadError(452, 'Insufficient storage space; upload discarded', detail)
    : new UploadError(451, 'Local error while storing the upload; upload discarded', detail);
}

export interface Received {
  size: number;
  sha256: string;
}

export interface ReceiveOptions {
  dir: string;
  finalPath: string;
  maxBytes: number;
  /** a data socket that moves no bytes for this long fails the upload */
  stallMs: number;
  /** every chunk, so the control connection's idle timer sees the transfer moving */
  onProgress(): void;
}

export async function receiveUpload(data: DataSocket, opts: ReceiveOptions): Promise<Received> {
  const temp = path.join(opts.dir, `.upload-${randomUUID()}.part`);
  const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
  const hash = createHash('sha256');
  const writer = fileWriter(file);
  let size = 0;
  let renamed = false;
  try {
    data.socket.setTimeout(opts.stallMs, () => data.socket.destroy(new UploadError(426, 'Transfer stalled; upload discarded')));
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > opts.maxBytes) return cb(new UploadError(552, `Upload larger than the limit of ${opts.maxBytes} bytes; discarded`));
        hash.update(chunk);
        opts.onProgress();
        cb(null, chunk);
      },
    });
    await pipeline(data.socket, meter, writer.stream).catch((err: unknown) => {
      throw err instanceof UploadError ? err : new UploadError(426, 'Connection closed; upload discarded', err instanceof Error ? err.message : undefined);
    });
    const failure = writer.failure();
    if (failure) {
      // the client sent all of it: close the data connection properly, so that it reads the 452
      if (data.endedCleanly) await data.finish().catch(() => undefined);
      throw failure;
    }
    if (!data.endedCleanly) throw new UploadError(426, 'Data connection closed without TLS close_notify; upload discarded as possibly truncated');
    await data.finish();
    await file.sync().catch((err: unknown) => { throw storageError(err, 'fsync'); });
    await file.close().catch((err: unknown) => { throw storageError(err, 'close'); });
    await rename(temp, opts.finalPath).catch((err: unknown) => { throw storageError(err, 'rename'); });
    renamed = true;
    try {
      await syncDir(opts.dir);
    } catch (err) {
      // the rename may not be durable: the upload must not stand under its name
      await unlink(opts.finalPath).catch(() => undefined);
      throw storageError(err, 'fsync of the folder');
    }
    return { size, sha256: hash.digest('hex') };
  } finally {
    if (!renamed) {
      await writer.idle();
      await file.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
    }
  }
}

/**
 * Early writeback: after every this many bytes written, an fdatasync starts in the background (one at
 * a time, never awaited by the writes), so the disk flushes while the data is still arriving instead
 * of all at once in the fsync before the 226 (300 MB on loopback: that fsync went from ~165 ms to
 * ~5 ms). The final fsync is unchanged; this only moves the flushing earlier.
 */
const WRITEBACK_EVERY_BYTES = 32 << 20;

export interface FileWriter {
  stream: Writable;
  /** why the upload cannot be stored, once a write failed */
  failure(): UploadError | null;
  /** resolves when no background flush is running (before the file is closed) */
  idle(): Promise<void>;
}

export function fileWriter(file: FileHandle): FileWriter {
  let unflushed = 0;
  let flushing: Promise<void> | null = null;
  let flushError: unknown = null;
  /**
   * A write that failed (a full disk): the data still arriving is read and dropped (within the size
   * cap and the stall timeout), so that the client finishes sending and reads the 452; aborting the
   * data connection instead made clients report a TLS error and never show the reply.
   */
  let failed: UploadError | null = null;
  const flush = () => {
    flushing = file.datasync().then(
      () => { flushing = null; },
      (err: unknown) => { flushError = err; flushing = null; },
    );
  };
  const stream = new Writable({
    highWaterMark: 1 << 20,
    writev(chunks, cb) {
      if (flushError) failed ??= storageError(flushError, 'background flush');
      if (failed) return cb(); // the rest of the upload is read and dropped (see `failed`)
      writeAll(file, chunks.map((c) => c.chunk as Buffer)).then((bytesWritten) => {
        unflushed += bytesWritten;
        if (!flushing && unflushed >= WRITEBACK_EVERY_BYTES && !stream.destroyed) {
          unflushed = 0;
          flush();
        }
        cb();
      }, (err: unknown) => {
        failed = storageError(err, 'write');
        cb();
      });
    },
    final(cb) {
      // a failed background flush fails the upload like a failed write
      void (flushing ?? Promise.resolve()).then(() => {
        if (flushError) failed ??= storageError(flushError, 'background flush');
        cb();
      });
    },
  });
  return {
    stream,
    failure: () => failed,
    idle: async () => {
      while (flushing) await flushing;
    },
  };
}

/**
 * Writes every byte: a write may legally take fewer than it was given (a nearly full disk takes
 * what fits), and the rest is written again; a write that takes nothing is a full disk.
 */
async function writeAll(file: FileHandle, buffers: Buffer[]): Promise<number> {
  const total = buffers.reduce((n, b) => n + b.length, 0);
  let rest = buffers;
  let done = 0;
  while (done < total) {
    const { bytesWritten } = await file.writev(rest);
    if (bytesWritten === 0) throw Object.assign(new Error(`short write: 0 of ${total - done} bytes taken`), { code: 'ENOSPC' });
    done += bytesWritten;
    rest = remainder(rest, bytesWritten);
  }
  return total;
}

/** `buffers` without their first `n` bytes */
function remainder(buffers: Buffer[], n: number): Buffer[] {
  let skip = n;
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) { skip -= b.length; continue; }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
