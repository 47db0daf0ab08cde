/**
 * `/domains/{userspace}`: the domain, its subdomains, the upload form (POST streams the zip through
 * the upload service, then 303 to the run), what is queued or running now (a live fragment,
 * `/domains/{userspace}/live`) and the history: paged, filtered by status and source, with a chart
 * of the last finished runs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { In, IsNull, MoreThanOrEqual, Not, type DataSource } from 'typeorm';
import { Domain, SyncRun } from '../../db/entities';
import { ACTIVE_STATES, listDomainRuns } from '../../services/runs';
import { parseMode, storeUpload, UploadRefused } from '../../services/uploads';
import { visibleDomain, type Principal } from '../auth/principal';
import { historyChart, seconds, type ChartPoint } from '../chart';
import type { WebContext } from '../context';
import { html, raw, type Html } from '../html';
import { notice, page } from '../layout';
import { closeAfter, logRefusal, multipartParts } from '../multipart';
import { notFound } from '../server';

export const PAGE_SIZE = 25;
const CHART_RUNS = 50;
export const STATUSES = ['queued', 'running', 'succeeded', 'completed_with_errors', 'validated', 'refused', 'held', 'failed', 'skipped'] as const;
export const SOURCES = ['ftps', 'web', 'api', 'watcher', 'cli'] as const;

interface Params { userspace: string }
interface HistoryQuery { page?: string; status?: string; source?: string }

export function registerDomainPage(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params; Querystring: HistoryQuery }>('/domains/:userspace', async (req, reply) => {
    const domain = await visibleDomain(ctx.ds, req.principal as Principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    return sendPage(ctx, req, reply, domain, 200, null);
  });

  app.post<{ Params: Params; Querystring: HistoryQuery }>('/domains/:userspace', async (req, reply) => {
    const principal = req.principal as Principal;
    const domain = await visibleDomain(ctx.ds, principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    try {
      const run = await storeUpload(ctx, {
        userspace: domain.userspace, login: principal.login, source: 'web',
        parts: multipartParts(req, ctx.maxUploadBytes),
        // a checkbox: present ("on") or absent
        mode: (fields) => (fields.has('validateOnly') ? 'validate' : parseMode(fields.get('mode'))),
      });
      return reply.redirect(`/runs/${run.id}`, 303);
    } catch (err) {
      if (!(err instanceof UploadRefused)) throw err;
      logRefusal(ctx, req, err, domain.userspace);
      closeAfter(reply, err);
      return sendPage(ctx, req, reply, domain, err.status, `Upload refused: ${err.message}`);
    }
  });

  app.get<{ Params: Params; Querystring: { since?: string } }>('/domains/:userspace/live', async (req, reply) => {
    const domain = await visibleDomain(ctx.ds, req.principal as Principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    const since = Number(req.query.since);
    return reply.type('text/html; charset=utf-8').send(
      (await liveFragment(ctx.ds, domain, Number.isSafeInteger(since) && since > 0 ? since : null)).text);
  });
}

async function sendPage(ctx: WebContext, req: FastifyRequest<{ Params: Params; Querystring: HistoryQuery }>, reply: FastifyReply, domain: Domain, status: number, error: string | null): Promise<FastifyReply> {
  const q = req.query;
  const problems: string[] = [];
  const status_ = pick(q.status, STATUSES, 'Status', problems);
  const source = pick(q.source, SOURCES, 'Source', problems);
  const pageNo = q.page === undefined || q.page === '' ? 1 : Number(q.page);
  const pageOk = Number.isSafeInteger(pageNo) && pageNo >= 1;
  if (!pageOk) problems.push(`page "${q.page}" is not a page number (1, 2, …)`);
  const current = pageOk ? pageNo : 1;
  const history = await listDomainRuns(ctx.ds, domain.id, { status: status_, source, offset: (current - 1) * PAGE_SIZE, limit: PAGE_SIZE });
  const subdomains = await ctx.ds.getRepository(Domain).find({ where: { parentId: domain.id }, order: { userspace: 'ASC' } });
  const parent = domain.parentId ? await ctx.ds.getRepository(Domain).findOneBy({ id: domain.parentId }) : null;
  const principal = req.principal as Principal;
  const parentVisible = parent && (principal.domains === null || principal.domains.includes(parent.userspace));
  const csrf = req.webSession?.csrfToken ?? '';
  const pages = Math.max(Math.ceil(history.total / PAGE_SIZE), 1);
  const link = (n: number) => `/domains/${encodeURIComponent(domain.userspace)}?${new URLSearchParams({ ...(status_ ? { status: status_ } : {}), ...(source ? { source } : {}), page: String(n) })}`;
  const trail: Array<[string, string]> = [['Overview', '/']];
  if (parent && parentVisible) trail.push([parent.name, `/domains/${encodeURIComponent(parent.userspace)}`]);
  const body = html`
${notice('error', error)}${problems.length ? notice('error', `Filter ignored: ${problems.join('; ')}`) : ''}
<p class="muted">Domain <code>${domain.userspace}</code> · <a href="/domains/${domain.userspace}/settings">Settings</a></p>
${subdomains.length ? html`<section class="card"><h2>Subdomains</h2><ul class="domains">${subdomains.map((d) => html`<li><a href="/domains/${d.userspace}">${d.name}</a> <span class="muted">${d.userspace}</span></li>`)}</ul></section>` : ''}
<section class="card">
<h2>Upload a roster</h2>
<form method="post" enctype="multipart/form-data" action="/domains/${domain.userspace}?_csrf=${encodeURIComponent(csrf)}">
<label for="upload-file">Roster zip</label>
<input type="file" id="upload-file" name="file" accept=".zip,application/zip" required>
<label class="check" for="upload-validate"><input type="checkbox" id="upload-validate" name="validateOnly" value="on"> Validation only</label>
<p class="hint">A OneRoster 1.1 CSV zip, at most ${bytes(ctx.maxUploadBytes)}. It goes through the same queue as an FTPS upload. Validation only checks and plans the sync and changes nothing.</p>
<button type="submit">Upload</button>
</form>
</section>
${await liveFragment(ctx.ds, domain, null)}
<section class="card">
<h2>History</h2>
${raw(historyChart(await chartPoints(ctx.ds, domain.id)))}
<form method="get" action="/domains/${domain.userspace}" class="filters">
<div><label for="f-status">Status</label><select id="f-status" name="status"><option value="">all</option>${STATUSES.map((s) => html`<option value="${s}"${s === status_ ? raw(' selected') : ''}>${s.replace(/_/g, ' ')}</option>`)}</select></div>
<div><label for="f-source">Source</label><select id="f-source" name="source"><option value="">all</option>${SOURCES.map((s) => html`<option value="${s}"${s === source ? raw(' selected') : ''}>${s}</option>`)}</select></div>
<div><button type="submit">Filter</button></div>
</form>
${runTable(history.runs, 'history')}
<p class="muted">${history.total} run${history.total === 1 ? '' : 's'}${status_ || source ? ' matching the filter' : ''} · page ${current} of ${pages}</p>
<nav class="pager" aria-label="History pages">${current > 1 ? html`<a href="${link(current - 1)}" rel="prev">Newer runs</a>` : ''}${current < pages ? html`<a href="${link(current + 1)}" rel="next">Older runs</a>` : ''}</nav>
</section>`;
  return reply.code(status).type('text/html; charset=utf-8').send(page({ title: domain.name, principal, csrf, trail }, body));
}

/**
 * What is queued or running now. `since`: the first run the page saw live; the fragment keeps
 * showing runs from there on, so a run followed to its end shows its final status, and stops
 * polling (no data-live-src) once none of them is queued or running.
 */
async function liveFragment(ds: DataSource, domain: Domain, since: number | null): Promise<Html> {
  const repo = ds.getRepository(SyncRun);
  const active = await repo.find({ where: { domainId: domain.id, status: In([...ACTIVE_STATES]) }, order: { id: 'ASC' }, take: PAGE_SIZE });
  const from = since ?? active[0]?.id ?? null;
  const shown = from === null ? [] : await repo.find({ where: { domainId: domain.id, id: MoreThanOrEqual(from) }, order: { id: 'ASC' }, take: PAGE_SIZE });
  const live = shown.some((r) => ACTIVE_STATES.includes(r.status));
  const src = live && from !== null ? `/domains/${encodeURIComponent(domain.userspace)}/live?since=${from}` : null;
  return html`<section class="card" id="live"${src ? html` data-live-src="${src}"` : ''} aria-live="polite">
<h2>Now</h2>
${shown.length ? runTable(shown, 'live') : ''}
<p class="muted">${live ? 'Updating while a run is queued or running.' : html`Nothing queued or running.${shown.length ? html` <a href="/domains/${domain.userspace}">Reload</a> to see these runs in the history.` : ''}`}</p>
</section>`;
}

function runTable(runs: readonly SyncRun[], kind: 'history' | 'live'): Html {
  if (!runs.length) return html`<p>No runs${kind === 'history' ? ' to show' : ''}.</p>`;
  return html`<div class="table-wrap"><table class="runs ${kind}">
<thead><tr><th scope="col">Run</th><th scope="col">When</th><th scope="col">File</th><th scope="col">Source</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Changes</th></tr></thead>
<tbody>${runs.map((r) => html`<tr data-run="${r.id}" data-status="${r.status}"><td><a href="/runs/${r.id}">#${r.id}</a></td><td><time datetime="${r.createdAt.toISOString()}">${when(r.createdAt)}</time></td><td>${r.fileName}${r.mode === 'validate' ? html` <span class="muted">(validation only)</span>` : ''}${r.forced ? html` <span class="muted">(forced)</span>` : ''}</td><td>${r.source}${r.uploadedBy ? html` <span class="muted">${r.uploadedBy}</span>` : ''}</td><td><span class="status ${r.status}">${r.status.replace(/_/g, ' ')}</span></td><td>${r.durationMs === null ? '' : seconds(r.durationMs)}</td><td>${r.counts ? changesOf(r) : ''}</td></tr>`)}</tbody>
</table></div>`;
}

async function chartPoints(ds: DataSource, domainId: number): Promise<ChartPoint[]> {
  const runs = await ds.getRepository(SyncRun).find({ where: { domainId, finishedAt: Not(IsNull()) }, order: { id: 'DESC' }, take: CHART_RUNS });
  return runs.reverse().map((r) => ({ runId: r.id, at: r.finishedAt as Date, durationMs: r.durationMs ?? 0, changes: changesOf(r), status: r.status }));
}

/** created + updated + removed + restored over every entity (unchanged rows are no change) */
export function changesOf(run: Pick<SyncRun, 'counts'>): number {
  if (!run.counts) return 0;
  let n = 0;
  try {
    const counts = JSON.parse(run.counts) as Record<string, Record<string, number>>;
    for (const byAction of Object.values(counts)) {
      for (const [action, count] of Object.entries(byAction)) if (action !== 'unchanged' && typeof count === 'number') n += count;
    }
  } catch {
    return 0;
  }
  return n;
}

function pick<T extends string>(value: string | undefined, allowed: readonly T[], label: string, problems: string[]): T | undefined {
  if (value === undefined || value === '') return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`${label} "${value}" is not one of ${allowed.join(', ')}`);
  return undefined;
}

function when(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${Math.round((n / (1 << 30)) * 10) / 10} GiB`;
  if (n >= 1 << 20) return `${Math.round((n / (1 << 20)) * 10) / 10} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}
