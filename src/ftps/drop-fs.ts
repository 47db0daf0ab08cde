/**
 * One login's view of the drop folders. `/` is the user's domain folder; `/validate/` takes uploads
 * to validate only; `/force/` uploads to apply even past the safety threshold or when identical;
 * `/results/` holds what the daemon writes back (read-only), `/results/validate/` that of
 * validation-only uploads (so that they never replace a real upload's results of the same name);
 * `/domains/<sub>/` is each subdomain's folder, with the same layout, for administrators of a
 * parent domain.
 *
 * Client paths are resolved in this virtual tree only, so `../`, absolute paths and other domains
 * cannot be named; `\` is refused. Symbolic links are never followed (lstat, O_NOFOLLOW), error
 * texts never contain server paths (defects 9 and 11), and there is no chmod, mkdir or rename.
 */
import { constants, type ReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { ListedStat } from './ftp-srv-internals';
import type { Grant } from './types';

export class FtpFsError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'FtpFsError';
  }
}

const notFound = () => new FtpFsError(550, 'No such file or directory');
const denied = () => new FtpFsError(550, 'Permission denied');
const badName = () => new FtpFsError(553, `File name not allowed: only .zip files of at most ${MAX_UPLOAD_NAME_BYTES} bytes, no hidden names, no control or direction characters`);

/** The folders inside a domain folder. */
export type Area = '' | 'validate' | 'force' | 'results' | 'results/validate';
const AREAS: readonly Area[] = ['validate', 'force', 'results', 'results/validate'];

function isResults(area: Area): boolean {
  return area === 'results' || area === 'results/validate';
}

export type Location =
  | { kind: 'domains' }
  | { kind: 'dir'; userspace: string; area: Area }
  | { kind: 'file'; userspace: string; area: Area; name: string };

export const DOMAINS_DIR = 'domains';
/**
 * The longest upload name, in UTF-8 bytes: every name derived from it must fit a file system's 255
 * bytes. The longest are the queue and archive files, `<run id>-<name>` (a run id of up to 12
 * digits and the dash: 13 bytes), and the result `<name>.issues.csv` (11 bytes). A 255-byte name
 * once got 226 and then could never be queued (ENAMETOOLONG), its run stuck for good.
 */
export const MAX_UPLOAD_NAME_BYTES = 255 - 13;

/**
 * Characters no upload name may hold: control characters, separators, and the line and paragraph
 * separators and direction marks, overrides and isolates (U+200E/F, U+202A-E, U+2066-9), which
 * would reach the mail's subject, the .txt's first line and listings and make a name read as
 * another (`evil\u202Epiz.exe` shows as `evilexe.zip`).
 */
const UNSAFE_NAME_CHARS = /[\u0000-\u001f\u007f/\\\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A name an upload may have: `.zip`, not hidden, printable, no separators, short enough (above). */
export function isUploadName(name: string): boolean {
  return /\.zip$/i.test(name) && !name.startsWith('.') && !UNSAFE_NAME_CHARS.test(name)
    && Buffer.byteLength(name) <= MAX_UPLOAD_NAME_BYTES;
}

/** Resolves a client path against the virtual cwd; pure, no file system access. */
export function resolveVirtual(grant: Pick<Grant, 'home' | 'subdomains'>, cwd: string, clientPath: string | null): { virtual: string; location: Location } {
  const arg = clientPath ?? '.';
  if (arg.includes('\\') || arg.includes('\u0000')) throw notFound();
  const virtual = path.posix.normalize(path.posix.join(cwd, arg)).replace(/(.)\/$/, '$1');
  const parts = virtual.split('/').filter(Boolean);
  let userspace = grant.home;
  if (parts[0] === DOMAINS_DIR && grant.subdomains.length) {
    if (parts.length === 1) return { virtual, location: { kind: 'domains' } };
    if (!grant.subdomains.includes(parts[1])) throw notFound();
    userspace = parts[1];
    parts.splice(0, 2);
  }
  let area: Area = '';
  if (parts.length && (AREAS as readonly string[]).includes(parts[0])) area = parts.shift() as Area;
  if (area === 'results' && parts[0] === 'validate') area = `${area}/${parts.shift()}` as Area;
  if (parts.length === 0) return { virtual, location: { kind: 'dir', userspace, area } };
  if (parts.length === 1) return { virtual, location: { kind: 'file', userspace, area, name: parts[0] } };
  throw notFound();
}

export interface UploadTarget {
  userspace: string;
  name: string;
  validateOnly: boolean;
  /** placed in `force/`: apply past the safety threshold, even when identical to the last file */
  forced: boolean;
  dir: string;
  finalPath: string;
}

export class DropFileSystem {
  private cwd = '/';
  private readonly prepared = new Set<string>();

  constructor(private readonly dropRoot: string, readonly grant: Grant) {}

  currentDirectory(): string {
    return this.cwd;
  }

  async chdir(clientPath: string | null): Promise<string> {
    return guard(async () => {
      const { virtual, location } = resolveVirtual(this.grant, this.cwd, clientPath);
      if (location.kind === 'file') throw notFound();
      if (location.kind === 'dir') await this.domainDir(location.userspace, location.area);
      this.cwd = virtual === '' ? '/' : virtual;
      return this.cwd;
    });
  }

  /** A file's or folder's stat, for SIZE, MDTM and LIST of a single file. */
  async get(clientPath: string | null): Promise<ListedStat> {
    return guard(async () => {
      const { virtual, location } = resolveVirtual(this.grant, this.cwd, clientPath);
      const name = path.posix.basename(virtual) || '/';
      if (location.kind === 'domains') return named(await lstat(this.dropRoot), name);
      if (location.kind === 'dir') return named(await lstat(await this.domainDir(location.userspace, location.area)), name);
      return named(await this.fileStat(location), name);
    });
  }

  async list(clientPath: string | null): Promise<ListedStat[]> {
    return guard(async () => {
      const { location } = resolveVirtual(this.grant, this.cwd, clientPath);
      if (location.kind === 'file') return [named(await this.fileStat(location), location.name)];
      if (location.kind === 'domains') {
        const dirs = await Promise.all(this.grant.subdomains.map(async (sub) => named(await lstat(await this.domainDir(sub, '')), sub)));
        return dirs.sort(byName);
      }
      const dir = await this.domainDir(location.userspace, location.area);
      const out: ListedStat[] = [];
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.name.startsWith('.')) continue; // temp uploads and other hidden names
        const isArea = (AREAS as readonly string[]).includes(location.area ? `${location.area}/${entry.name}` : entry.name);
        if (isArea ? !entry.isDirectory() : !entry.isFile()) continue; // never symlinks
        // The intake moves uploads away while we list (issue 17 #3): one gone since readdir is skipped.
        const stat = await lstat(path.join(dir, entry.name)).catch(unlessGone);
        if (stat) out.push(named(stat, entry.name));
      }
      if (location.area === '' && location.userspace === this.grant.home && this.grant.subdomains.length) {
        out.push(named(await lstat(this.dropRoot), DOMAINS_DIR));
      }
      return out.sort(byName);
    });
  }

  /** Deletes a pending upload; results and folders cannot be deleted. */
  async delete(clientPath: string | null): Promise<void> {
    return guard(async () => {
      const { location } = resolveVirtual(this.grant, this.cwd, clientPath);
      if (location.kind !== 'file') throw denied();
      if (isResults(location.area)) throw denied();
      await this.fileStat(location);
      const dir = await this.domainDir(location.userspace, location.area);
      await unlink(path.join(dir, location.name)).catch(() => { throw notFound(); });
    });
  }

  /** Where an upload goes; throws for names and places that take no uploads. */
  async uploadTarget(clientPath: string | null): Promise<UploadTarget> {
    return guard(async () => {
      const { location } = resolveVirtual(this.grant, this.cwd, clientPath);
      if (location.kind !== 'file') throw badName();
      if (isResults(location.area)) throw denied();
      if (!isUploadName(location.name)) throw badName();
      const dir = await this.domainDir(location.userspace, location.area);
      const existing = await lstat(path.join(dir, location.name)).catch(() => null);
      if (existing && !existing.isFile()) throw denied();
      return {
        userspace: location.userspace, name: location.name, validateOnly: location.area === 'validate', forced: location.area === 'force',
        dir, finalPath: path.join(dir, location.name),
      };
    });
  }

  async openRead(clientPath: string | null): Promise<ReadStream> {
    return guard(async () => {
      const { location } = resolveVirtual(this.grant, this.cwd, clientPath);
      if (location.kind !== 'file') throw notFound();
      const dir = await this.domainDir(location.userspace, location.area);
      const handle = await open(path.join(dir, location.name), constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => { throw notFound(); });
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw notFound();
      }
      // The FileHandle's own stream closes the handle; a stream on its bare fd left the handle to
      // be closed again on garbage collection (EBADF, or another socket's or file's reused fd).
      return handle.createReadStream();
    });
  }

  private async fileStat(location: Extract<Location, { kind: 'file' }>) {
    const dir = await this.domainDir(location.userspace, location.area);
    if (location.name.startsWith('.')) throw notFound();
    const stat = await lstat(path.join(dir, location.name)).catch(() => null);
    if (!stat || !stat.isFile()) throw notFound();
    return stat;
  }

  /** The real folder for a domain area, created on first use; a symlink there counts as absent. */
  private async domainDir(userspace: string, area: Area): Promise<string> {
    const base = path.join(this.dropRoot, userspace);
    if (!this.prepared.has(userspace)) {
      for (const dir of [base, ...AREAS.map((a) => path.join(base, a))]) {
        await mkdir(dir, { recursive: true, mode: 0o750 });
        if (!(await lstat(dir)).isDirectory()) throw notFound();
      }
      this.prepared.add(userspace);
    }
    const dir = area ? path.join(base, area) : base;
    const stat = await lstat(dir).catch(() => null);
    if (!stat || !stat.isDirectory()) throw notFound();
    return dir;
  }
}

/** Node's errors name server paths: clients get a generic text instead (defect 9). */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof FtpFsError ? err : new FtpFsError(550, 'Requested action not taken');
  }
}

function unlessGone(err: unknown): null {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw err;
}

function named(stat: import('node:fs').Stats, name: string): ListedStat {
  return Object.assign(stat, { name });
}

function byName(a: ListedStat, b: ListedStat): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
