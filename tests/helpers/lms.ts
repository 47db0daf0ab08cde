/**
 * Reading the LMS back in engine tests: domains, users, courses, enrollments, observer links,
 * sync runs and issues, scoped to the subtree of a test's root domain (each test makes its own
 * root, so tests sharing one database do not see each other's data). Also whole-database
 * snapshots, to prove that a sync changed nothing.
 */
import { after, before } from 'node:test';
import type { DataSource } from 'typeorm';
import { In } from 'typeorm';
import { Course, Domain, Enrollment, ObserverLink, SyncIssueRow, SyncRun, User } from '../../src/db/entities';
import { createDomain } from '../../src/db/domains';
import { loadSettings, saveSettings } from '../../src/db/settings-store';
import type { SyncSettings } from '../../src/sync/settings';
import { SyncEngine, type EngineOptions } from '../../src/sync/engine';
import type { SyncCounts, SyncResult } from '../../src/sync/types';
import type { SyncIssue } from '../../src/oneroster/issues';
import { openTestDatabase, type DbKind, type TestDatabase } from './db';
import type { Roster } from './roster';
import { tempDir } from './zip';

let rootCounter = 0;

/** A fresh root domain (the domain a sync runs for), with settings when given. */
export async function newRoot(ds: DataSource, settings: Partial<SyncSettings> = {}, name = 'root'): Promise<Domain> {
  const userspace = `${name}${process.pid % 1000}x${++rootCounter}`.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  const d = await createDomain(ds, { userspace, name: `Test root ${userspace}` });
  if (Object.keys(settings).length) await setSettings(ds, d.id, settings);
  return d;
}

export async function setSettings(ds: DataSource, domainId: number, patch: Partial<SyncSettings>): Promise<void> {
  await saveSettings(ds, domainId, { ...(await loadSettings(ds, domainId)), ...patch });
}

export async function runSync(ds: DataSource, domainId: number, zipPath: string,
  opts: { validateOnly?: boolean; force?: boolean; engine?: EngineOptions } = {}): Promise<SyncResult> {
  return new SyncEngine(ds, opts.engine).run({ domainId, zipPath, source: 'test', validateOnly: opts.validateOnly, force: opts.force });
}

export const ext = (sid: string): string => `or-${sid}`;

// ---- scoped reads -------------------------------------------------------------------------------

/** The root and all its descendants, computed from the parent links (independently of the engine). */
export async function scopeIds(ds: DataSource, rootId: number): Promise<number[]> {
  const all = await ds.getRepository(Domain).find({ select: { id: true, parentId: true } });
  const out = [rootId];
  for (let i = 0; i < out.length; i++) for (const d of all) if (d.parentId === out[i]) out.push(d.id);
  return out;
}

/** Domains below the root (the root itself excluded), by id. */
export async function domainsUnder(ds: DataSource, rootId: number): Promise<Domain[]> {
  const ids = (await scopeIds(ds, rootId)).filter((id) => id !== rootId);
  return ds.getRepository(Domain).find({ where: { id: In(ids) }, order: { id: 'ASC' } });
}

export async function domainByExt(ds: DataSource, rootId: number, sid: string): Promise<Domain> {
  const d = (await domainsUnder(ds, rootId)).filter((x) => x.externalId === ext(sid));
  if (d.length !== 1) throw new Error(`expected one domain or-${sid}, found ${d.length}`);
  return d[0];
}

export async function usersUnder(ds: DataSource, rootId: number): Promise<User[]> {
  return ds.getRepository(User).find({ where: { domainId: In(await scopeIds(ds, rootId)) }, order: { id: 'ASC' } });
}

export async function userByExt(ds: DataSource, rootId: number, sid: string): Promise<User | null> {
  const found = (await usersUnder(ds, rootId)).filter((u) => u.externalId === ext(sid));
  if (found.length > 1) throw new Error(`${found.length} users with external id or-${sid}`);
  return found[0] ?? null;
}

export async function mustUser(ds: DataSource, rootId: number, sid: string): Promise<User> {
  const u = await userByExt(ds, rootId, sid);
  if (!u) throw new Error(`no user or-${sid}`);
  return u;
}

export async function coursesUnder(ds: DataSource, rootId: number): Promise<Course[]> {
  return ds.getRepository(Course).find({ where: { domainId: In(await scopeIds(ds, rootId)) }, order: { id: 'ASC' } });
}

/** The course with this exact external ID (give the full ID, e.g. ext('math-1') or 'or-base:org:dist'). */
export async function courseByExt(ds: DataSource, rootId: number, externalId: string): Promise<Course | null> {
  const found = (await coursesUnder(ds, rootId)).filter((c) => c.externalId === externalId);
  if (found.length > 1) throw new Error(`${found.length} courses with external id ${externalId}`);
  return found[0] ?? null;
}

export async function mustCourse(ds: DataSource, rootId: number, externalId: string): Promise<Course> {
  const c = await courseByExt(ds, rootId, externalId);
  if (!c) throw new Error(`no course ${externalId}`);
  return c;
}

export async function enrollmentsUnder(ds: DataSource, rootId: number): Promise<Enrollment[]> {
  return ds.getRepository(Enrollment).find({ where: { domainId: In(await scopeIds(ds, rootId)) }, order: { id: 'ASC' } });
}

export async function enrollmentByExt(ds: DataSource, rootId: number, externalId: string): Promise<Enrollment | null> {
  const found = (await enrollmentsUnder(ds, rootId)).filter((e) => e.externalId === externalId);
  if (found.length > 1) throw new Error(`${found.length} enrollments with external id ${externalId}`);
  return found[0] ?? null;
}

/** Observer links whose student is in the root's subtree, as [observer sid, student sid] (external IDs stripped). */
export async function observerPairs(ds: DataSource, rootId: number): Promise<Array<[string, string]>> {
  const users = await usersUnder(ds, rootId);
  const byId = new Map(users.map((u) => [u.id, u]));
  const links = await ds.getRepository(ObserverLink).find({ where: { studentId: In(users.map((u) => u.id)) }, order: { id: 'ASC' } });
  const name = (id: number) => {
    const u = byId.get(id);
    return u?.externalId?.startsWith('or-') ? u.externalId.slice(3) : `#${id}`;
  };
  return links.map((l) => [name(l.observerId), name(l.studentId)] as [string, string]).sort();
}

export async function observerLinks(ds: DataSource, rootId: number): Promise<ObserverLink[]> {
  const users = await usersUnder(ds, rootId);
  return ds.getRepository(ObserverLink).find({ where: { studentId: In(users.map((u) => u.id)) }, order: { id: 'ASC' } });
}

export async function runRow(ds: DataSource, runId: number): Promise<SyncRun> {
  return ds.getRepository(SyncRun).findOneByOrFail({ id: runId });
}

export async function runsOf(ds: DataSource, domainId: number): Promise<SyncRun[]> {
  return ds.getRepository(SyncRun).find({ where: { domainId }, order: { id: 'ASC' } });
}

export async function issueRows(ds: DataSource, runId: number): Promise<SyncIssueRow[]> {
  return ds.getRepository(SyncIssueRow).find({ where: { runId }, order: { seq: 'ASC' } });
}

// ---- result helpers -----------------------------------------------------------------------------

/** A compact, comparable form of an issue: "severity code file:line column sourcedId". */
export function brief(i: Pick<SyncIssue, 'severity' | 'file' | 'line' | 'column' | 'sourcedId'> & { code: string }): string {
  return `${i.severity} ${i.code} ${i.file ?? '-'}:${i.line ?? '-'} ${i.column ?? '-'} ${i.sourcedId ?? '-'}`;
}

export function issuesWith(result: SyncResult, code: string): SyncIssue[] {
  return result.issues.filter((i) => i.code === code);
}

export function errorsOf(result: SyncResult): string[] {
  return result.issues.filter((i) => i.severity === 'error').map(brief);
}

/** Counts with the zero actions left out, e.g. { users: { created: 3 } }. */
export function nonZero(counts: SyncCounts): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [kind, actions] of Object.entries(counts)) {
    for (const [action, n] of Object.entries(actions)) if (n) (out[kind] ??= {})[action] = n;
  }
  return out;
}

/** True when nothing was created, updated, removed or restored. */
export function writesNothing(counts: SyncCounts): boolean {
  return Object.values(counts).every((c) => c.created === 0 && c.updated === 0 && c.removed === 0 && c.restored === 0);
}

// ---- snapshots ----------------------------------------------------------------------------------

export const LMS_TABLES = [
  'domain', 'lms_user', 'course', 'enrollment', 'observer_link', 'sync_settings', 'academic_session', 'oneroster_course', 'oneroster_class',
] as const;
export type Snapshot = Record<(typeof LMS_TABLES)[number], Array<Record<string, unknown>>>;

function normalize(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/** Every row of every LMS table (not the sync history), in id order, values normalized. */
export async function snapshot(ds: DataSource): Promise<Snapshot> {
  const out = {} as Snapshot;
  for (const t of LMS_TABLES) {
    const order = t === 'sync_settings' ? 'domain_id' : 'id';
    const rows = (await ds.query(`SELECT * FROM ${t} ORDER BY ${order}`)) as Array<Record<string, unknown>>;
    out[t] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, normalize(v)])));
  }
  return out;
}

/** Row counts per LMS table, for messages. */
export function sizes(s: Snapshot): Record<string, number> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.length]));
}

// ---- suite set-up -------------------------------------------------------------------------------

export interface SyncEnv {
  readonly db: TestDatabase;
  readonly ds: DataSource;
  /** a temporary folder for zips, removed after the suite */
  readonly dir: string;
  /** writes the roster's zip into the suite's folder */
  zip(roster: Roster, name?: string): Promise<string>;
  /** zips the roster and syncs it for the domain */
  sync(domainId: number, roster: Roster | string, opts?: { validateOnly?: boolean; force?: boolean }): Promise<SyncResult>;
}

/**
 * Registers before/after hooks in the enclosing describe: one fresh database of this kind (and a
 * temporary folder) for the suite. Tests make their own root domains, so they stay independent.
 */
export function useDatabase(kind: DbKind): SyncEnv {
  let db: TestDatabase | undefined;
  let tmp: { dir: string; cleanup: () => void } | undefined;
  before(async () => {
    db = await openTestDatabase(kind);
    tmp = tempDir('rosterdrop-sync-');
  });
  after(async () => {
    await db?.close();
    tmp?.cleanup();
  });
  const env: SyncEnv = {
    get db() { if (!db) throw new Error('database not open'); return db; },
    get ds() { return env.db.ds; },
    get dir() { if (!tmp) throw new Error('no temp dir'); return tmp.dir; },
    zip: (roster, name) => roster.zip(env.dir, name),
    sync: async (domainId, roster, opts = {}) =>
      runSync(env.ds, domainId, typeof roster === 'string' ? roster : await roster.zip(env.dir), opts),
  };
  return env;
}

// ---- hand-made entities (what an admin creates in the LMS, outside any sync) --------------------

export async function handMadeUser(ds: DataSource, domainId: number, f: Partial<User> & { username: string }): Promise<User> {
  const repo = ds.getRepository(User);
  return repo.save(repo.create({
    givenName: 'Hand', familyName: 'Made', email: null, passwordHash: null, roles: '[]', status: 'active', externalId: null, metadata: null,
    ...f, domainId,
  }));
}

export async function handMadeCourse(ds: DataSource, domainId: number, f: Partial<Course> = {}): Promise<Course> {
  const repo = ds.getRepository(Course);
  return repo.save(repo.create({
    kind: 'section', title: 'Hand-made course', baseCourseId: null, ownerUserId: null, term: null, startAt: null, endAt: null,
    status: 'active', externalId: null, metadata: null, ...f, domainId,
  }));
}

export async function handMadeEnrollment(ds: DataSource, f: Pick<Enrollment, 'courseId' | 'userId' | 'domainId'> & Partial<Enrollment>): Promise<Enrollment> {
  const repo = ds.getRepository(Enrollment);
  return repo.save(repo.create({ role: 'Student', status: 'active', startAt: null, endAt: null, externalId: null, metadata: null, ...f }));
}

export async function reload<T extends User | Course | Enrollment | Domain>(ds: DataSource, entity: T): Promise<T> {
  const target = entity.constructor as new () => T;
  return (await ds.getRepository(target).findOneByOrFail({ id: entity.id } as never)) as T;
}
