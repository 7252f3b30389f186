// The tables `etcd-xds services`, `etcd-xds clients` and `etcd-xds config status` print. Every value from etcd or
// from a client goes through terminalSafe; cells are cut to fit a terminal, and printed whole into a pipe or file.
import type { ClientsResponse, ClientView } from '../admin/clients-view.js';
import { configCountsText, type ConfigEntryView, type ConfigResponse } from '../admin/config-view.js';
import { RESOURCE_KINDS, XDS_NAME, type ResourceKind } from '../admin/resource-types.js';
import type { InstanceView, ServiceView, SubscribersResponse } from '../admin/services-view.js';
import type { SummaryResponse } from '../admin/summary-view.js';
import { formatHostPort } from '../net/host-port.js';
import { terminalSafe } from './terminal-text.js';

/** How wide the output may be: the terminal's columns, or unlimited (undefined) when not a terminal. */
export type OutputWidth = number | undefined;

/** Widest a cell other than the last may be on a terminal. */
const CELL_MAX = 60;
/** The last column keeps at least this much room on a narrow terminal. */
const LAST_MIN = 24;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

/**
 * Aligned columns, two spaces apart; cells are single-line and escaped. On a terminal (`width` set) a cell is cut
 * to CELL_MAX and the last column gets whatever room the line has left; otherwise nothing is cut.
 */
export function formatTable(headers: string[], rows: string[][], width: OutputWidth): string {
  const clean = (cell: string): string => terminalSafe(cell).replace(/\s+/g, ' ').trim();
  let cells = [headers, ...rows].map((row) => row.map(clean));
  const widthsOf = (table: string[][]): number[] => headers.map((_, col) => Math.max(...table.map((row) => (row[col] ?? '').length)));
  if (width !== undefined) {
    cells = cells.map((row) => row.map((cell, col) => (col === headers.length - 1 ? cell : cut(cell, CELL_MAX))));
    const leading = widthsOf(cells).slice(0, -1);
    const room = Math.max(LAST_MIN, width - leading.reduce((sum, w) => sum + w + 2, 0));
    cells = cells.map((row) => row.map((cell, col) => (col === headers.length - 1 ? cut(cell, room) : cell)));
  }
  const widths = widthsOf(cells);
  return cells
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function localityText(locality: { region?: string; zone?: string; subZone?: string } | null): string {
  const parts = [locality?.region, locality?.zone, locality?.subZone].filter((p): p is string => !!p);
  return parts.length > 0 ? parts.join('/') : '-';
}

function healthText(instance: InstanceView): string {
  const note = instance.status !== 'serving' && instance.health !== instance.status.toUpperCase() ? ` (${instance.status})` : '';
  return instance.health + note;
}

/**
 * The probe beside the published health, in words that agree with it: a failing probe keeps HEALTHY until the
 * threshold ("failing 1/2"), an unhealthy verdict that probes well again is "recovering".
 */
export function probeText(instance: InstanceView): string {
  const probe = instance.probe;
  if (!probe) return instance.healthCheck ? `${instance.healthCheck.type} pending` : '-';
  const { type, verdict, lastResult, lastError } = probe;
  const why = lastError ? ` (${lastError})` : '';
  if (lastResult === null) return `${type} pending`;
  if (lastResult === 'fail') {
    return verdict === 'unhealthy' ? `${type} down${why}` : `${type} failing ${probe.consecutiveFailures}/${probe.unhealthyThreshold}${why}`;
  }
  if (verdict === 'healthy') return `${type} ok`;
  return `${type} recovering ${probe.consecutiveSuccesses}/${probe.healthyThreshold}`;
}

function instanceRows(services: readonly ServiceView[]): string[][] {
  return services.flatMap((service) =>
    service.instances.length === 0
      ? [[service.name, '(none)', '-', '-', '-', '-', '-', '-']]
      : service.instances.map((i) => [
          service.name,
          i.instanceId,
          formatHostPort(i.address, i.port),
          String(i.weight),
          localityText(i.locality),
          healthText(i),
          probeText(i),
          i.leaseHex ?? '-',
        ]),
  );
}

export function servicesText(services: readonly ServiceView[], footer: string, width: OutputWidth): string {
  const lines: string[] = [];
  lines.push(
    formatTable(['SERVICE', 'INSTANCE', 'ADDRESS', 'WEIGHT', 'LOCALITY', 'HEALTH', 'PROBE', 'LEASE'], instanceRows(services), width),
  );
  const rejected = services.flatMap((s) => s.rejected.map((r) => [s.name, r.key, r.keepsLastGood ? 'yes' : 'no', r.reason]));
  if (rejected.length > 0) {
    lines.push('', 'Rejected registrations:', formatTable(['SERVICE', 'KEY', 'KEEPS LAST GOOD', 'REASON'], rejected, width));
  }
  lines.push('', terminalSafe(footer));
  return lines.join('\n') + '\n';
}

/** The list's last line, from /debug/summary: counted the way the etcd_xds_services metric counts. */
export function summaryFooter(summary: SummaryResponse, shown: number): string {
  const { services, instances } = summary;
  const states = `${services.live} live, ${services.empty} empty, ${services['rejected-only']} rejected only`;
  return [
    `${plural(services.total, 'service')} (${states})${shown < services.total ? `, ${shown} shown` : ''}`,
    `${plural(instances.total, 'instance')} (${instances.unhealthy} unhealthy, ${instances.draining} draining)`,
    `${summary.rejected} rejected ${summary.rejected === 1 ? 'entry' : 'entries'}`,
    `etcd revision ${summary.revision}`,
    summary.ready ? `watch ${summary.watch.state}` : 'NOT READY (first etcd sync pending)',
  ].join(' · ');
}

export function subscribersText(view: SubscribersResponse, width: OutputWidth): string {
  const rows = RESOURCE_KINDS.flatMap((kind) =>
    view.byType[kind].map((s) => [
      XDS_NAME[kind],
      s.nodeId ?? '-',
      s.cluster ?? '-',
      `${s.protocol}/${s.api}`,
      s.peer,
      s.wildcard ? 'wildcard' : 'named',
    ]),
  );
  if (rows.length === 0) return '\nNo node watches this service.\n';
  const title = view.known
    ? `Subscribers (${plural(view.count, 'stream')}):`
    : `Waiting for it, NOT_FOUND (${plural(view.count, 'stream')}):`;
  return `\n${title}\n${formatTable(['TYPE', 'NODE ID', 'CLUSTER', 'PROTOCOL', 'PEER', 'HOW'], rows, width)}\n`;
}

function nackText(client: ClientView): string {
  for (const kind of RESOURCE_KINDS) {
    const info = client.types[kind];
    if (info?.status === 'NACKED' && info.lastNack) return `${XDS_NAME[kind]}: ${info.lastNack.message}`;
  }
  return '-';
}

function typeStatusText(client: ClientView, kind: ResourceKind): string {
  const info = client.types[kind];
  if (!info) return '-';
  if (info.status === 'STALE' && info.staleForMs !== null) return `STALE ${Math.round(info.staleForMs / 1000)}s`;
  if (info.status === 'NOT_FOUND') return `WAITING ${info.missingCount} (NOT_FOUND)`;
  return info.status;
}

export function clientsText(view: ClientsResponse, width: OutputWidth): string {
  const rows = view.clients.map((c) => [
    c.node?.id ?? '-',
    c.node?.cluster || '-',
    `${c.protocol}/${c.api}`,
    c.peer,
    ...RESOURCE_KINDS.map((kind) => typeStatusText(c, kind)),
    nackText(c),
  ]);
  const headers = ['NODE ID', 'CLUSTER', 'PROTOCOL', 'PEER', ...RESOURCE_KINDS.map((k) => XDS_NAME[k]), 'LAST NACK'];
  const counts = Object.entries(view.summary.byStatus)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`);
  const shown = view.clients.length < view.summary.streams ? ` (${view.clients.length} shown)` : '';
  const summary = `${plural(view.summary.streams, 'stream')}${counts.length > 0 ? `: ${counts.join(', ')}` : ''}${shown}`;
  return (rows.length > 0 ? formatTable(headers, rows, width) + '\n\n' : 'No xDS client connected.\n\n') + summary + '\n';
}

/** Node ids named in the REACHES column before "…". */
const REACHED_SHOWN = 3;

function reachText(entry: ConfigEntryView): string {
  const { count, nodes } = entry.reaches;
  if (count === 0) return entry.spec ? '0 nodes' : '- (nothing serves)';
  const shown = nodes.slice(0, REACHED_SHOWN).join(', ');
  return `${plural(count, 'node')}: ${shown}${count > REACHED_SHOWN ? ', …' : ''}`;
}

/** `etcd-xds config status`: one row per configuration key, the rejection reason last (it is the longest). */
export function configText(view: ConfigResponse, width: OutputWidth): string {
  const rows = view.entries.map((e) => [
    e.kind ?? '-',
    e.name || '-',
    e.state,
    e.specModRevision !== null && e.specModRevision !== e.modRevision ? `${e.modRevision} (serving ${e.specModRevision})` : e.modRevision,
    reachText(e),
    e.rejected?.reason ?? '-',
  ]);
  const shown = view.entries.length < view.total ? ` (${view.entries.length} shown)` : '';
  const footer = terminalSafe(configCountsText(view)) + shown;
  if (rows.length === 0) return `No configuration object in etcd.

${footer}
`;
  return `${formatTable(['KIND', 'NAME', 'STATE', 'REVISION', 'REACHES', 'REASON'], rows, width)}

${footer}
`;
}
