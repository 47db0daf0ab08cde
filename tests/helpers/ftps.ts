/**
 * A running FTPS drop server for tests: the real server, the real LMS authenticator on a fresh
 * embedded database, a certificate generated the way a first start generates it, and a sink that
 * records completed uploads. Clients are real programs (curl, lftp, Python ftplib) or basic-ftp.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createDomain } from '../../src/db/domains';
import { createUser } from '../../src/db/users';
import { loadFtpsSettings } from '../../src/config/ftps';
import { LmsAuthenticator } from '../../src/ftps/lms-authenticator';
import { DropServer } from '../../src/ftps/server';
import { loadTlsMaterial } from '../../src/ftps/tls-material';
import type { Authenticator, CompletedUpload, DropServerConfig, UploadSink } from '../../src/ftps/types';
import { silentLogger, createLogger, type Logger } from '../../src/util/logger';
import { openTestDatabase, type TestDatabase } from './db';
import { tempDir } from './zip';

/** Has quotes, spaces and a `-x` word: stock ftp-srv mangled all three (defect 13). */
export const ADMIN_PASSWORD = `pa"ss w0rd -x 'q`;
export const ADMIN_LOGIN = 'district/admin';

export interface FtpsFixture {
  server: DropServer;
  port: number;
  implicitPort: number | null;
  dropRoot: string;
  dataDir: string;
  certFile: string;
  uploads: CompletedUpload[];
  db: TestDatabase;
  config: DropServerConfig;
  stop(): Promise<void>;
}

export type ConfigPatch = Partial<Omit<DropServerConfig, 'login' | 'connections' | 'timeouts' | 'passive'>> & {
  login?: Partial<DropServerConfig['login']>;
  connections?: Partial<DropServerConfig['connections']>;
  timeouts?: Partial<DropServerConfig['timeouts']>;
  passive?: Partial<DropServerConfig['passive']>;
};

export interface FixtureOptions {
  sink?: UploadSink;
  authenticator?: (db: TestDatabase) => Authenticator;
  logger?: Logger;
}

/** Domains: district (with school-a below it) and other; users: see the code below. */
export async function startFtps(patch: ConfigPatch = {}, opts: FixtureOptions = {}): Promise<FtpsFixture> {
  const { dir, cleanup } = tempDir('rosterdrop-ftps-');
  const db = await openTestDatabase('sqlite');
  const district = await createDomain(db.ds, { userspace: 'district', name: 'District' });
  const school = await createDomain(db.ds, { userspace: 'school-a', name: 'School A', parentId: district.id });
  const other = await createDomain(db.ds, { userspace: 'other', name: 'Other district' });
  await createUser(db.ds, { domainId: district.id, username: 'admin', admin: true, password: ADMIN_PASSWORD });
  await createUser(db.ds, { domainId: district.id, username: 'teacher', admin: false, password: 'teacher-password' });
  await createUser(db.ds, { domainId: school.id, username: 'admin', admin: true, password: 'school-password' });
  await createUser(db.ds, { domainId: other.id, username: 'admin', admin: true, password: 'other-password' });

  const base = loadFtpsSettings({ ROSTERDROP_DATA_DIR: dir });
  const tls = await loadTlsMaterial({ certFile: null, keyFile: null, dataDir: dir });
  const config: DropServerConfig = {
    ...base, ...patch, host: '127.0.0.1', explicitPort: 0, implicitPort: patch.implicitPort ?? null, tls,
    passive: { ...base.passive, minPort: 0, maxPort: 0, ...patch.passive },
    login: { ...base.login, failureDelayMs: 200, ...patch.login },
    connections: { ...base.connections, ...patch.connections },
    timeouts: { ...base.timeouts, ...patch.timeouts },
  };
  if (config.passive.minPort === 0) Object.assign(config.passive, await freePortRange(20));
  const uploads: CompletedUpload[] = [];
  const sink = opts.sink ?? { accept: (u: CompletedUpload) => { uploads.push(u); } };
  const auth = opts.authenticator?.(db) ?? new LmsAuthenticator(db.ds);
  const logger = opts.logger ?? (process.env.FTPS_TEST_LOG ? createLogger({ level: 'debug', json: true }) : silentLogger());
  const server = await DropServer.start(config, auth, sink, logger);
  return {
    server, port: server.ports.explicit, implicitPort: server.ports.implicit, dropRoot: config.dropRoot, dataDir: dir,
    certFile: tls.certFile, uploads, db, config,
    stop: async () => {
      await server.stop();
      await db.close();
      cleanup();
    },
  };
}

let nextRange = 41000 + (process.pid % 200) * 40;
/** A passive range of free ports for this test process (ports are checked by binding). */
async function freePortRange(size: number): Promise<{ minPort: number; maxPort: number }> {
  const net = await import('node:net');
  for (;;) {
    const minPort = nextRange;
    nextRange += size;
    if (nextRange > 60000) nextRange = 41000;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(minPort, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return { minPort, maxPort: minPort + size - 1 };
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client program; never throws for a non-zero exit (tests assert on it). */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(`${cmd} is not installed; the FTPS tests drive it as a real client (README: Set-up)`) : err);
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function writeFileOfSize(file: string, bytes: number): string {
  const chunk = Buffer.alloc(Math.min(bytes, 1 << 20), 7);
  const fd = fs.openSync(file, 'w');
  for (let left = bytes; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  fs.closeSync(fd);
  return file;
}

export function visibleFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort() : [];
}

export function hiddenFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('.')).sort() : [];
}

export const domainDir = (fx: FtpsFixture, userspace: string): string => path.join(fx.dropRoot, userspace);
