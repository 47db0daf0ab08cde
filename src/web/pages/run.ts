/**
 * `/runs/{id}`: one run — status, source, file, timings, counts per entity and action, and its
 * issues in a table filtered and paged in SQL, with the issues CSV streamed from the database.
 * While the run is queued or running, `/runs/{id}/live` is the part the page keeps fresh. A held
 * run shows its removals and the "Approve" / "Discard" forms (held.ts), which post to `/runs/{id}`.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Domain, SyncRun } from '../../db/entities';
import { issuesCsvStream } from '../../report/issues-csv';
import { issueFacets, issuePage, issuesInBatches, isSeverity, SEVERITIES, type IssueFilter } from '../../services/run-issues';
import { HeldRunError } from '../../services/held-runs';
import { queuedBefore, runForViewer } from '../../services/runs';
import { ACTIONS, ENTITY_KINDS } from '../../sync/types';
import type { Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { html, type Html } from '../html';
import { notice, page } from '../layout';
import { notFound } from '../server';
import { decideHeldRun, isHeldAction } from '../held-decision';
import { decidedNotice, decisionText, heldBox, notHeldNotice, type RemovalQuery } from './held';
import { countsOf, duration, issuesSummary, statusBadge, timingsOf, when } from './format';

interface RunParams { id: string }
interface IssueQuery { severity?: string; file?: string; code?: string; page?: string }
interface RunQuery extends IssueQuery, RemovalQuery { decided?: string }

const ACTIVE = new Set(['queued', 'running']);

export function registerRunPage(app: FastifyInstance, ctx: WebContext): void {
  const load = async (req: FastifyRequest<{ Params: RunParams }>) =>
    /^\d{1,12}$/.test(req.params.id) ? runForViewer(ctx.ds, req.principal as Principal, Number(req.params.id)) : null;

  app.get<{ Params: RunParams; Querystring: RunQuery }>('/runs/:id', async (req, reply) => {
    const found = await load(req);
    if (!found) return notFound(req, reply);
    return runPage(ctx, req, reply, found, req.query, decidedNotice(req.query.decided));
  });

  // "Approve" / "Discard" of a held run post here (the page's own path), then redirect (PRG)
  app.post<{ Params: RunParams; Body: { action?: string } }>('/runs/:id', async (req, reply) => {
    const found = await load(req);
    if (!found) return notFound(req, reply);
    const action = req.body?.action;
    if (!isHeldAction(action)) {
      return runPage(ctx, req, reply, found, {}, notice('error', `Unknown action "${action ?? ''}": the form sends approve or discard.`), 400);
    }
    try {
      await decideHeldRun(ctx, found.run, action, (req.principal as Principal).login);
    } catch (err) {
      if (!(err instanceof HeldRunError)) throw err;
      if (err.reason === 'unknown') return notFound(req, reply);
      // decided by someone else meanwhile, expired, …: the page as it is now, saying so
      const now = await load(req);
      if (!now) return notFound(req, reply);
      return runPage(ctx, req, reply, now, {}, notHeldNotice(now.run, action, err.message), 409);
    }
    return reply.redirect(`/runs/${found.run.id}?decided=${action === 'approve' ? 'approved' : 'discarded'}`, 303);
  });

  app.get<{ Params: RunParams }>('/runs/:id/live', async (req, reply) => {
    const found = await load(req);
    if (!found) return notFound(req, reply);
    return reply.type('text/html; charset=utf-8').send((await liveStatus(ctx, found.run)).text);
  });

  app.get<{ Params: RunParams; Querystring: IssueQuery }>('/runs/:id/issues.csv', async (req, reply) => {
    const found = await load(req);
    if (!found) return notFound(req, reply);
    const q = req.query;
    const filter: IssueFilter = { severity: isSeverity(q.severity) ? q.severity : undefined, file: q.file || undefined, code: q.code || undefined };
    reply.type('text/csv; charset=utf-8').header('Content-Disposition', `attachment; filename="run-${found.run.id}-issues.csv"`);
    // read from the database a batch at a time as the client takes it: 10,000 issues never sit in memory at once
    return reply.send(Readable.from(issuesCsvStream(issuesInBatches(ctx.ds, found.run.id, filter))));
  });
}

async function runPage(ctx: WebContext, req: FastifyRequest, reply: FastifyReply, found: { run: SyncRun; domain: Domain }, q: RunQuery,
  top: Html, status = 200): Promise<FastifyReply> {
  const { run, domain } = found;
  const badSeverity = q.severity && !isSeverity(q.severity) ? q.severity : null;
  const filter: IssueFilter = { severity: isSeverity(q.severity) ? q.severity : undefined, file: q.file || undefined, code: q.code || undefined };
  const body = html`${top}
${ACTIVE.has(run.status) ? await liveStatus(ctx, run) : html``}
${run.status === 'held' ? await heldBox(ctx, run, q, req.webSession?.csrfToken ?? '') : html``}
${details(run, domain)}
${countsTable(run)}
${await issuesSection(ctx, run, filter, Number(q.page ?? 1), badSeverity)}`;
  return htmlPage(reply.code(status), req, `Run #${run.id}`, domain, body);
}

function htmlPage(reply: FastifyReply, req: FastifyRequest, title: string, domain: Domain, body: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(page({
    title, principal: req.principal, csrf: req.webSession?.csrfToken,
    trail: [['Overview', '/'], [domain.name, `/domains/${encodeURIComponent(domain.userspace)}`]],
  }, body));
}

/** The part that follows a queued or running run; without data-live-src once it has ended (final). */
async function liveStatus(ctx: WebContext, run: SyncRun): Promise<Html> {
  const active = ACTIVE.has(run.status);
  const src = active ? `/runs/${run.id}/live` : null;
  let state: Html;
  if (run.status === 'queued') {
    const ahead = await queuedBefore(ctx.ds, run);
    state = html`<p>Waiting in the queue since ${when(run.createdAt)}${ahead ? html`: ${ahead} run${ahead === 1 ? '' : 's'} ahead of it` : html`: next in line`}.</p>`;
  } else if (run.status === 'running') {
    const elapsed = run.startedAt ? Date.now() - run.startedAt.getTime() : null;
    state = html`<p>Running since ${when(run.startedAt)} (${duration(elapsed)} so far${run.attempts > 1 ? html`, attempt ${run.attempts}` : ''}).</p>`;
  } else {
    state = html`<p>The run ended ${when(run.finishedAt)}${run.message ? html`: ${run.message}` : ''}. ${issuesSummary(run)}.
      <a href="/runs/${run.id}">Reload the page</a> for its counts and issues.</p>`;
  }
  return html`<section id="run-live" class="card live" ${src ? html`data-live-src="${src}"` : ''} aria-live="polite">
  <p class="run-status">Status: ${statusBadge(run.status)}</p>${state}</section>`;
}

function details(run: SyncRun, domain: Domain): Html {
  const timings = Object.entries(timingsOf(run));
  const decision = decisionText(run);
  const mode = run.mode === 'validate' ? 'validation only' : run.forced ? 'apply, forced past the safety threshold' : 'apply';
  return html`<section class="card"><dl class="facts">
  <dt>Status</dt><dd>${statusBadge(run.status)}</dd>
  <dt>Domain</dt><dd><a href="/domains/${encodeURIComponent(domain.userspace)}">${domain.name}</a> <span class="muted">${domain.userspace}</span></dd>
  <dt>Source</dt><dd>${run.source}</dd>
  <dt>File</dt><dd>${run.fileName}${run.sizeBytes !== null ? html` <span class="muted">(${run.sizeBytes.toLocaleString('en')} bytes)</span>` : ''}</dd>
  <dt>Uploaded by</dt><dd>${run.uploadedBy ?? html`<span class="muted">unknown</span>`}</dd>
  <dt>Mode</dt><dd>${mode}</dd>
  <dt>Message</dt><dd>${run.message || html`<span class="muted">–</span>`}</dd>
  ${decision ? html`<dt>Decision</dt><dd id="run-decision">${decision}</dd>` : ''}
  <dt>Queued</dt><dd>${when(run.createdAt)}</dd>
  <dt>Started</dt><dd>${when(run.startedAt)}</dd>
  <dt>Finished</dt><dd>${when(run.finishedAt)}</dd>
  <dt>Duration</dt><dd>${duration(run.durationMs)}${timings.length ? html` <span class="muted">(${timings.map(([phase, ms], i) => html`${i ? ', ' : ''}${phase} ${duration(ms)}`)})</span>` : ''}</dd>
  <dt>Issues</dt><dd>${issuesSummary(run)}</dd>
</dl></section>`;
}

function countsTable(run: SyncRun): Html {
  const counts = countsOf(run);
  if (!counts) return html`<h2>Changes</h2><p class="muted">No counts yet${ACTIVE.has(run.status) ? ': the run has not ended' : ''}.</p>`;
  return html`<h2>Changes</h2><div class="table-wrap"><table class="counts">
<thead><tr><th scope="col">Entity</th>${ACTIONS.map((a) => html`<th scope="col" class="num">${a}</th>`)}</tr></thead>
<tbody>${ENTITY_KINDS.map((kind) => html`<tr><th scope="row">${kind}</th>${ACTIONS.map((a) => html`<td class="num">${counts[kind]?.[a] ?? 0}</td>`)}</tr>`)}</tbody>
</table></div>`;
}

async function issuesSection(ctx: WebContext, run: SyncRun, filter: IssueFilter, pageNo: number, badSeverity: string | null): Promise<Html> {
  const [result, facets] = await Promise.all([issuePage(ctx.ds, run.id, filter, pageNo), issueFacets(ctx.ds, run.id)]);
  const kept = run.errorCount + run.warningCount + run.infoCount;
  const query = (p: number) => {
    const params = new URLSearchParams();
    if (filter.severity) params.set('severity', filter.severity);
    if (filter.file) params.set('file', filter.file);
    if (filter.code) params.set('code', filter.code);
    if (p > 1) params.set('page', String(p));
    const s = params.toString();
    return `/runs/${run.id}${s ? `?${s}` : ''}#issues`;
  };
  const select = (name: string, label: string, values: readonly string[], current: string | undefined) => html`
  <div><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}"><option value="">(any)</option>
  ${values.map((v) => html`<option value="${v}" ${v === current ? 'selected' : ''}>${v}</option>`)}</select></div>`;
  const filtered = !!(filter.severity || filter.file || filter.code);
  return html`<h2 id="issues">Issues</h2>
${notice('error', badSeverity ? `Unknown severity "${badSeverity}" (one of ${SEVERITIES.join(', ')}): showing every severity.` : null)}
<p>${issuesSummary(run)}${kept > result.total && !filtered ? html` <span class="muted">(the run kept ${result.total} of them)</span>` : ''}.
  <a href="/runs/${run.id}/issues.csv" download>Download the issues CSV</a></p>
<form method="get" action="/runs/${run.id}#issues" class="filters card">
  ${select('severity', 'Severity', SEVERITIES, filter.severity)}
  ${select('file', 'File', facets.files, filter.file)}
  ${select('code', 'Code', facets.codes, filter.code)}
  <div><button type="submit">Filter</button> ${filtered ? html`<a href="/runs/${run.id}#issues">Clear</a>` : ''}</div>
</form>
${result.total === 0
    ? html`<p class="muted">${filtered ? 'No issue matches these filters.' : 'This run has no issues.'}</p>`
    : html`<p class="muted" id="issues-count">${result.total} issue${result.total === 1 ? '' : 's'}${filtered ? ' match' : ''}; page ${result.page} of ${result.pages}.</p>
<div class="table-wrap"><table class="issues">
<thead><tr><th scope="col">Severity</th><th scope="col">Where</th><th scope="col">Code</th><th scope="col">sourcedId</th><th scope="col">Message</th></tr></thead>
<tbody>${result.issues.map((i) => html`<tr class="sev-${i.severity}"><td>${statusBadge(i.severity)}</td>
<td>${i.file ? html`<code>${[i.file, i.line, i.column].filter((x) => x !== null && x !== undefined && x !== '').join(':')}</code>` : html`<span class="muted">–</span>`}</td>
<td><code>${i.code}</code></td><td>${i.sourcedId ?? ''}</td><td>${i.message}</td></tr>`)}</tbody>
</table></div>
<nav class="pager" aria-label="Issue pages">${result.page > 1 ? html`<a href="${query(result.page - 1)}" rel="prev">Previous page</a>` : ''}
${result.page < result.pages ? html`<a href="${query(result.page + 1)}" rel="next">Next page</a>` : ''}</nav>`}`;
}
