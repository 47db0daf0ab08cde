/**
 * GET /metrics in the Prometheus text format (prom-client). The process metrics come from
 * prom-client's default collectors on a registry of this app's own (not the global one: tests build
 * several apps). The rosterdrop_* figures are read from the database at scrape time
 * (src/services/run-metrics.ts) into a registry made for that scrape, because what a scrape shows
 * depends on who asks: an operator (or anyone, with ROSTERDROP_METRICS_PUBLIC=true) sees every
 * domain and the process metrics; a domain administrator only the series of their domains, and
 * totals summed over those domains (the process metrics are the whole daemon's, so not theirs).
 * Access is the API's: a Bearer token, or the session cookie.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DURATION_BUCKETS_S, RunMetrics, type MetricsSnapshot } from '../../services/run-metrics';
import { apiPrincipal } from '../auth/api-principal';
import type { WebContext } from '../context';

export function registerMetrics(app: FastifyInstance, ctx: WebContext): void {
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const runs = new RunMetrics(ctx.ds);

  // public for the preHandler (which would send a page's sign-in redirect): access is checked here
  app.get('/metrics', { config: { public: true } }, async (req, reply) => {
    let visible: readonly string[] | null = null;
    if (!ctx.settings.metricsPublic) {
      const principal = await apiPrincipal(ctx, req);
      if (!principal) {
        return reply.code(401).header('WWW-Authenticate', 'Bearer realm="rosterdrop"')
          .send({ error: 'unauthorized', message: 'a valid API token is required: Authorization: Bearer <token> (or ROSTERDROP_METRICS_PUBLIC=true)' });
      }
      visible = principal.domains;
    }
    const scrape = scrapeRegistry(await runs.snapshot(visible));
    const registry = visible === null ? Registry.merge([processRegistry, scrape]) : scrape;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

/** One scrape's rosterdrop_* metrics. */
export function scrapeRegistry(s: MetricsSnapshot): Registry {
  const registers = [new Registry()];
  const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Gauge<L>({ name, help, labelNames, registers });
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });

  const byStatus = gauge('rosterdrop_runs', 'Runs in the database by domain and status (queued, running and held ones included); a gauge, since a run changes status', ['domain', 'status']);
  for (const r of s.runs) byStatus.set({ domain: r.domain, status: r.status }, r.count);
  gauge('rosterdrop_queue_depth', 'Runs queued, waiting for a sync slot').set(s.queued);
  gauge('rosterdrop_runs_in_progress', 'Runs running now').set(s.running);
  gauge('rosterdrop_runs_held', 'Runs held for review (over the safety threshold, or auto commit off)').set(s.held);
  const last = gauge('rosterdrop_last_success_timestamp_seconds', 'When the domain\'s last applied sync (succeeded or completed_with_errors) finished, Unix seconds', ['domain']);
  for (const l of s.lastSuccess) last.set({ domain: l.domain }, l.seconds);
  new DurationHistogram(registers, s.duration);
  const rows = counter('rosterdrop_rows_total', 'Rows changed by applied syncs (succeeded or completed_with_errors), by entity and action, from the runs in the database', ['entity', 'action']);
  for (const r of s.rows) rows.inc({ entity: r.entity, action: r.action }, r.count);
  const issues = counter('rosterdrop_issues_total', 'Issues found by finished runs, by severity (every issue, also those beyond the per-run cap of stored ones)', ['severity']);
  for (const i of s.issues) issues.inc({ severity: i.severity }, i.count);
  const bytes = counter('rosterdrop_upload_bytes_total', 'Bytes of the uploads behind the runs in the database, by source', ['source']);
  for (const b of s.uploadBytes) bytes.inc({ source: b.source }, b.bytes);
  gauge('rosterdrop_metrics_refresh_seconds', 'How long this scrape\'s database reads took').set(s.refreshSeconds);
  return registers[0];
}

type HistogramValues = Awaited<ReturnType<Histogram<string>['get']>>['values'];

/**
 * rosterdrop_run_duration_seconds, a real Prometheus histogram rebuilt from the database's per-run
 * duration_ms on every scrape (prom-client's Histogram can only observe one value at a time, and a
 * scrape must not replay 100k runs). prom-client's Registry renders a metric through
 * getForPromString() when it has one, get() otherwise: both return the preset buckets.
 */
class DurationHistogram extends Histogram<string> {
  private readonly values: HistogramValues;
  /** an unregistered plain twin: name, help, type and aggregator as prom-client spells them */
  private readonly twin: Histogram<string>;

  constructor(registers: Registry[], d: MetricsSnapshot['duration']) {
    const config = { name: 'rosterdrop_run_duration_seconds', help: 'Duration of finished runs (queue wait excluded)', buckets: DURATION_BUCKETS_S };
    super({ ...config, registers });
    this.twin = new Histogram({ ...config, registers: [] });
    const name = config.name;
    this.values = [
      ...d.buckets.map((b) => ({ metricName: `${name}_bucket`, labels: { le: b.le }, value: b.count })),
      { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: d.count },
      { metricName: `${name}_sum`, labels: {}, value: d.sumS },
      { metricName: `${name}_count`, labels: {}, value: d.count },
    ];
  }

  override async get(): ReturnType<Histogram<string>['get']> {
    return { ...(await this.twin.get()), values: this.values };
  }

  getForPromString(): ReturnType<Histogram<string>['get']> {
    return this.get();
  }
}
