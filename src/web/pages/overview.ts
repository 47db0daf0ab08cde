/** `/`: the administrator's domains. (Skeleton: the full overview comes with the domain pages.) */
import type { FastifyInstance } from 'fastify';
import { visibleDomains, type Principal } from '../auth/principal';
import type { WebContext } from '../context';
import { html } from '../html';
import { page } from '../layout';

export function registerOverview(app: FastifyInstance, ctx: WebContext): void {
  app.get('/', async (req, reply) => {
    const principal = req.principal as Principal;
    const domains = await visibleDomains(ctx.ds, principal);
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Overview', principal, csrf: req.webSession?.csrfToken }, html`
<ul class="domains">${domains.map((d) => html`<li><a href="/domains/${d.userspace}">${d.name}</a> <span class="muted">${d.userspace}</span></li>`)}</ul>`));
  });
}
