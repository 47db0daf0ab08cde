/**
 * Opens an uploaded OneRoster zip safely and streams its root CSV entries.
 *
 * Everything a hostile or sloppy zip can do is checked from the central directory before a
 * byte is inflated (entry count, declared sizes, compression ratio, encryption, path tricks,
 * folders, duplicates), and the declared sizes are then enforced while streaming, because they
 * are only claims.
 *
 * yauzl 3 differs from its typings in ways that matter here:
 * - with the default decodeStrings, yauzl turns "\" into "/" and aborts the whole directory on
 *   the first absolute or ".." name, so we could neither see nor report them per entry. We open
 *   with decodeStrings:false (Entry.fileName is then a Buffer, typed as string: never read it)
 *   and decode names with getFileNameLowLevel(strictFileNames = true), which keeps backslashes.
 * - validateEntrySizes (default true) aborts the directory on a stored entry whose sizes differ;
 *   we turn it off and count the real bytes ourselves instead.
 * - openReadStream with decodeFileData:false hands back the raw entry data; we inflate with our
 *   own zlib stream (faster, see perf-notes) and so must count bytes and check the CRC ourselves.
 */
import * as path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import * as yauzl from 'yauzl';
import { IssueSink, StructuralError, type IssueCode, type SyncIssue } from './issues';
import type { ZipLimits } from './types';
import { ONEROSTER_FILE_NAMES } from './schemas';

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 100,
  maxUncompressedBytes: 4 * 1024 ** 3,
  maxCompressionRatio: 200,
};

/** The ratio guard applies only above this size: tiny CSVs of repeated commas compress very well. */
export const RATIO_MIN_BYTES = 1024 * 1024;

const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
/** General purpose flag bit 6: PKWARE "strong encryption" (yauzl refuses the whole zip). */
const STRONG_ENCRYPTION = 0x40;

interface UsableEntry {
  entry: yauzl.Entry;
  name: string;
}

export class RosterZip {
  private closed = false;

  private constructor(
    private readonly zipfile: yauzl.ZipFile,
    private readonly entries: ReadonlyMap<string, UsableEntry>,
    private readonly ignored: readonly string[],
    private readonly issues: IssueSink,
  ) {}

  /**
   * Opens and vets the zip. Every problem is recorded in `issues`; if any is fatal, throws a
   * StructuralError carrying the first fatal issue (already recorded: do not add it again).
   * `displayName` is the name messages use: the uploaded name, not the queue file's.
   */
  static async open(zipPath: string, limits: ZipLimits, issues: IssueSink, displayName = path.basename(zipPath)): Promise<RosterZip> {
    const zipName = displayName;
    let zipfile: yauzl.ZipFile;
    try {
      zipfile = await yauzl.openPromise(zipPath, {
        lazyEntries: true,
        autoClose: false,
        decodeStrings: false,
        validateEntrySizes: false,
        strictFileNames: true,
      });
    } catch (err) {
      throw fatal(issues, 'zip.unreadable', null, `${zipName} is not a readable zip archive (${errText(err)}).`);
    }

    const fatalIssues: SyncIssue[] = [];
    const record = (code: IssueCode, file: string | null, message: string): void => {
      const issue = makeIssue('error', code, file, message);
      issues.add(issue);
      fatalIssues.push(issue);
    };

    try {
      // Checked before reading the directory, so a zip claiming millions of entries costs nothing.
      if (zipfile.entryCount > limits.maxEntries) {
        record('zip.too_many_entries', null,
          `${zipName} holds ${zipfile.entryCount} entries; at most ${limits.maxEntries} are allowed ` +
          '(a OneRoster zip needs at most 14 files).');
        throw new StructuralError(fatalIssues[0]);
      }

      const usable = new Map<string, UsableEntry>();
      const ignored: string[] = [];
      const seen = new Set<string>();
      let totalBytes = 0;

      try {
        for await (const entry of zipfile.eachEntry()) {
          const name = entryName(entry);
          totalBytes += entry.uncompressedSize;

          const unsafe = unsafeReason(name);
          if (unsafe) {
            record('zip.unsafe_path', name, `The zip entry name "${name}" ${unsafe}; such names are refused for safety.`);
            continue;
          }
          if (isSilentlyIgnored(name)) continue;
          if (seen.has(name)) {
            record('zip.duplicate_entry', name, `${name} appears more than once in the zip; rosterdrop cannot tell which copy to use.`);
            continue;
          }
          seen.add(name);

          if (entry.isEncrypted() || (entry.generalPurposeBitFlag & STRONG_ENCRYPTION) !== 0) {
            record('zip.encrypted', name, `${name} is encrypted (password-protected); upload a zip without a password.`);
            continue;
          }
          if (entry.uncompressedSize > RATIO_MIN_BYTES) {
            const ratio = entry.uncompressedSize / Math.max(entry.compressedSize, 1);
            if (ratio > limits.maxCompressionRatio) {
              record('zip.compression_ratio', name,
                `${name} claims ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed ` +
                `(ratio ${Math.round(ratio)}:1, limit ${limits.maxCompressionRatio}:1); refused as a possible zip bomb.`);
              continue;
            }
          }

          const base = name.slice(name.lastIndexOf('/') + 1);
          const isOneRoster = ONEROSTER_FILE_NAMES.includes(base);
          if (isOneRoster && base !== name) {
            record('zip.nested_path', name,
              `${name} is inside the folder "${name.slice(0, name.length - base.length - 1)}". OneRoster CSV files ` +
              'must sit at the root of the zip: select the CSV files themselves and zip them, not the folder that holds them.');
            continue;
          }
          if (!isOneRoster) {
            ignored.push(name);
            const hint = ONEROSTER_FILE_NAMES.find((n) => n.toLowerCase() === base.toLowerCase());
            issues.warning('zip.unknown_file', { file: name },
              `${name} is not a OneRoster 1.1 file and is ignored` +
              (hint ? ` (file names are case-sensitive: did you mean "${hint}"?).` : '.'));
            continue;
          }
          if (entry.compressionMethod !== METHOD_STORED && entry.compressionMethod !== METHOD_DEFLATE) {
            record('zip.unreadable', name,
              `${name} uses compression method ${entry.compressionMethod}; only stored (0) and deflate (8) are supported. ` +
              'Re-create the zip with standard ("deflate") compression.');
            continue;
          }
          usable.set(name, { entry, name });
        }
      } catch (err) {
        // yauzl gives up on the whole directory for a few conditions; name them as well as we can.
        const text = errText(err);
        if (/strong encryption/i.test(text)) {
          record('zip.encrypted', null, `${zipName} uses strong encryption; upload a zip without a password.`);
        } else {
          record('zip.unreadable', null, `${zipName} is not a readable zip archive (${text}).`);
        }
      }

      if (totalBytes > limits.maxUncompressedBytes) {
        record('zip.too_large', null,
          `${zipName} would expand to ${totalBytes} bytes; the limit is ${limits.maxUncompressedBytes} bytes.`);
      }
      if (fatalIssues.length > 0) throw new StructuralError(fatalIssues[0]);
      return new RosterZip(zipfile, usable, ignored, issues);
    } catch (err) {
      zipfile.close();
      throw err;
    }
  }

  has(fileName: string): boolean {
    return this.entries.has(fileName);
  }

  /** The usable OneRoster files at the root: manifest.csv and any of the 13 data files. */
  fileNames(): string[] {
    return [...this.entries.keys()];
  }

  /** Names of other entries that were ignored with a zip.unknown_file warning (e.g. "Users.csv"). */
  ignoredFileNames(): string[] {
    return [...this.ignored];
  }

  /** The size the zip declares for the entry (for progress); the stream enforces it. */
  uncompressedSize(fileName: string): number {
    return this.get(fileName).entry.uncompressedSize;
  }

  /**
   * The decompressed bytes of one entry, streamed. If the entry turns out corrupt or larger than
   * declared, the issue is recorded in the sink and the stream is destroyed with a StructuralError
   * carrying it (callers must not record it again).
   */
  async openStream(fileName: string): Promise<Readable> {
    const { entry, name } = this.get(fileName);
    if (this.closed) throw new Error('RosterZip is closed');
    let raw: Readable;
    try {
      raw = await this.zipfile.openReadStreamPromise(entry, { decodeFileData: false });
    } catch (err) {
      throw fatal(this.issues, 'zip.unreadable', name, `${name} cannot be read from the zip (${errText(err)}).`);
    }
    const guard = new EntryGuard(name, entry.uncompressedSize, entry.crc32, this.issues);
    if (entry.compressionMethod === METHOD_STORED) {
      wire(raw, guard, this.issues, name);
      return guard;
    }
    const inflate = zlib.createInflateRaw({ chunkSize: 65536 });
    wire(raw, inflate, this.issues, name);
    wire(inflate, guard, this.issues, name);
    return guard;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.zipfile.close();
  }

  private get(fileName: string): UsableEntry {
    const found = this.entries.get(fileName);
    if (!found) throw new Error(`${fileName} is not in the zip (check has() first)`);
    return found;
  }
}

/**
 * Counts the real bytes of an entry: more than declared means the directory lied (a zip bomb
 * trick) and is stopped at once; fewer, or a CRC mismatch, means a corrupt entry.
 */
class EntryGuard extends Transform {
  private bytes = 0;
  private crc = 0;

  constructor(
    private readonly name: string,
    private readonly declared: number,
    private readonly expectedCrc: number,
    private readonly issues: IssueSink,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.declared) {
      done(fatal(this.issues, 'zip.too_large', this.name,
        `${this.name} expands past the ${this.declared} bytes its zip entry declares; the zip is refused as a possible zip bomb.`));
      return;
    }
    this.crc = zlib.crc32(chunk, this.crc);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.declared) {
      done(fatal(this.issues, 'zip.unreadable', this.name,
        `${this.name} is truncated: ${this.bytes} bytes instead of the declared ${this.declared}.`));
    } else if (this.crc >>> 0 !== this.expectedCrc >>> 0) {
      done(fatal(this.issues, 'zip.unreadable', this.name, `${this.name} is corrupt (CRC-32 mismatch).`));
    } else {
      done();
    }
  }
}

/**
 * Pipes `from` into `to`; an error upstream (read error, bad deflate data) destroys `to` with a
 * recorded StructuralError, and destroying `to` (e.g. the consumer stopped early) stops `from`.
 */
function wire(from: Readable, to: Transform, issues: IssueSink, name: string): void {
  from.pipe(to);
  from.on('error', (err: unknown) => {
    if (to.destroyed) return;
    to.destroy(err instanceof StructuralError ? err
      : fatal(issues, 'zip.unreadable', name, `${name} cannot be decompressed (${errText(err)}).`));
  });
  to.on('close', () => {
    if (!from.destroyed) {
      from.unpipe(to);
      from.destroy();
    }
  });
}

function entryName(entry: yauzl.Entry): string {
  // decodeStrings:false: fileNameRaw holds the bytes; strict = keep backslashes as they are.
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
}

/** Why a name could escape an extraction folder, or null if it is safe. */
function unsafeReason(name: string): string | null {
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.split('/').includes('..')) return 'climbs out of the zip with ".."';
  if (name.includes('\0')) return 'contains a NUL character';
  return null;
}

/** Folders, macOS resource forks and dot-files (.DS_Store, ._x) carry no roster data. */
function isSilentlyIgnored(name: string): boolean {
  if (name.endsWith('/')) return true;
  if (name.startsWith('__MACOSX/')) return true;
  // "." alone is not a dot-file: "./users.csv" is then reported as nested, not silently dropped
  return name.split('/').some((part) => part.startsWith('.') && part !== '.');
}

function makeIssue(severity: SyncIssue['severity'], code: IssueCode, file: string | null, message: string): SyncIssue {
  return { severity, code, file, line: null, column: null, sourcedId: null, message };
}

/** Records a fatal issue and returns the StructuralError to throw. */
function fatal(issues: IssueSink, code: IssueCode, file: string | null, message: string): StructuralError {
  const issue = makeIssue('error', code, file, message);
  issues.add(issue);
  return new StructuralError(issue);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
