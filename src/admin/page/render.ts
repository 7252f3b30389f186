// The human page at `/`: rendered on the server from the same views as the JSON API, refreshed by a tiny script.
import { clientsView, type ClientView, type TypeStatusView } from '../clients-view.js';
import { RESOURCE_KINDS, XDS_NAME, type ResourceKind } from '../resource-types.js';
import { servicesView, type InstanceView, type ServiceView } from '../services-view.js';
import type { AdminState } from '../state.js';
import { resourceExistsIn, subscribersOf } from '../subscriptions.js';
import { html, raw, type SafeHtml } from './html.js';
import { REFRESH_SCRIPT } from './refresh-script.js';
import { PAGE_STYLE } from './style.js';

export interface PageOptions {
  /** CSP nonce for the inline style and script. */
  nonce: string;
  refreshMs: number;
  /** Links to the JSON endpoints work only without a token (a browser cannot add the header to a link). */
  linkJson: boolean;
  now?: number;
}

function ago(iso: string | null, now: number): string {
  if (!iso) return '—';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

function locality(value: { region?: string; zone?: string; subZone?: string } | null): string {
  const parts = [value?.region, value?.zone, value?.subZone].filter((p): p is string => !!p);
  return parts.length > 0 ? parts.join(' / ') : '—';
}

function pill(text: string, tone: string, title?: string): SafeHtml {
  return html`<span class="pill ${tone.toLowerCase()}" title="${title ?? ''}">${text}</span>`;
}

function stat(label: string, value: string | number, tone = ''): SafeHtml {
  return html`<div class="stat ${tone}"><span class="value">${value}</span><span class="label">${label}</span></div>`;
}

function probeCell(instance: InstanceView, now: number): SafeHtml {
  const probe = instance.probe;
  if (!probe) return html`<span class="meta">${instance.healthCheck ? 'pending' : '—'}</span>`;
  const verdict = probe.verdict ?? 'unknown';
  const tone = verdict === 'healthy' ? 'healthy' : verdict === 'unhealthy' ? 'unhealthy' : 'none';
  const latency = probe.lastLatencyMs !== null ? ` · ${probe.lastLatencyMs} ms` : '';
  return html`${pill(probe.type, tone, probe.target)} <span class="meta">${verdict}${latency} · ${ago(probe.lastProbeAt, now)}</span>${
    probe.lastError ? html`<div class="probe-error">${probe.lastError}</div>` : ''
  }`;
}

function instanceRow(instance: InstanceView, now: number): SafeHtml {
  const metadata = Object.entries(instance.metadata).map(([k, v]) => html`<span class="kv">${k}=${v}</span>`);
  return html`<tr class="instance" data-instance="${instance.instanceId}">
  <td class="mono">${instance.instanceId}</td>
  <td class="mono address">${instance.address.includes(':') ? `[${instance.address}]` : instance.address}:${instance.port}</td>
  <td>${instance.weight}</td>
  <td>${locality(instance.locality)}${instance.priority !== 0 ? html` <span class="meta">p${instance.priority}</span>` : ''}</td>
  <td class="health">${pill(instance.health, instance.health, instance.healthPublished ? 'as published in EDS' : 'not yet published')}
    <span class="meta">${instance.status !== 'serving' ? instance.status : ''}</span></td>
  <td>${probeCell(instance, now)}</td>
  <td class="mono">${instance.leaseHex ?? '—'}</td>
  <td>${metadata.length > 0 ? metadata : html`<span class="meta">—</span>`}</td>
</tr>`;
}

function serviceCard(service: ServiceView, watchers: Record<ResourceKind, { nodeId: string | null; streamId: string; wildcard: boolean }[]>, now: number): SafeHtml {
  const { counts } = service;
  const byNode = new Map<string, string[]>();
  for (const kind of RESOURCE_KINDS) {
    for (const w of watchers[kind]) {
      const who = w.nodeId ?? `stream ${w.streamId}`;
      byNode.set(who, [...(byNode.get(who) ?? []), XDS_NAME[kind] + (w.wildcard ? '*' : '')]);
    }
  }
  const summary = [
    `${counts.instances} instance${counts.instances === 1 ? '' : 's'}`,
    `${counts.healthy} healthy`,
    counts.draining ? `${counts.draining} draining` : '',
    counts.unhealthy ? `${counts.unhealthy} unhealthy` : '',
    `${service.subscribers} subscriber${service.subscribers === 1 ? '' : 's'}`,
  ].filter(Boolean);
  const versions = RESOURCE_KINDS.map((k) => `${XDS_NAME[k]} ${service.versions[k]?.slice(0, 8) ?? '—'}`).join(' · ');
  return html`<section class="card service" data-service="${service.name}">
  <div class="card-head"><h3>${service.name}</h3><span class="meta">${summary.join(' · ')}</span>
    <span class="meta mono" title="resource versions in the served snapshot">${versions}</span></div>
  ${
    service.instances.length > 0
      ? html`<table><thead><tr><th>Instance</th><th>Address</th><th>Weight</th><th>Locality</th><th>Health</th>
      <th>Probe</th><th>Lease</th><th>Metadata</th></tr></thead>
      <tbody>${service.instances.map((i) => instanceRow(i, now))}</tbody></table>`
      : service.versions.endpoint
        ? html`<div class="empty">No valid instance: its endpoint assignment is published empty until the service is garbage-collected.</div>`
        : html`<div class="empty">No valid instance: nothing is published for this service.</div>`
  }
  ${
    service.rejected.length > 0
      ? html`<div class="rejected"><div class="rejected-title">Rejected registrations</div>${service.rejected.map(
          (r) => html`<div class="rejected-row"><span class="mono">${r.key}</span> — <span class="reason">${r.reason}</span>${
            r.keepsLastGood ? html` <span class="meta">(last good value keeps serving)</span>` : ''
          }</div>`,
        )}</div>`
      : ''
  }
  <div class="subscribers">Watched by: ${
    byNode.size > 0
      ? [...byNode.entries()].map(([node, kinds], i) => html`${i > 0 ? ', ' : ''}<span class="node">${node}</span> (${kinds.join(', ')})`)
      : 'no proxy yet'
  }</div>
</section>`;
}

function typeCell(info: TypeStatusView | undefined): SafeHtml {
  if (!info) return html`<span class="meta">—</span>`;
  const detail = [
    info.wildcard ? 'wildcard' : `${info.subscribed.length} named`,
    info.lastSent?.version ? `sent ${info.lastSent.version}` : 'nothing sent',
    info.lastAcked ? `acked ${info.lastAcked.version}` : 'no ACK yet',
  ].join(' · ');
  const label = info.status === 'STALE' && info.staleForMs !== null ? `STALE ${Math.round(info.staleForMs / 1000)}s` : info.status;
  return pill(label.replace('_', ' '), info.status, detail);
}

function lastNackCell(client: ClientView, now: number): SafeHtml {
  const nacks = RESOURCE_KINDS.flatMap((kind) => {
    const info = client.types[kind];
    return info?.lastNack ? [{ kind, info, nack: info.lastNack }] : [];
  });
  if (nacks.length === 0) return html`<span class="meta">—</span>`;
  return html`${nacks.map(({ kind, info, nack }) =>
    info.status === 'NACKED'
      ? html`<div class="nack-error">${XDS_NAME[kind]} ${nack.version}: ${nack.message}</div>`
      : html`<div class="meta">${XDS_NAME[kind]} (fixed since, ${ago(nack.at, now)}): ${nack.message}</div>`,
  )}`;
}

function clientRow(client: ClientView, now: number): SafeHtml {
  const agent = client.node ? `${client.node.userAgentName} ${client.node.userAgentVersion}`.trim() : '';
  return html`<tr class="client" data-stream="${client.streamId}" data-status="${client.status}">
  <td><span class="node">${client.node?.id ?? '(no node)'}</span><div class="meta">${client.node?.cluster ?? ''}</div></td>
  <td class="mono">${client.peer}<div class="meta">${agent}</div></td>
  <td>${client.protocol}/${client.api}<div class="meta">stream ${client.streamId}</div></td>
  <td>${ago(client.connectedAt, now)}</td>
  ${RESOURCE_KINDS.map((kind) => html`<td class="type-${kind}">${typeCell(client.types[kind])}</td>`)}
  <td>${lastNackCell(client, now)}</td>
</tr>`;
}

function jsonLinks(enabled: boolean): SafeHtml {
  if (!enabled) return html`<footer>JSON: query /debug/services, /debug/clients, /debug/snapshot with the admin token.</footer>`;
  const paths = ['/debug/services', '/debug/clients', '/debug/snapshot', '/metrics'];
  return html`<footer>JSON: ${paths.map((p, i) => html`${i > 0 ? ' · ' : ''}<a href="${p}">${p}</a>`)}</footer>`;
}

/** The page's live part (#content): what the refresh script swaps in every few seconds. */
export function renderContent(state: AdminState, options: PageOptions): SafeHtml {
  const now = options.now ?? Date.now();
  const services = servicesView(state);
  const clients = clientsView(state, now);
  const streams = state.streams();
  const exists = resourceExistsIn(state.snapshot());
  const instances = services.services.reduce((n, s) => n + s.counts.instances, 0);
  const rejected = services.services.reduce((n, s) => n + s.counts.rejected, 0);
  const nacked = clients.summary.byStatus.NACKED;
  const watch = services.watch;
  const banner = !services.ready
    ? html`<div class="banner warn">Waiting for the first full etcd sync — not ready yet.</div>`
    : watch.state === 'reconnecting' || watch.state === 'resyncing'
      ? html`<div class="banner warn">etcd watch ${watch.state}: serving the last good snapshot.</div>`
      : '';
  return html`<main id="content">
  ${banner}
  <div class="summary">
    ${stat('ready', services.ready ? 'yes' : 'no', services.ready ? 'good' : 'bad')}
    ${stat('etcd watch', watch.state, watch.state === 'watching' ? 'good' : 'bad')}
    ${stat('revision', services.revision)}
    ${stat('services', services.services.length)}
    ${stat('instances', instances)}
    ${stat('rejected', rejected, rejected > 0 ? 'bad' : '')}
    ${stat('proxies', clients.summary.streams)}
    ${stat('NACKed', nacked, nacked > 0 ? 'bad' : 'good')}
  </div>
  <h2>Services</h2>
  ${
    services.services.length > 0
      ? services.services.map((s) => serviceCard(s, subscribersOf(streams, s.name, exists), now))
      : html`<div class="card"><div class="empty">No service registered under the prefix yet.</div></div>`
  }
  <h2>Proxies</h2>
  <div class="card">${
    clients.clients.length > 0
      ? html`<table class="clients"><thead><tr><th>Node</th><th>Peer</th><th>Protocol</th><th>Connected</th>${RESOURCE_KINDS.map(
          (k) => html`<th>${XDS_NAME[k]}</th>`,
        )}<th>Last NACK</th></tr></thead><tbody>${clients.clients.map((c) => clientRow(c, now))}</tbody></table>`
      : html`<div class="empty">No xDS client connected.</div>`
  }</div>
  ${jsonLinks(options.linkJson)}
</main>`;
}

export function renderAdminPage(state: AdminState, options: PageOptions): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>etcd-xds</title><style nonce="${options.nonce}">${raw(PAGE_STYLE)}</style></head>
<body data-refresh-ms="${options.refreshMs}">
<header><h1>etcd-xds</h1><span class="meta">control plane status</span>
<span id="refresh-status" class="refresh ok">live · refreshes every ${options.refreshMs / 1000}s</span></header>
${renderContent(state, options)}
<script nonce="${options.nonce}">${raw(REFRESH_SCRIPT)}</script>
</body></html>`.value;
}
