// The proxies table of the human pages: one row per stream, a sync status per type, the last NACK.
import type { ClientView, TypeStatusView } from '../clients-view.js';
import { RESOURCE_KINDS, XDS_NAME } from '../resource-types.js';
import { ago, clip, pill, plural } from './cells.js';
import { html, type SafeHtml } from './html.js';

function typeCell(info: TypeStatusView | undefined): SafeHtml {
  if (!info) return html`<span class="meta">—</span>`;
  const detail = [
    info.wildcard ? 'wildcard' : `${info.subscribedCount} named`,
    info.missingCount > 0 ? `waiting for ${info.missingCount} not served: ${info.missing.join(', ')}` : '',
    info.lastSent?.version ? `sent ${info.lastSent.version}` : 'nothing sent',
    info.lastAcked ? `acked ${info.lastAcked.version}` : 'no ACK yet',
  ]
    .filter(Boolean)
    .join(' · ');
  const label =
    info.status === 'STALE' && info.staleForMs !== null
      ? `STALE ${Math.round(info.staleForMs / 1000)}s`
      : info.status === 'NOT_FOUND'
        ? 'WAITING (NOT_FOUND)'
        : info.status.replace('_', ' ');
  return pill(label, info.status, detail);
}

function lastNackCell(client: ClientView, now: number): SafeHtml {
  const nacks = RESOURCE_KINDS.flatMap((kind) => {
    const info = client.types[kind];
    return info?.lastNack ? [{ kind, info, nack: info.lastNack }] : [];
  });
  if (nacks.length === 0) return html`<span class="meta">—</span>`;
  return html`${nacks.map(({ kind, info, nack }) =>
    info.status === 'NACKED'
      ? html`<div class="nack-error">${XDS_NAME[kind]} ${nack.version}: ${clip(nack.message, 400)}</div>`
      : html`<div class="meta">${XDS_NAME[kind]} (fixed since, ${ago(nack.at, now)}): ${clip(nack.message, 200)}</div>`,
  )}`;
}

/** The view a stream receives, in a few words: `proxyless view`, `envoy :10000 · every service`, `envoy :10000 · gateway edge`. */
function viewLabel(view: ClientView['view']): SafeHtml {
  if (!view) return html``;
  if (view.kind === 'grpc') return html`<div class="meta">proxyless view</div>`;
  const parts = [`envoy :${view.port}`];
  if (view.gateway !== null) parts.push(`gateway ${view.gateway}`);
  if (view.dependsOnCount !== null) parts.push(`depends on ${view.dependsOnCount === 1 ? view.dependsOn![0] : plural(view.dependsOnCount, 'service')}`);
  else if (view.gateway === null) parts.push('every service');
  return html`<div class="meta view">${clip(parts.join(' · '), 80)}</div>`;
}

function clientRow(client: ClientView, now: number): SafeHtml {
  const agent = client.node ? `${client.node.userAgentName} ${client.node.userAgentVersion}`.trim() : '';
  return html`<tr class="client" data-stream="${client.streamId}" data-status="${client.status}">
  <td><span class="node">${clip(client.node?.id ?? '(no node)')}</span><div class="meta">${clip(client.node?.cluster ?? '')}</div></td>
  <td class="mono">${clip(client.peer)}<div class="meta">${clip(agent, 40)}</div></td>
  <td>${client.protocol}/${client.api}<div class="meta">stream ${client.streamId}</div>${viewLabel(client.view)}</td>
  <td>${ago(client.connectedAt, now)}</td>
  ${RESOURCE_KINDS.map((kind) => html`<td class="type-${kind}">${typeCell(client.types[kind])}</td>`)}
  <td>${lastNackCell(client, now)}</td>
</tr>`;
}

export function clientsTable(clients: readonly ClientView[], now: number): SafeHtml {
  if (clients.length === 0) return html`<div class="empty">No xDS client connected.</div>`;
  return html`<table class="clients"><thead><tr><th>Node</th><th>Peer</th><th>Protocol</th><th>Connected</th>${RESOURCE_KINDS.map(
    (k) => html`<th>${XDS_NAME[k]}</th>`,
  )}<th>Last NACK</th></tr></thead><tbody>${clients.map((c) => clientRow(c, now))}</tbody></table>`;
}
