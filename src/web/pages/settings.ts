/**
 * `/domains/{userspace}/settings`: every sync setting with its label, description and an input for
 * its kind; saving goes through the settings service (all-or-nothing, audited), and the page shows
 * the last changes: who, when, through what, from what to what.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Domain } from '../../db/entities';
import { SETTING_LABELS } from '../../services/setting-labels';
import { changeSettings, formatSettingValue, formatStoredValue, readSettings, settingsHistory, SettingsValidationError, type SettingView } from '../../services/settings';
import { isSettingKey, SETTING_KINDS, type SyncSettings } from '../../sync/settings';
import { visibleDomain, type Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { html, type Html } from '../html';
import { notice, page } from '../layout';
import { notFound } from '../server';
import { when } from './format';

interface Params { userspace: string }
type FormBody = Record<string, string | undefined>;

export function registerSettingsPage(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params; Querystring: { saved?: string } }>('/domains/:userspace/settings', async (req, reply) => {
    const domain = await visibleDomain(ctx.ds, req.principal as Principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    const saved = Number(req.query.saved);
    const message = req.query.saved === undefined ? null
      : saved > 0 ? `Saved: ${saved} setting${saved === 1 ? '' : 's'} changed.` : 'Saved: nothing had changed.';
    return render(ctx, req, reply, domain, { message });
  });

  app.post<{ Params: Params; Body: FormBody }>('/domains/:userspace/settings', async (req, reply) => {
    const principal = req.principal as Principal;
    const domain = await visibleDomain(ctx.ds, principal, req.params.userspace);
    if (!domain) return notFound(req, reply);
    const typed = formValues(req.body ?? {});
    try {
      const result = await changeSettings(ctx.ds, domain.id, typed, principal.login, 'web');
      ctx.logger.info('settings changed', { domain: domain.userspace, login: principal.login, via: 'web', settings: result.changed });
      return reply.redirect(`/domains/${encodeURIComponent(domain.userspace)}/settings?saved=${result.changed.length}`, 303);
    } catch (err) {
      if (!(err instanceof SettingsValidationError)) throw err;
      const errors = new Map(err.errors.map((e) => [e.field, e.message]));
      return render(ctx, req, reply.code(422), domain, { typed, errors });
    }
  });
}

/**
 * The form as a patch of every setting (text as typed). A checkbox that is not ticked sends
 * nothing, so each boolean reads as false unless its box came back.
 */
function formValues(body: FormBody): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(SETTING_KINDS) as Array<keyof SyncSettings>) {
    if (SETTING_KINDS[key].kind === 'boolean') out[key] = body[key] === 'true' ? 'true' : 'false';
    else if (typeof body[key] === 'string') out[key] = body[key] as string;
  }
  return out;
}

interface RenderState { message?: string | null; typed?: Record<string, string>; errors?: Map<string, string> }

async function render(ctx: WebContext, req: FastifyRequest, reply: FastifyReply, domain: Domain, state: RenderState): Promise<FastifyReply> {
  const { definitions } = await readSettings(ctx.ds, domain.id);
  const history = await settingsHistory(ctx.ds, domain.id, 50);
  const errors = state.errors ?? new Map<string, string>();
  const path = `/domains/${encodeURIComponent(domain.userspace)}/settings`;
  const body = html`
${notice('ok', state.message)}
${errors.size ? notice('error', `Nothing was saved: ${errors.size === 1 ? 'one setting needs' : `${errors.size} settings need`} fixing.`) : ''}
<form method="post" action="${path}" class="card settings" novalidate>
  <input type="hidden" name="_csrf" value="${req.webSession?.csrfToken ?? ''}">
  ${definitions.map((d) => field(d, state.typed?.[d.key], errors.get(d.key)))}
  <button type="submit">Save</button>
</form>
<h2>Change history</h2>
${history.length === 0 ? html`<p class="muted">No setting has been changed yet.</p>` : html`<div class="table-wrap"><table class="history">
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Via</th><th scope="col">Setting</th><th scope="col">Change</th></tr></thead>
<tbody>${history.map((c) => html`<tr><td>${when(c.changedAt)}</td><td>${c.changedBy}</td><td>${c.via}</td>
<td>${isSettingKey(c.setting) ? SETTING_LABELS[c.setting] : c.setting}</td><td>${formatStoredValue(c.oldValue)} → ${formatStoredValue(c.newValue)}</td></tr>`)}</tbody>
</table></div>`}`;
  return reply.type('text/html; charset=utf-8').send(page({
    title: `Settings of ${domain.name}`, principal: req.principal, csrf: req.webSession?.csrfToken,
    trail: [['Overview', '/'], [domain.name, `/domains/${encodeURIComponent(domain.userspace)}`]],
  }, body));
}

/** One setting: label, description, the input its kind needs, and its error next to it. */
function field(d: SettingView, typed: string | undefined, error: string | undefined): Html {
  const id = `s-${d.key}`;
  const help = `${id}-help`;
  const err = error ? html`<p class="field-error" id="${id}-error" role="alert">${error}</p>` : '';
  const described = error ? `${help} ${id}-error` : help;
  const text = typed ?? (d.kind.kind === 'emails' ? (d.value as string[]).join(', ') : formatSettingValue(d.value));
  const desc = html`<p class="hint" id="${help}">${d.description}</p>`;
  const invalid = error ? html` aria-invalid="true"` : '';
  const k = d.kind;
  let input: Html;
  switch (k.kind) {
    case 'boolean': {
      const checked = typed !== undefined ? typed === 'true' : d.value === true;
      return html`<div class="setting${error ? ' has-error' : ''}"><div class="check"><input type="checkbox" id="${id}" name="${d.key}" value="true" ${checked ? 'checked' : ''} aria-describedby="${described}"${invalid}>
  <label for="${id}">${d.label}</label></div>${desc}${err}</div>`;
    }
    case 'enum':
      input = html`<select id="${id}" name="${d.key}" aria-describedby="${described}"${invalid}>${k.values.map((v) => html`<option value="${v}" ${v === text ? 'selected' : ''}>${v}</option>`)}
  ${k.values.includes(text) ? '' : html`<option value="${text}" selected>${text}</option>`}</select>`;
      break;
    case 'integer':
      input = html`<input type="number" id="${id}" name="${d.key}" value="${text}" min="${k.min}" max="${k.max}" step="1" inputmode="numeric" aria-describedby="${described}"${invalid}>`;
      break;
    case 'emails':
      input = html`<textarea id="${id}" name="${d.key}" rows="2" aria-describedby="${described}"${invalid}>${text}</textarea>`;
      break;
    case 'timeZone':
      input = html`<input id="${id}" name="${d.key}" value="${text}" list="time-zones" autocomplete="off" aria-describedby="${described}"${invalid}>${timeZoneList()}`;
      break;
    default:
      input = html`<input id="${id}" name="${d.key}" value="${text}" maxlength="${k.maxLength}" aria-describedby="${described}"${invalid}>`;
  }
  return html`<div class="setting${error ? ' has-error' : ''}"><label for="${id}">${d.label}</label>${input}${desc}${err}</div>`;
}

let zones: Html | null = null;
/** Suggestions for the time zone input (any IANA zone the validation accepts may still be typed). */
function timeZoneList(): Html {
  zones ??= html`<datalist id="time-zones">${['UTC', ...Intl.supportedValuesOf('timeZone')].map((z) => html`<option value="${z}"></option>`)}</datalist>`;
  return zones;
}
