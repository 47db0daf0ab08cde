/**
 * Resumes password hashing that a stop or a crash cut short. The plain passwords lived only in the
 * sync's connection-private staging table, so they are read again from the run's file (the archive
 * copy), and only its new users still without a hash get one. The file must be the very file the
 * run synced (same sha256): anything else at that path could set passwords nobody sent.
 */
import fs from 'node:fs';
import type { DataSource } from 'typeorm';
import type { SyncRun } from '../db/entities';
import { openSession, type SqlSession } from '../db/sql-session';
import { IssueSink } from '../oneroster/issues';
import { readManifest } from '../oneroster/manifest';
import { readCsv } from '../oneroster/read-csv';
import { SCHEMAS } from '../oneroster/schemas';
import type { FileMode, ZipLimits } from '../oneroster/types';
import { RosterZip } from '../oneroster/zip-reader';
import { refreshScope } from './apply/context';
import { externalId } from './external-ids';
import { hashNewPasswords, pendingPasswords } from './passwords';
import { fileDigest, markPasswordsDone } from './run-store';

export type ResumeOutcome =
  | { status: 'hashed'; hashed: number; left: number }
  /**
   * not possible (file gone or changed): recorded as done, the users not yet reached stay without a
   * password. `pending` is how many waited at the commit (which of them were reached is unknown
   * without the file).
   */
  | { status: 'impossible'; reason: string; pending: number }
  /** another process holds the run's hashing lock */
  | { status: 'busy' };

export async function resumePasswords(ds: DataSource, run: SyncRun, opts: { limits: ZipLimits; signal?: AbortSignal }): Promise<ResumeOutcome> {
  const from = run.passwordsFromUserId;
  const source = run.passwordSource;
  const impossible = async (reason: string): Promise<ResumeOutcome> => {
    await markPasswordsDone(ds, run.id);
    return { status: 'impossible', reason, pending: run.passwordsPending };
  };
  const db = await openSession(ds);
  try {
    // One hasher per run, across processes (the sync's own hashing takes the same lock before its
    // commit). The lock first: a daemon looks for cut-short hashing every minute, and a run being
    // hashed right now must cost it no more than this, not a digest of the whole file.
    const release = await db.tryLock('hashing', run.id);
    if (!release) return { status: 'busy' };
    let outcome: ResumeOutcome | null = null;
    try {
      if (from === null || !source) return (outcome = await impossible('the run recorded no file to read the passwords from'));
      if (!fs.existsSync(source)) return (outcome = await impossible(`its file is gone (${source})`));
      if ((await fileDigest(source)).sha256 !== run.sha256) return (outcome = await impossible(`the file at ${source} is no longer the one the run synced`));
      await refreshScope(db, run.domainId);
      await stagePasswords(db, source, opts.limits, run.fileName);
      const hashed = await hashNewPasswords(db, from, undefined, opts.signal, 'password_source');
      const left = await pendingPasswords(db, from, 'password_source');
      if (left === 0) await markPasswordsDone(ds, run.id);
      return (outcome = { status: 'hashed', hashed, left });
    } finally {
      // only what this created: on SQLite the connection is the daemon's one, shared in turn
      for (const t of ['password_source', 'scope_domain']) await db.run(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
      await release(outcome !== null && (outcome.status === 'impossible' || (outcome.status === 'hashed' && outcome.left === 0)));
    }
  } finally {
    await db.release();
  }
}

/** users.csv of the zip, through the same strict reader as a sync: valid rows that carry a password. */
async function stagePasswords(db: SqlSession, zipPath: string, limits: ZipLimits, displayName: string): Promise<void> {
  const issues = new IssueSink(100);
  const zip = await RosterZip.open(zipPath, limits, issues, displayName);
  try {
    const manifest = await readManifest(zip, issues);
    const schema = SCHEMAS.users;
    const column = schema.columns.findIndex((c) => c.name === 'password');
    const input = await zip.openStream(schema.fileName);
    await db.run('DROP TABLE IF EXISTS password_source');
    await db.run('CREATE TEMP TABLE password_source (ext text, password text, ok integer)');
    async function* rows(): AsyncGenerator<Array<Array<string | number>>> {
      for await (const batch of readCsv(input, schema, manifest.modes.users as Exclude<FileMode, 'absent'>, issues)) {
        yield batch.filter((r) => r.ok && r.values[column]).map((r) => [externalId(r.sourcedId), r.values[column], 1]);
      }
    }
    await db.load('password_source', ['ext', 'password', 'ok'], rows());
    await db.run('CREATE INDEX ix_password_source_ext ON password_source (ext)');
  } finally {
    zip.close();
  }
}
