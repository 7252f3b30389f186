// The page's only script: re-fetch the same URL (so a `?token=` it was opened with comes along), asking for the
// live part only, and swap in the freshly server-rendered #content. Kept as a string constant so it ships from src/ under tsx and from dist/.

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
      var next = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById('content');
      var current = document.getElementById('content');
      if (!next || !current) throw new Error('unexpected page');
      current.replaceWith(next);
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
