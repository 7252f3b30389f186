// The page's only script: re-fetch the same URL (so a `?token=` it was opened with comes along), asking for the
// live part only, and swap in each freshly server-rendered element marked data-live (the whole #content, or on a
// big fleet the #summary alone). Kept as a string constant so it ships from src/ under tsx and from dist/.

export const REFRESH_SCRIPT = `
(function () {
  'use strict';
  var refreshMs = Number(document.body.getAttribute('data-refresh-ms')) || 2000;
  var status = document.getElementById('refresh-status');
  var busy = false;
  function show(text, ok) {
    status.textContent = text;
    status.className = ok ? 'refresh ok' : 'refresh error';
  }
  async function refresh() {
    // Leave the page alone while someone is selecting text to copy.
    if (busy || String(window.getSelection()) !== '') return;
    busy = true;
    try {
      var response = await fetch(window.location.href, { headers: { accept: 'text/html', 'x-admin-fragment': '1' }, cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      var parsed = new DOMParser().parseFromString(await response.text(), 'text/html');
      var swapped = 0;
      parsed.querySelectorAll('[data-live]').forEach(function (next) {
        if (next.parentElement && next.parentElement.closest('[data-live]')) return;
        var current = document.getElementById(next.id);
        if (current) {
          current.replaceWith(next);
          swapped += 1;
        }
      });
      if (swapped === 0) throw new Error('unexpected page');
      show('live \\u00b7 updated ' + new Date().toLocaleTimeString(), true);
    } catch (err) {
      show('cannot reach etcd-xds (' + (err && err.message ? err.message : err) + '), retrying', false);
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, refreshMs);
})();
`;
