/**
 * `/tokens`: the signed-in administrator's API tokens. Creating one shows it once, on the page the
 * POST answers (never in a redirect URL, which browsers keep in their history; every answer is
 * Cache-Control: no-store). Revoking posts `revoke=<id>` to the same path; another user's token is
 * not found. Only the administrator's own tokens are listed, operators included.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createToken, listTokens, MAX_TOKEN_NAME, revokeToken, TokenInputError, type TokenSummary } from '../../services/tokens';
import type { Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { html, type Html } from '../html';
import { notice, page } from '../layout';
import { notFound } from '../server';

interface TokensBody { name?: string; revoke?: string }

export function registerTokens(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Querystring: { revoked?: string } }>('/tokens', async (req, reply) => {
    const revoked = /^\d{1,15}$/.test(req.query.revoked ?? '') ? `Token ${req.query.revoked} was revoked: the API refuses it from now on.` : null;
    return tokensPage(ctx, req, reply, 200, notice('ok', revoked));
  });

  app.post<{ Body: TokensBody }>('/tokens', async (req, reply) => {
    const principal = req.principal as Principal;
    const body = req.body ?? {};
    if (body.revoke !== undefined) {
      const done = await revokeToken(ctx.ds, principal.userId, body.revoke);
      if (!done) return notFound(req, reply);
      ctx.logger.info('api token revoked', { login: principal.login, tokenId: done.id });
      return reply.redirect(`/tokens?revoked=${done.id}`, 303);
    }
    try {
      const { token, summary } = await createToken(ctx.ds, principal.userId, body.name ?? '');
      ctx.logger.info('api token created', { login: principal.login, tokenId: summary.id, prefix: summary.prefix });
      // shown in this answer only (not a redirect: the token must not land in a URL)
      return tokensPage(ctx, req, reply, 201, html`<div class="notice ok" role="status">
<p>Token "${summary.name}" was created. Copy it now: it is shown only this once, and only its hash is kept.</p>
<p><label for="new-token">New API token</label><input id="new-token" class="token" readonly value="${token}"></p>
<p class="hint">Use it as <code>Authorization: Bearer &lt;token&gt;</code> against <code>/api/v1</code> (see <a href="/api/v1/openapi.json">openapi.json</a>).</p></div>`);
    } catch (err) {
      if (err instanceof TokenInputError) return tokensPage(ctx, req, reply, 400, notice('error', `Token name: ${err.message}.`), body.name);
      throw err;
    }
  });
}

async function tokensPage(ctx: WebContext, req: FastifyRequest, reply: FastifyReply, status: number, top: Html, name = ''): Promise<FastifyReply> {
  const principal = req.principal as Principal;
  const csrf = req.webSession?.csrfToken ?? '';
  const tokens = await listTokens(ctx.ds, principal.userId);
  return reply.code(status).type('text/html; charset=utf-8').send(page({ title: 'API tokens', principal, csrf }, html`${top}
<p class="hint">Tokens let scripts use the JSON API as ${principal.login}. Each script should have its own, so one can be revoked alone.</p>
<form method="post" action="/tokens" class="card narrow">
<input type="hidden" name="_csrf" value="${csrf}">
<label for="token-name">Token name</label>
<input id="token-name" name="name" required maxlength="${MAX_TOKEN_NAME}" value="${name}">
<button type="submit">Create token</button>
</form>
<h2>Your tokens</h2>
${tokens.length ? tokenTable(tokens, csrf) : html`<p class="muted">No tokens yet.</p>`}`));
}

function tokenTable(tokens: TokenSummary[], csrf: string): Html {
  return html`<div class="table-wrap"><table class="tokens">
<thead><tr><th>Name</th><th>Prefix</th><th>Created</th><th>Last used</th><th>Status</th><th></th></tr></thead>
<tbody>${tokens.map((t) => html`<tr>
<td>${t.name}</td><td><code>${t.prefix}…</code></td><td>${when(t.createdAt)}</td><td>${t.lastUsedAt ? when(t.lastUsedAt) : 'never'}</td>
<td>${t.revokedAt ? html`revoked ${when(t.revokedAt)}` : 'live'}</td>
<td>${t.revokedAt ? '' : html`<form method="post" action="/tokens" class="inline"><input type="hidden" name="_csrf" value="${csrf}">
<button type="submit" name="revoke" value="${t.id}" class="danger" aria-label="Revoke ${t.name}">Revoke</button></form>`}</td>
</tr>`)}</tbody></table></div>`;
}

function when(d: Date): Html {
  return html`<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;
}
