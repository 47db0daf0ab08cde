/**
 * The one page layout: a header with the signed-in login and sign-out, the page's title and body.
 * No inline script or style (the Content-Security-Policy forbids them): /assets/app.css and
 * /assets/live.js, which only adds live updates on top of pages that work without it.
 */
import { html, type Html } from './html';
import type { Principal } from './auth/principal';

export interface PageOptions {
  title: string;
  principal: Principal | null;
  /** the session's CSRF token, for the sign-out form */
  csrf?: string;
  /** breadcrumbs before the title: [label, href] */
  trail?: Array<[string, string]>;
}

export function page(opts: PageOptions, body: Html): string {
  const nav = opts.principal
    ? html`<nav class="top"><a href="/" class="brand">rosterdrop</a><a href="/tokens">API tokens</a>
      <form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="${opts.csrf ?? ''}">
      <span class="who">${opts.principal.login}</span> <button type="submit" class="link">Sign out</button></form></nav>`
    : html`<nav class="top"><span class="brand">rosterdrop</span></nav>`;
  const trail = opts.trail?.length
    ? html`<p class="trail">${opts.trail.map(([label, href]) => html`<a href="${href}">${label}</a> / `)}</p>`
    : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · rosterdrop</title><link rel="stylesheet" href="/assets/app.css"><script src="/assets/live.js" defer></script></head>
<body>${nav}<main>${trail}<h1>${opts.title}</h1>
${body}</main></body></html>`.text;
}

/** A message box on a page: what went wrong or what just happened. */
export function notice(kind: 'error' | 'ok', text: string | null | undefined): Html {
  if (!text) return html``;
  return html`<p class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>`;
}
