/**
 * The held part of `/runs/{id}`: why the run is held, when it expires, the paged list of what it
 * would remove or deactivate, and the "Approve" / "Discard" forms (posted to the run page's own
 * path, see run.ts); for a decided run, who decided and when.
 */
import type { SyncRun } from '../../db/entities';
import { countHeldRemovals, listHeldRemovals } from '../../services/held-runs';
import type { WebContext } from '../context';
import { REMOVAL_ENTITIES, type HeldAction } from '../held-decision';
import { html, type Html } from '../html';
import { notice } from '../layout';
import { when } from './format';

export const REMOVALS_PER_PAGE = 50;

export interface RemovalQuery { entity?: string; rpage?: string }

/** The notice after the redirect of a decision (`?decided=`). */
export function decidedNotice(decided: string | undefined): Html {
  if (decided === 'approved') return notice('ok', 'Approved: the run is queued again and will be applied past the safety threshold. This page follows it to its end.');
  if (decided === 'discarded') return notice('ok', 'Discarded: nothing was changed, and the upload was deleted.');
  return html``;
}

/** The notice when the run is no longer held (someone else decided, it expired, …): HTTP 409. */
export function notHeldNotice(run: SyncRun, action: HeldAction, reason: string): Html {
  // still held but its upload is gone (kept nowhere): the service's sentence says what to do
  if (run.status === 'held') return notice('error', `Nothing was done: ${reason}.`);
  const what = run.status === 'discarded' ? 'discarded' : run.approved ? 'approved' : 'decided';
  const by = run.decidedBy ? `; ${what} by ${run.decidedBy}` : '';
  return notice('error', `Nothing was done: the run is no longer held for review (it is ${run.status.replace(/_/g, ' ')}${by}), so it cannot be ${action === 'approve' ? 'approved' : 'discarded'} any more.`);
}

/** Who decided on a held run and when, for the run's facts; null when nobody did. */
export function decisionText(run: SyncRun): Html | null {
  if (run.status === 'expired') return html`expired ${when(run.decidedAt)}: nobody approved it in time`;
  if (!run.decidedBy && !run.decidedAt) return null;
  const what = run.status === 'discarded' ? 'discarded' : run.approved ? 'approved' : 'decided';
  return html`${what} by ${run.decidedBy ?? 'unknown'} ${when(run.decidedAt)}`;
}

/** The box of a held run: the reason, the expiry, the removals (paged and filtered) and the buttons. */
export async function heldBox(ctx: WebContext, run: SyncRun, q: RemovalQuery, csrf: string): Promise<Html> {
  const badEntity = q.entity && !(REMOVAL_ENTITIES as readonly string[]).includes(q.entity) ? q.entity : null;
  const entity = q.entity && !badEntity ? q.entity : undefined;
  const [all, page] = await Promise.all([
    entity ? countHeldRemovals(ctx.ds, run.id) : null,
    pageOf(ctx, run, entity, Number.parseInt(q.rpage ?? '1', 10) || 1),
  ]);
  const total = all ?? page.total;
  const expires = run.finishedAt ? new Date(run.finishedAt.getTime() + ctx.heldDays * 86_400_000) : null;
  const link = (p: number) => {
    const params = new URLSearchParams();
    if (entity) params.set('entity', entity);
    if (p > 1) params.set('rpage', String(p));
    const s = params.toString();
    return `/runs/${run.id}${s ? `?${s}` : ''}#removals`;
  };
  const form = (action: HeldAction, label: string, cls: string) => html`<form method="post" action="/runs/${run.id}" class="inline">
  <input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="action" value="${action}">
  <button type="submit" class="${cls}">${label}</button></form>`;
  return html`<section class="card held-box" id="held" aria-labelledby="held-title">
<h2 id="held-title">Held for review: nothing was changed yet</h2>
<p>${run.message || 'The sync waits for a decision.'}</p>
<p>Approving applies this same file as this run, past the safety threshold (the changes below, including every removal
  and deactivation listed). Discarding ends it and deletes the upload. ${expires
    ? html`Unless someone decides, it expires ${when(expires)} (after ${ctx.heldDays} day${ctx.heldDays === 1 ? '' : 's'}).`
    : ''}</p>
<div class="decide">${form('approve', 'Approve', '')} ${form('discard', 'Discard', 'danger')}</div>
</section>
<h2 id="removals">Removals and deactivations</h2>
${notice('error', badEntity ? `Unknown entity "${badEntity}" (one of ${REMOVAL_ENTITIES.join(', ')}): showing every entity.` : null)}
<p>Approving would remove or deactivate ${total} record${total === 1 ? '' : 's'}.</p>
<form method="get" action="/runs/${run.id}#removals" class="filters card">
  <div><label for="f-entity">Entity</label><select id="f-entity" name="entity"><option value="">(any)</option>
  ${REMOVAL_ENTITIES.map((e) => html`<option value="${e}" ${e === entity ? 'selected' : ''}>${e}</option>`)}</select></div>
  <div><button type="submit">Show</button> ${entity ? html`<a href="/runs/${run.id}#removals">Clear</a>` : ''}</div>
</form>
${page.total === 0
    ? html`<p class="muted">${entity ? `No ${entity} would be removed.` : 'The run lists no removal.'}</p>`
    : html`<p class="muted" id="removals-count">${page.total} ${entity ?? 'record'}${entity || page.total === 1 ? '' : 's'}; page ${page.page} of ${page.pages}.</p>
<div class="table-wrap"><table class="removals">
<thead><tr><th scope="col">Entity</th><th scope="col">External ID</th><th scope="col">Name</th></tr></thead>
<tbody>${page.rows.map((r) => html`<tr><td>${r.entity}</td><td><code>${r.externalId}</code></td><td>${r.name}</td></tr>`)}</tbody>
</table></div>
<nav class="pager" aria-label="Removal pages">${page.page > 1 ? html`<a href="${link(page.page - 1)}" rel="prev">Previous removals</a>` : ''}
${page.page < page.pages ? html`<a href="${link(page.page + 1)}" rel="next">Next removals</a>` : ''}</nav>`}`;
}

async function pageOf(ctx: WebContext, run: SyncRun, entity: string | undefined, wanted: number) {
  const first = await listHeldRemovals(ctx.ds, run.id, { offset: (Math.max(wanted, 1) - 1) * REMOVALS_PER_PAGE, limit: REMOVALS_PER_PAGE, entity });
  const pages = Math.max(1, Math.ceil(first.total / REMOVALS_PER_PAGE));
  if (wanted <= pages) return { ...first, page: Math.max(wanted, 1), pages };
  // past the end (the list is shorter than the link said): the last page
  const last = await listHeldRemovals(ctx.ds, run.id, { offset: (pages - 1) * REMOVALS_PER_PAGE, limit: REMOVALS_PER_PAGE, entity });
  return { ...last, page: pages, pages };
}
