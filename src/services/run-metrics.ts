/**
 * The figures behind /metrics, read from the database at scrape time (so they survive restarts,
 * are the same on every daemon sharing the database, and need no hooks in the runner).
 *
 * Cost: a finished run never changes again, so what it contributes (its outcome, duration, rows,
 * issues, upload bytes) is added once to per-domain totals kept in memory. A scrape reads the runs
 * above a watermark (those created in the last WATERMARK_LAG_MS), the open runs (queued, running,
 * held) behind it through the status index, and the full rows of the runs it has not counted yet
 * (new ones, and open ones that finished). The first scrape after a start reads every run once (in
 * chunks); later ones read a handful of rows. The watermark lags by WATERMARK_LAG_MS so that a run
 * whose INSERT committed after a later one's (PostgreSQL hands ids out before commit) is still seen.
 */
import type { DataSource } from 'typeorm';
import { Domain, SyncRun } from '../db/entities';
import { ACTIONS, ENTITY_KINDS, type Action, type EntityKind } from '../sync/types';

/** Statuses a run can still leave; every other status is final. */
export const OPEN_STATUSES = ['queued', 'running', 'held'] as const;
/** Outcomes whose changes were applied: their rows count, and they are a success. */
export const COMMITTED_STATUSES = ['succeeded', 'completed_with_errors'] as const;
/** Upper bounds (seconds) of the run-duration histogram's buckets; +Inf is implied. */
export const DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
export const WATERMARK_LAG_MS = 10 * 60_000;
const CHUNK = 1000;

export type Severity = 'error' | 'warning' | 'info';

interface DomainTotals {
  /** finished runs by status */
  runs: Map<string, number>;
  /** rows applied, [entity][action] */
  rows: Record<EntityKind, Record<Action, number>>;
  /** non-cumulative counts per DURATION_BUCKETS_S bucket, +Inf last */
  durationBuckets: number[];
  durationSumS: number;
  durationCount: number;
  issues: Record<Severity, number>;
  /** upload bytes of finished runs by source */
  uploadBytes: Map<string, number>;
  lastSuccessMs: number | null;
}

interface OpenRun { domainId: number; status: string; source: string; sizeBytes: number }

/** What one scrape shows, for the domains the asker may see. */
export interface MetricsSnapshot {
  /** per domain (userspace) and status: every run in the database */
  runs: Array<{ domain: string; status: string; count: number }>;
  lastSuccess: Array<{ domain: string; seconds: number }>;
  queued: number;
  running: number;
  held: number;
  duration: { buckets: Array<{ le: number; count: number }>; sumS: number; count: number };
  rows: Array<{ entity: EntityKind; action: Action; count: number }>;
  issues: Array<{ severity: Severity; count: number }>;
  uploadBytes: Array<{ source: string; bytes: number }>;
  /** seconds the database part of this scrape took */
  refreshSeconds: number;
}

function emptyTotals(): DomainTotals {
  const rows = {} as DomainTotals['rows'];
  for (const e of ENTITY_KINDS) rows[e] = { created: 0, updated: 0, unchanged: 0, removed: 0, restored: 0 };
  return {
    runs: new Map(), rows, durationBuckets: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0), durationSumS: 0, durationCount: 0,
    issues: { error: 0, warning: 0, info: 0 }, uploadBytes: new Map(), lastSuccessMs: null,
  };
}

/** Dates as the drivers return them: Date (PostgreSQL) or 'YYYY-MM-DD HH:MM:SS.sss' in UTC (SQLite). */
function timeMs(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  const s = String(v);
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? null : ms;
}

export class RunMetrics {
  /** every run with id <= watermark has been seen: counted if final, in openBehind if not */
  private watermark = 0;
  /** final runs above the watermark already counted */
  private readonly counted = new Set<number>();
  /** runs behind the watermark still open at the last scrape: counted when they finish */
  private openBehind = new Set<number>();
  private readonly byDomain = new Map<number, DomainTotals>();
  private open: OpenRun[] = [];
  private domains = new Map<number, string>();
  private refreshing: Promise<number> | null = null;

  constructor(private readonly ds: DataSource, private readonly now: () => number = Date.now) {}

  /** The figures for the domains in `visible` (userspaces; null = all), fresh from the database. */
  async snapshot(visible: readonly string[] | null): Promise<MetricsSnapshot> {
    const refreshSeconds = await this.refresh();
    const shown = new Set(visible ?? this.domains.values());
    const ids = [...this.domains].filter(([, us]) => shown.has(us)).map(([id]) => id);
    const idSet = new Set(ids);
    const sum = emptyTotals();
    const runs: MetricsSnapshot['runs'] = [];
    const lastSuccess: MetricsSnapshot['lastSuccess'] = [];
    const openByDomain = new Map<number, Map<string, number>>();
    let queued = 0, running = 0, held = 0;
    for (const r of this.open) {
      if (!idSet.has(r.domainId)) continue;
      const m = openByDomain.get(r.domainId) ?? new Map<string, number>();
      m.set(r.status, (m.get(r.status) ?? 0) + 1);
      openByDomain.set(r.domainId, m);
      if (r.status === 'queued') queued++; else if (r.status === 'running') running++; else if (r.status === 'held') held++;
      if (r.sizeBytes) sum.uploadBytes.set(r.source, (sum.uploadBytes.get(r.source) ?? 0) + r.sizeBytes);
    }
    for (const id of ids.sort((a, b) => (this.domains.get(a) as string).localeCompare(this.domains.get(b) as string))) {
      const domain = this.domains.get(id) as string;
      const t = this.byDomain.get(id);
      const statuses = new Map(t?.runs ?? []);
      for (const [s, n] of openByDomain.get(id) ?? []) statuses.set(s, (statuses.get(s) ?? 0) + n);
      for (const [status, count] of [...statuses].sort(([a], [b]) => a.localeCompare(b))) runs.push({ domain, status, count });
      if (!t) continue;
      if (t.lastSuccessMs !== null) lastSuccess.push({ domain, seconds: t.lastSuccessMs / 1000 });
      for (const e of ENTITY_KINDS) for (const a of ACTIONS) sum.rows[e][a] += t.rows[e][a];
      t.durationBuckets.forEach((n, i) => { sum.durationBuckets[i] += n; });
      sum.durationSumS += t.durationSumS;
      sum.durationCount += t.durationCount;
      for (const s of ['error', 'warning', 'info'] as const) sum.issues[s] += t.issues[s];
      for (const [src, b] of t.uploadBytes) sum.uploadBytes.set(src, (sum.uploadBytes.get(src) ?? 0) + b);
    }
    let cumulative = 0;
    const buckets = DURATION_BUCKETS_S.map((le, i) => ({ le, count: (cumulative += sum.durationBuckets[i]) }));
    return {
      runs, lastSuccess, queued, running, held,
      duration: { buckets, sumS: sum.durationSumS, count: sum.durationCount },
      rows: ENTITY_KINDS.flatMap((entity) => ACTIONS.map((action) => ({ entity, action, count: sum.rows[entity][action] }))),
      issues: (['error', 'warning', 'info'] as const).map((severity) => ({ severity, count: sum.issues[severity] })),
      uploadBytes: [...sum.uploadBytes].sort(([a], [b]) => a.localeCompare(b)).map(([source, bytes]) => ({ source, bytes })),
      refreshSeconds,
    };
  }

  /** One refresh at a time: concurrent scrapes share it. Resolves to the seconds it took. */
  private refresh(): Promise<number> {
    if (!this.refreshing) {
      this.refreshing = this.read().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  private async read(): Promise<number> {
    const started = process.hrtime.bigint();
    const domainRows: Array<{ id: number | string; userspace: string }> = await this.ds.getRepository(Domain).createQueryBuilder('d')
      .select('d.id', 'id').addSelect('d.userspace', 'userspace').getRawMany();
    this.domains = new Map(domainRows.map((d) => [Number(d.id), d.userspace]));
    // a deleted domain's runs went with it (ON DELETE CASCADE): so do its totals
    for (const id of this.byDomain.keys()) if (!this.domains.has(id)) this.byDomain.delete(id);

    type Row = { id: number | string; status: string; domainId: number | string; source: string; sizeBytes: number | string | null; createdAt?: unknown };
    const runs = () => this.ds.getRepository(SyncRun).createQueryBuilder('r')
      .select('r.id', 'id').addSelect('r.status', 'status').addSelect('r.domain_id', 'domainId').addSelect('r.source', 'source')
      .addSelect('r.size_bytes', 'sizeBytes');
    // the recent runs (all of them on the first scrape), and the open ones behind the watermark (status index)
    const above: Row[] = await runs().addSelect('r.created_at', 'createdAt').where('r.id > :w', { w: this.watermark }).orderBy('r.id', 'ASC').getRawMany();
    const behind: Row[] = await runs().where('r.id <= :w', { w: this.watermark }).andWhere('r.status IN (:...open)', { open: [...OPEN_STATUSES] }).getRawMany();
    const open = new Set<string>(OPEN_STATUSES);
    const fresh = new Set<number>();
    const nowOpen = new Set<number>();
    this.open = [];
    for (const r of [...behind, ...above]) {
      const id = Number(r.id);
      if (open.has(r.status)) {
        nowOpen.add(id);
        this.open.push({ domainId: Number(r.domainId), status: r.status, source: r.source, sizeBytes: Number(r.sizeBytes ?? 0) });
      } else if (id > this.watermark && !this.counted.has(id)) fresh.add(id);
    }
    // open runs behind the watermark that finished since the last scrape
    for (const id of this.openBehind) if (!nowOpen.has(id)) fresh.add(id);
    const ids = [...fresh];
    for (let i = 0; i < ids.length; i += CHUNK) await this.count(ids.slice(i, i + CHUNK));

    // move the watermark over the runs created long enough ago that no earlier id can still appear;
    // the open ones it passes are followed through the status index (`behind`) until they finish
    const settled = this.now() - WATERMARK_LAG_MS;
    let w = this.watermark;
    for (const r of above) {
      const created = timeMs(r.createdAt);
      if (created === null || created > settled) break;
      w = Number(r.id);
    }
    this.watermark = w;
    for (const id of this.counted) if (id <= w) this.counted.delete(id);
    this.openBehind = new Set([...nowOpen].filter((id) => id <= w));
    return Number(process.hrtime.bigint() - started) / 1e9;
  }

  /** Adds finished runs to their domain's totals, once each. */
  private async count(ids: number[]): Promise<void> {
    const rows: Array<{
      id: number | string; domainId: number | string; status: string; mode: string; source: string; counts: string | null;
      durationMs: number | string | null; sizeBytes: number | string | null; finishedAt: unknown;
      errors: number | string; warnings: number | string; infos: number | string;
    }> = await this.ds.getRepository(SyncRun).createQueryBuilder('r')
      .select('r.id', 'id').addSelect('r.domain_id', 'domainId').addSelect('r.status', 'status').addSelect('r.mode', 'mode')
      .addSelect('r.source', 'source').addSelect('r.counts', 'counts').addSelect('r.duration_ms', 'durationMs')
      .addSelect('r.size_bytes', 'sizeBytes').addSelect('r.finished_at', 'finishedAt')
      .addSelect('r.error_count', 'errors').addSelect('r.warning_count', 'warnings').addSelect('r.info_count', 'infos')
      .where('r.id IN (:...ids)', { ids }).getRawMany();
    const committed = new Set<string>(COMMITTED_STATUSES);
    for (const r of rows) {
      const id = Number(r.id);
      if (this.counted.has(id) || (OPEN_STATUSES as readonly string[]).includes(r.status)) continue; // moved on since the first read
      this.counted.add(id);
      const domainId = Number(r.domainId);
      const t = this.byDomain.get(domainId) ?? emptyTotals();
      this.byDomain.set(domainId, t);
      t.runs.set(r.status, (t.runs.get(r.status) ?? 0) + 1);
      if (r.sizeBytes !== null) t.uploadBytes.set(r.source, (t.uploadBytes.get(r.source) ?? 0) + Number(r.sizeBytes));
      t.issues.error += Number(r.errors);
      t.issues.warning += Number(r.warnings);
      t.issues.info += Number(r.infos);
      if (r.durationMs !== null) {
        const s = Number(r.durationMs) / 1000;
        const i = DURATION_BUCKETS_S.findIndex((le) => s <= le);
        t.durationBuckets[i === -1 ? DURATION_BUCKETS_S.length : i]++;
        t.durationSumS += s;
        t.durationCount++;
      }
      if (!committed.has(r.status) || r.mode !== 'apply') continue; // a validation, a refusal or a failure changed nothing
      const finished = timeMs(r.finishedAt);
      if (finished !== null && (t.lastSuccessMs === null || finished > t.lastSuccessMs)) t.lastSuccessMs = finished;
      addCounts(t.rows, r.counts);
    }
  }
}

/** Adds a run's counts JSON; a malformed or partial one adds what it has (a metric never fails a scrape). */
function addCounts(into: DomainTotals['rows'], json: string | null): void {
  if (!json) return;
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { return; }
  if (!parsed || typeof parsed !== 'object') return;
  const counts = parsed as Partial<Record<string, Partial<Record<string, unknown>>>>;
  for (const e of ENTITY_KINDS) {
    const per = counts[e];
    if (!per || typeof per !== 'object') continue;
    for (const a of ACTIONS) {
      const n = per[a];
      if (typeof n === 'number' && Number.isFinite(n)) into[e][a] += n;
    }
  }
}
