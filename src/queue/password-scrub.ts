/**
 * Plain passwords at rest: an upload's users.csv may carry every user's password, and the archive
 * keeps uploads for ROSTERDROP_ARCHIVE_DAYS (failed ones for good). So what is kept is a copy of
 * the zip without users.csv's `password` column; the original stays only while password hashing
 * may still need it, under `<data>/passwords/` (owner-only), and goes once the hashing is done.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import * as yazl from 'yazl';
import { RecordAssembler } from '../oneroster/csv/fields';
import { LineSplitter } from '../oneroster/csv/line-splitter';

const USERS = /(^|\/)users\.csv$/i;

/** One CSV field as written back: quoted only when it must be (RFC 4180). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** users.csv without its `password` column, record by record (a quoted field may span lines). */
class WithoutPasswordColumn extends Transform {
  private column = -2; // -2: header not seen yet
  private readonly splitter: LineSplitter;
  private readonly assembler: RecordAssembler;
  private out: string[] = [];

  constructor() {
    super();
    this.assembler = new RecordAssembler((_line, fields) => {
      if (this.column === -2) this.column = passwordColumn(fields);
      this.out.push(`${fields.filter((_f, i) => i !== this.column).map(csvField).join(',')}\r\n`);
    }, { maxJoinedLines: 1000, maxRecordChars: 16 * 1024 * 1024 });
    this.splitter = new LineSplitter(this.assembler.push, 16 * 1024 * 1024);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.guarded(done, () => this.splitter.push(chunk));
  }

  override _flush(done: TransformCallback): void {
    this.guarded(done, () => { this.splitter.end(); this.assembler.end(); });
  }

  private guarded(done: TransformCallback, work: () => void): void {
    try {
      work();
      const text = this.out.join('');
      this.out = [];
      done(null, text ? Buffer.from(text, 'utf8') : undefined);
    } catch (err) {
      done(err as Error);
    }
  }
}

function passwordColumn(header: string[]): number {
  return header.findIndex((f) => f.trim().replace(/^\uFEFF/, '').toLowerCase() === 'password');
}

/** Whether the entry's header line names a password column (reads only its first line). */
async function hasPasswordColumn(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<boolean> {
  const stream = await zip.openReadStreamPromise(entry);
  let head = '';
  try {
    for await (const chunk of stream) {
      head += (chunk as Buffer).toString('utf8');
      const nl = head.indexOf('\n');
      if (nl !== -1 || head.length > 1024 * 1024) return passwordColumn(head.slice(0, nl === -1 ? undefined : nl).replace(/\r$/, '').split(',')) !== -1;
    }
    return passwordColumn(head.split(',')) !== -1;
  } finally {
    stream.destroy();
  }
}

/**
 * Writes `to`: the zip at `from` with users.csv's password column left out. False (and nothing
 * written) when there is nothing to leave out: no users.csv, no password column, or a zip that
 * cannot be read (a failed upload is then kept as it came; the caller logs it).
 */
export async function writeWithoutPasswords(from: string, to: string): Promise<boolean> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(from, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true });
  } catch {
    return false;
  }
  const temp = path.join(path.dirname(to), `.scrub-${randomUUID()}.tmp`);
  try {
    const entries: yauzl.Entry[] = [];
    for await (const entry of zip.eachEntry()) entries.push(entry);
    const users = entries.find((e) => USERS.test(e.fileName));
    if (!users || !await hasPasswordColumn(zip, users)) return false;
    const out = new yazl.ZipFile();
    await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o750 });
    const written = pipeline(out.outputStream, createWriteStream(temp, { flags: 'wx', mode: 0o640 }));
    for (const entry of entries) {
      if (entry.fileName.endsWith('/')) continue;
      const stream = await zip.openReadStreamPromise(entry);
      const content = entry === users ? stream.pipe(new WithoutPasswordColumn()) : stream;
      if (content !== stream) stream.on('error', (err) => content.destroy(err));
      out.addReadStream(content, entry.fileName, { mtime: entry.getLastModDate() });
    }
    out.end();
    await written;
    const handle = await fs.open(temp, 'r');
    await handle.sync().finally(() => handle.close());
    await fs.rename(temp, to);
    return true;
  } finally {
    zip.close();
    await fs.rm(temp, { force: true });
  }
}
