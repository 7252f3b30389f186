// The human pages, rendered on the server from the same views as the JSON API: `/` (fleet summary, a searchable
// page of services, the configuration, the first proxies), `/services/<name>` (one service), `/clients` (every
// proxy, by page) and `/config` (every configuration key, by page).
import type { ClientsResponse } from '../clients-view.js';
import type { ConfigOverview, ConfigResponse } from '../config-view.js';
import { formatHostPort } from '../../net/host-port.js';
import { RESOURCE_KINDS, XDS_NAME, type ResourceKind } from '../resource-types.js';
import type { InstanceView, ServicesResponse, ServiceView } from '../services-view.js';
import type { SubscriberView } from '../subscriptions.js';
import type { SummaryResponse } from '../summary-view.js';
import { ago, clip, locality, pageHref, pill, plural, stat } from './cells.js';
import { clientsTable } from './clients-table.js';
import { configPageBody, configSection } from './config-section.js';
import { html, raw, type SafeHtml } from './html.js';
import { REFRESH_SCRIPT } from './refresh-script.js';
import { PAGE_STYLE } from './style.js';

export interface PageContext {
  /** CSP nonce for the inline style and script. */
  nonce: string;
  /** 0: the page does not refresh itself. */
  refreshMs: number;
  /** Links to the JSON endpoints work only without a token (a browser cannot add the header to a link). */
  linkJson: boolean;
  /** The `?token=` the page was opened with, carried by its links. */
  token?: string;
  now: number;
}

/** Instances shown inline on `/` when the services of the page have at most this many together. */
export const INLINE_INSTANCES = 200;
/** Nodes named in a service's "Watched by" line before "and N more". */
const WATCHERS_SHOWN = 20;

function probeCell(instance: InstanceView, now: number): SafeHtml {
  const probe = instance.probe;
  if (!probe) return html`<span class="meta">${instance.healthCheck ? 'pending' : '—'}</span>`;
  const verdict = probe.verdict ?? 'unknown';
  const tone = verdict === 'healthy' ? 'healthy' : verdict === 'unhealthy' ? 'unhealthy' : 'none';
  const latency = probe.lastLatencyMs !== null ? ` · ${probe.lastLatencyMs} ms` : '';
  // The verdict is what EDS publishes; the last result says how the latest probe went (they differ until a threshold).
  const last = probe.lastResult === 'fail' ? `last probe failed (${probe.consecutiveFailures}×)` : probe.lastResult === 'ok' ? 'last probe ok' : 'no probe yet';
  return html`${pill(probe.type, tone, probe.target)} <span class="meta">${verdict} · ${last}${latency} · ${ago(probe.lastProbeAt, now)}</span>${
    probe.lastError && probe.lastResult === 'fail' ? html`<div class="probe-error">${clip(probe.lastError, 200)}</div>` : ''
  }`;
}

function instanceRow(instance: InstanceView, now: number): SafeHtml {
  const metadata = Object.entries(instance.metadata).map(([k, v]) => html`<span class="kv">${clip(`${k}=${v}`, 80)}</span>`);
  return html`<tr class="instance" data-instance="${instance.instanceId}">
  <td class="mono">${clip(instance.instanceId)}</td>
  <td class="mono address">${clip(formatHostPort(instance.address, instance.port))}</td>
  <td>${instance.weight}</td>
  <td>${clip(locality(instance.locality))}${instance.priority !== 0 ? html` <span class="meta">p${instance.priority}</span>` : ''}</td>
  <td class="health">${pill(instance.health, instance.health, instance.healthPublished ? 'as published in EDS' : 'not yet published')}
    <span class="meta">${instance.status !== 'serving' ? instance.status : ''}</span></td>
  <td>${probeCell(instance, now)}</td>
  <td class="mono">${instance.leaseHex ?? '—'}</td>
  <td>${metadata.length > 0 ? metadata : html`<span class="meta">—</span>`}</td>
</tr>`;
}

function instancesTable(instances: readonly InstanceView[], service: ServiceView, now: number): SafeHtml {
  if (instances.length > 0) {
    return html`<table><thead><tr><th>Instance</th><th>Address</th><th>Weight</th><th>Locality</th><th>Health</th>
      <th>Probe</th><th>Lease</th><th>Metadata</th></tr></thead>
      <tbody>${instances.map((i) => instanceRow(i, now))}</tbody></table>`;
  }
  return service.versions.endpoint
    ? html`<div class="empty">No valid instance: its endpoint assignment is published empty until the service is garbage-collected.</div>`
    : html`<div class="empty">No valid instance: nothing is published for this service.</div>`;
}

function rejectedBlock(service: ServiceView): SafeHtml | string {
  if (service.rejected.length === 0) return '';
  return html`<div class="rejected"><div class="rejected-title">Rejected registrations</div>${service.rejected.map(
    (r) => html`<div class="rejected-row"><span class="mono">${clip(r.key, 120)}</span> — <span class="reason">${r.reason}</span>${
      r.keepsLastGood ? html` <span class="meta">(last good value keeps serving)</span>` : ''
    }</div>`,
  )}</div>`;
}

function watchersLine(watchers: Record<ResourceKind, SubscriberView[]>): SafeHtml {
  const byNode = new Map<string, string[]>();
  for (const kind of RESOURCE_KINDS) {
    for (const w of watchers[kind]) {
      const who = w.nodeId ?? `stream ${w.streamId}`;
      byNode.set(who, [...(byNode.get(who) ?? []), XDS_NAME[kind] + (w.wildcard ? '*' : '')]);
    }
  }
  if (byNode.size === 0) return html`<div class="subscribers">Watched by: no proxy yet</div>`;
  const shown = [...byNode.entries()].slice(0, WATCHERS_SHOWN);
  const more = byNode.size - shown.length;
  return html`<div class="subscribers">Watched by: ${shown.map(
    ([node, kinds], i) => html`${i > 0 ? ', ' : ''}<span class="node">${clip(node)}</span> (${kinds.join(', ')})`,
  )}${more > 0 ? ` and ${more} more` : ''}</div>`;
}

function cardHead(service: ServiceView, context: PageContext, linked: boolean): SafeHtml {
  const { counts } = service;
  const summary = [
    plural(counts.instances, 'instance'),
    `${counts.healthy} healthy`,
    counts.draining ? `${counts.draining} draining` : '',
    counts.unhealthy ? `${counts.unhealthy} unhealthy` : '',
    counts.rejected ? `${counts.rejected} rejected` : '',
    plural(service.subscribers, 'subscriber'),
  ].filter(Boolean);
  const versions = RESOURCE_KINDS.map((k) => `${XDS_NAME[k]} ${service.versions[k]?.slice(0, 8) ?? '—'}`).join(' · ');
  const title = linked ? html`<a href="${pageHref(`/services/${encodeURIComponent(service.name)}`, {}, context.token)}">${clip(service.name, 80)}</a>` : clip(service.name, 80);
  return html`<div class="card-head"><h3>${title}</h3><span class="meta">${summary.join(' · ')}</span>
    <span class="meta mono" title="resource versions in the served snapshot">${versions}</span></div>`;
}

/** A service on `/`: its instances inline when the page is small, otherwise its counts and a link. */
export function serviceCard(
  service: ServiceView,
  watchers: Record<ResourceKind, SubscriberView[]> | undefined,
  context: PageContext,
): SafeHtml {
  return html`<section class="card service" data-service="${service.name}">
  ${cardHead(service, context, true)}
  ${watchers ? instancesTable(service.instances, service, context.now) : ''}
  ${rejectedBlock(service)}
  ${watchers ? watchersLine(watchers) : ''}
</section>`;
}

export function summaryBlock(summary: SummaryResponse, context: PageContext): SafeHtml {
  const { watch, services, instances, streams } = summary;
  const banner = !summary.ready
    ? html`<div class="banner warn">Waiting for the first full etcd sync — not ready yet.</div>`
    : watch.state === 'reconnecting' || watch.state === 'resyncing'
      ? html`<div class="banner warn">etcd watch ${watch.state}: serving the last good snapshot.</div>`
      : '';
  const waiting = streams.byStatus.NOT_FOUND;
  return html`<div id="summary" data-live="1">${banner}<div class="summary">
    ${stat('ready', summary.ready ? 'yes' : 'no', summary.ready ? 'good' : 'bad')}
    ${stat('etcd watch', watch.state, watch.state === 'watching' ? 'good' : 'bad')}
    ${stat('revision', summary.revision)}
    ${stat('services', services.total)}
    ${stat('live · empty · rejected only', `${services.live} · ${services.empty} · ${services['rejected-only']}`)}
    ${stat('instances', instances.total)}
    ${stat('unhealthy', instances.unhealthy, instances.unhealthy > 0 ? 'bad' : '')}
    ${stat('draining', instances.draining)}
    ${stat('rejected', summary.rejected, summary.rejected > 0 ? 'bad' : '')}
    ${stat('config rejected', summary.config.rejected, summary.config.rejected > 0 ? 'bad' : '')}
    ${stat('proxies', streams.total)}
    ${stat('NACKed', streams.byStatus.NACKED, streams.byStatus.NACKED > 0 ? 'bad' : 'good')}
    ${stat('stale', streams.byStatus.STALE, streams.byStatus.STALE > 0 ? 'bad' : '')}
    ${stat('waiting (not found)', waiting, waiting > 0 ? 'bad' : '')}
  </div><div class="meta">updated ${new Date(context.now).toISOString()}</div></div>`;
}

function jsonLinks(enabled: boolean): SafeHtml {
  if (!enabled) return html`<footer>JSON: query /debug/summary, /debug/services, /debug/clients, /debug/config, /debug/snapshot with the admin token.</footer>`;
  const paths = ['/debug/summary', '/debug/services', '/debug/clients', '/debug/config', '/debug/snapshot', '/metrics'];
  return html`<footer>JSON: ${paths.map((p, i) => html`${i > 0 ? ' · ' : ''}<a href="${p}">${p}</a>`)}</footer>`;
}

export interface HomeInput {
  summary: SummaryResponse;
  services: ServicesResponse;
  /** Per service of the page, its watchers, when the page shows instances inline. */
  watchers: Map<string, Record<ResourceKind, SubscriberView[]>> | undefined;
  q: string | undefined;
  /** The `?limit=` asked for, carried by the next-page link. */
  limit: string | undefined;
  clients: ClientsResponse;
  config: ConfigOverview;
}

export function renderHomeContent(input: HomeInput, context: PageContext): SafeHtml {
  const { services, clients, q, limit } = input;
  const shown = services.services.length;
  const next = services.nextCursor
    ? html`<a class="next" href="${pageHref('/', { q, limit, cursor: services.nextCursor }, context.token)}">next ${shown} →</a>`
    : '';
  const moreClients = clients.nextCursor
    ? html`<div class="more"><a href="${pageHref('/clients', { cursor: clients.nextCursor }, context.token)}">all ${clients.summary.streams} proxies →</a></div>`
    : '';
  return html`<main id="content" data-live="1">
  ${summaryBlock(input.summary, context)}
  <h2>Services</h2>
  <form class="search" method="get" action="/">
    <input type="search" name="q" value="${q ?? ''}" placeholder="filter by name" aria-label="filter services by name">
    ${context.token !== undefined ? html`<input type="hidden" name="token" value="${context.token}">` : ''}
    <button type="submit">Search</button>
    <span class="meta">${services.total} matching · showing ${shown}</span> ${next}
  </form>
  ${
    shown > 0
      ? services.services.map((s) => serviceCard(s, input.watchers?.get(s.name), context))
      : html`<div class="card"><div class="empty">${q ? `No service name contains "${q}".` : 'No service registered under the prefix yet.'}</div></div>`
  }
  ${next ? html`<div class="more">${next}</div>` : ''}
  ${configSection(input.config, context.token)}
  <h2>Proxies</h2>
  <div class="card">${clientsTable(clients.clients, context.now)}</div>${moreClients}
  ${jsonLinks(context.linkJson)}
</main>`;
}

export interface ServicePageInput {
  service: ServiceView;
  instances: InstanceView[];
  nextCursor: string | null;
  watchers: Record<ResourceKind, SubscriberView[]>;
}

export function renderServiceContent(input: ServicePageInput, context: PageContext): SafeHtml {
  const { service } = input;
  const path = `/services/${encodeURIComponent(service.name)}`;
  return html`<main id="content" data-live="1">
  <div class="crumbs"><a href="${pageHref('/', {}, context.token)}">← all services</a></div>
  <section class="card service" data-service="${service.name}">
    ${cardHead(service, context, false)}
    ${instancesTable(input.instances, service, context.now)}
    ${input.nextCursor ? html`<div class="more"><a href="${pageHref(path, { cursor: input.nextCursor }, context.token)}">next instances →</a></div>` : ''}
    ${rejectedBlock(service)}
    ${watchersLine(input.watchers)}
  </section>
</main>`;
}

/** `/services/<name>` for a name nothing registers or serves: who waits for it, if anyone. */
export function renderUnknownServiceContent(name: string, waiting: Record<ResourceKind, SubscriberView[]> | undefined, context: PageContext): SafeHtml {
  return html`<main id="content" data-live="1">
  <div class="crumbs"><a href="${pageHref('/', {}, context.token)}">← all services</a></div>
  <section class="card service" data-service="${name}">
    <div class="card-head"><h3>${clip(name, 80)}</h3><span class="meta">not registered, nothing served</span></div>
    ${
      waiting
        ? html`<div class="empty">Nodes ask for this name and wait for it (NOT_FOUND): a typo in their target, or a service not deployed yet.</div>${watchersLine(waiting)}`
        : html`<div class="empty">No service has this name and no node asks for it.</div>`
    }
  </section>
</main>`;
}

export function renderClientsContent(clients: ClientsResponse, context: PageContext): SafeHtml {
  return html`<main id="content" data-live="1">
  <div class="crumbs"><a href="${pageHref('/', {}, context.token)}">← summary</a></div>
  <h2>Proxies (${clients.summary.streams})</h2>
  <div class="card">${clientsTable(clients.clients, context.now)}</div>
  ${clients.nextCursor ? html`<div class="more"><a href="${pageHref('/clients', { cursor: clients.nextCursor }, context.token)}">next →</a></div>` : ''}
</main>`;
}

export function renderConfigContent(config: ConfigResponse, params: Record<string, string | undefined>, context: PageContext): SafeHtml {
  return html`<main id="content" data-live="1">
  <div class="crumbs"><a href="${pageHref('/', {}, context.token)}">← summary</a></div>
  ${configPageBody(config, params, context.token)}
</main>`;
}

/** A whole page around its live part. */
export function renderPage(title: string, content: SafeHtml, context: PageContext): string {
  const refresh = context.refreshMs > 0 ? `live · refreshes every ${context.refreshMs / 1000}s` : 'refresh the page for news';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style nonce="${context.nonce}">${raw(PAGE_STYLE)}</style></head>
<body data-refresh-ms="${context.refreshMs}">
<header><h1>etcd-xds</h1><span class="meta">control plane status</span>
<span id="refresh-status" class="refresh ok">${refresh}</span></header>
${content}
${context.refreshMs > 0 ? html`<script nonce="${context.nonce}">${raw(REFRESH_SCRIPT)}</script>` : ''}
</body></html>`.value;
}

