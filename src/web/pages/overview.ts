/**
 * `/`: the administrator's domains (home and subdomains; an operator's all, paged), each with its
 * last run, what is queued or running now (`/live/overview`, kept fresh by live.js) and the held
 * runs that wait for a decision.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Domain, SyncRun } from '../../db/entities';
import { ACTIVE_STATES, lastFinishedRuns, viewerRunsInStates } from '../../services/runs';
import { visibleDomains, type Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { html, type Html } from '../html';
import { page } from '../layout';
import { countsOf, countsSummary, issuesSummary, statusBadge, when } from './format';

/** Domains per overview page: an operator with hundreds of domains pages through them. */
export const DOMAINS_PER_PAGE = 50;
/** At most this many queued/running and held runs are listed (the rest are counted). */
const RUNS_LISTED = 50;

export function registerOverview(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Querystring: { page?: string } }>('/', async (req, reply) => {
    const principal = req.principal as Principal;
    const all = await visibleDomains(ctx.ds, principal);
    const pages = Math.max(1, Math.ceil(all.length / DOMAINS_PER_PAGE));
    const at = Math.min(Math.max(Number.parseInt(req.query.page ?? '1', 10) || 1, 1), pages);
    const shown = all.slice((at - 1) * DOMAINS_PER_PAGE, at * DOMAINS_PER_PAGE);
    const last = await lastFinishedRuns(ctx.ds, shown.map((d) => d.id));
    const held = await viewerRunsInStates(ctx.ds, principal, ['held'], RUNS_LISTED + 1);
    const body = html`
${await activeRuns(ctx, req)}
<section class="card" id="held-runs"><h2>Held runs waiting for a decision</h2>
${held.runs.length ? runList(held.runs.slice(0, RUNS_LISTED), held.domains, held.runs.length > RUNS_LISTED) : html`<p class="muted">None.</p>`}</section>
<h2>Domains</h2>
${all.length > DOMAINS_PER_PAGE ? html`<p class="muted">${all.length} domains; page ${at} of ${pages}.</p>` : ''}
<div class="grid domains">${shown.map((d) => domainCard(d, last.get(d.id)))}</div>
${pages > 1 ? html`<nav class="pager" aria-label="Domain pages">${at > 1 ? html`<a href="/?page=${at - 1}" rel="prev">Previous domains</a>` : ''}
${at < pages ? html`<a href="/?page=${at + 1}" rel="next">Next domains</a>` : ''}</nav>` : ''}`;
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Overview', principal, csrf: req.webSession?.csrfToken }, body));
  });

  app.get('/live/overview', async (req, reply) => reply.type('text/html; charset=utf-8').send((await activeRuns(ctx, req)).text));
}

/** Queued and running runs: always live (new uploads keep arriving), so it never turns final. */
async function activeRuns(ctx: WebContext, req: FastifyRequest): Promise<Html> {
  const { runs, domains } = await viewerRunsInStates(ctx.ds, req.principal as Principal, ACTIVE_STATES, RUNS_LISTED + 1);
  return html`<section class="card live" id="active-runs" data-live-src="/live/overview" aria-live="polite"><h2>Queued and running</h2>
${runs.length ? runList(runs.slice(0, RUNS_LISTED), domains, runs.length > RUNS_LISTED) : html`<p class="muted">Nothing is queued or running.</p>`}</section>`;
}

function runList(runs: SyncRun[], domains: Map<number, Domain>, more: boolean): Html {
  return html`<ul class="runs">${runs.map((r) => html`<li>${statusBadge(r.status)} <a href="/runs/${r.id}">Run #${r.id}</a>
  ${domains.get(r.domainId)?.name ?? ''}: ${r.fileName} <span class="muted">${r.status === 'running' ? html`started ${when(r.startedAt)}` : html`since ${when(r.createdAt)}`}</span></li>`)}</ul>
${more ? html`<p class="muted">More are waiting; the list shows the oldest ${runs.length}.</p>` : ''}`;
}

function domainCard(d: Domain, last: SyncRun | undefined): Html {
  const href = `/domains/${encodeURIComponent(d.userspace)}`;
  return html`<section class="card domain"><h3><a href="${href}">${d.name}</a> <span class="muted">${d.userspace}</span></h3>
${last ? html`<p>Last run: ${statusBadge(last.status)} <a href="/runs/${last.id}">#${last.id}</a> ${when(last.finishedAt ?? last.createdAt)}</p>
<p class="muted">${last.fileName}: ${countsSummary(countsOf(last))}; ${issuesSummary(last)}.</p>` : html`<p class="muted">No sync yet.</p>`}
<p><a href="${href}">Upload and history</a> · <a href="${href}/settings">Settings</a></p></section>`;
}
