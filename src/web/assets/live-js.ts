/**
 * The pages' only script: live parts. An element with `data-live-src` is replaced, every
 * `data-live-every` ms (default 2000), by the HTML fragment that URL returns; a fragment without
 * `data-live-src` is final and polling stops. Pages are complete without it (JavaScript off: reload).
 * Kept as a string so the build needs no asset copying.
 */
export const LIVE_JS = String.raw`(function () {
  'use strict';
  function follow(el) {
    var src = el.getAttribute('data-live-src');
    if (!src) return;
    var every = parseInt(el.getAttribute('data-live-every') || '2000', 10);
    setTimeout(function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(src, { credentials: 'same-origin', headers: { Accept: 'text/html' } }).then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        return res.text();
      }).then(function (text) {
        var t = document.createElement('template');
        t.innerHTML = text.trim();
        var next = t.content.firstElementChild;
        if (!next) return;
        el.replaceWith(next);
        document.dispatchEvent(new CustomEvent('rosterdrop:live', { detail: { id: next.id } }));
        follow(next);
      }).catch(function () { setTimeout(tick, every * 2); });
    }, every);
  }
  function start() {
    var els = document.querySelectorAll('[data-live-src]');
    for (var i = 0; i < els.length; i++) follow(els[i]);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
`;
