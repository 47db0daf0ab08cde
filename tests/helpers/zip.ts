/**
 * Builds zips for tests with yazl, and crafts malicious ones by patching the bytes of a yazl zip
 * (yazl itself refuses unsafe names, so they are written with a same-length placeholder and
 * renamed in place). Patches touch both the local header and the central directory record.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yauzl from 'yauzl';
import * as yazl from 'yazl';
import { EDFI_SAMPLE_DIR } from './paths';

export type ZipContent = Record<string, string | Buffer> | Array<[string, string | Buffer]>;

export interface MakeZipOptions {
  /** deflate entries (default true); false stores them */
  compress?: boolean;
  /** empty directory entries to add, e.g. ["export/"] */
  directories?: string[];
}

export async function makeZip(zipPath: string, files: ZipContent, opts: MakeZipOptions = {}): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const dir of opts.directories ?? []) zip.addEmptyDirectory(dir);
  const entries = Array.isArray(files) ? files : Object.entries(files);
  for (const [name, content] of entries) {
    zip.addBuffer(typeof content === 'string' ? Buffer.from(content, 'utf8') : content, name, { compress: opts.compress ?? true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  await fs.promises.writeFile(zipPath, Buffer.concat(chunks));
  return zipPath;
}

/** Every file of the real Ed-Fi OneRoster 1.1 sample (CSV files and NOTICE excluded), as is. */
export function sampleFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(EDFI_SAMPLE_DIR).sort()) {
    if (name.endsWith('.csv')) out[name] = fs.readFileSync(path.join(EDFI_SAMPLE_DIR, name), 'utf8');
  }
  return out;
}

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tempDir(prefix = 'rosterdrop-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface RawEntry {
  name: string;
  /** offset of the central directory record */
  central: number;
  /** offset of the local file header */
  local: number;
  flags: number;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
}

/** Parses the central directory of a (non-zip64) zip. */
export function rawEntries(zip: Buffer): RawEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= 0; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let pos = zip.readUInt32LE(eocd + 16);
  const out: RawEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (zip.readUInt32LE(pos) !== 0x02014b50) throw new Error('bad central directory record');
    const nameLength = zip.readUInt16LE(pos + 28);
    out.push({
      name: zip.toString('utf8', pos + 46, pos + 46 + nameLength),
      central: pos,
      local: zip.readUInt32LE(pos + 42),
      flags: zip.readUInt16LE(pos + 8),
      method: zip.readUInt16LE(pos + 10),
      compressedSize: zip.readUInt32LE(pos + 20),
      uncompressedSize: zip.readUInt32LE(pos + 24),
    });
    pos += 46 + nameLength + zip.readUInt16LE(pos + 30) + zip.readUInt16LE(pos + 32);
  }
  return out;
}

function entry(zip: Buffer, name: string): RawEntry {
  const found = rawEntries(zip).filter((e) => e.name === name);
  if (found.length !== 1) throw new Error(`expected one entry named ${name}, found ${found.length}`);
  return found[0];
}

/** Sets the "encrypted" general-purpose flag bit on an entry (its data stays plain). */
export function setEncryptedFlag(zip: Buffer, name: string): Buffer {
  const e = entry(zip, name);
  zip.writeUInt16LE(e.flags | 0x1, e.central + 8);
  zip.writeUInt16LE(zip.readUInt16LE(e.local + 6) | 0x1, e.local + 6);
  return zip;
}

/** Renames an entry in place; the new name must have the same byte length (e.g. "ab/users.csv" → "../users.csv"). */
export function renameEntry(zip: Buffer, from: string, to: string): Buffer {
  const e = entry(zip, from);
  const bytes = Buffer.from(to, 'utf8');
  if (bytes.length !== Buffer.byteLength(from)) throw new Error('renameEntry needs names of the same byte length');
  bytes.copy(zip, e.central + 46);
  bytes.copy(zip, e.local + 30);
  return zip;
}

/** Makes the zip declare a different uncompressed size for an entry (a lying directory). */
export function setUncompressedSize(zip: Buffer, name: string, size: number): Buffer {
  const e = entry(zip, name);
  zip.writeUInt32LE(size, e.central + 24);
  zip.writeUInt32LE(size, e.local + 22);
  return zip;
}

/** Sets the compression method of an entry, e.g. 12 (bzip2), which rosterdrop does not read. */
export function setCompressionMethod(zip: Buffer, name: string, method: number): Buffer {
  const e = entry(zip, name);
  zip.writeUInt16LE(method, e.central + 10);
  zip.writeUInt16LE(method, e.local + 8);
  return zip;
}

/** Reads a zip file, applies byte patches, writes it back. */
export function patchZip(zipPath: string, ...patches: Array<(zip: Buffer) => Buffer>): string {
  let zip: Buffer = fs.readFileSync(zipPath);
  for (const patch of patches) zip = patch(zip);
  fs.writeFileSync(zipPath, zip);
  return zipPath;
}

/** name → content of every file in a zip */
export async function zipContents(file: string): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  const out = new Map<string, Buffer>();
  try {
    for await (const entry of zip.eachEntry()) {
      const chunks: Buffer[] = [];
      for await (const c of await zip.openReadStreamPromise(entry)) chunks.push(c as Buffer);
      out.set(entry.fileName, Buffer.concat(chunks));
    }
  } finally {
    zip.close();
  }
  return out;
}
