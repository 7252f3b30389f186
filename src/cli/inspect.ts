// `etcd-xds services` and `etcd-xds clients`: the admin API's views as aligned tables for people at a terminal.
import { Command, Option } from 'commander';
import type { ClientsResponse, ClientView } from '../admin/clients-view.js';
import { RESOURCE_KINDS, XDS_NAME } from '../admin/resource-types.js';
import type { InstanceView, ServicesResponse, ServiceView, SubscribersResponse } from '../admin/services-view.js';

interface InspectOptions {
  admin: string;
  token?: string;
  json?: boolean;
}

const DEFAULT_ADMIN = '127.0.0.1:19000';
const REQUEST_TIMEOUT_MS = 5000;

function adminBaseUrl(admin: string): string {
  return /^https?:\/\//.test(admin) ? admin.replace(/\/+$/, '') : `http://${admin}`;
}

/** GETs an admin path; every failure becomes an Error whose message tells the person what to do. */
async function fetchAdmin(options: InspectOptions, path: string): Promise<unknown> {
  const base = adminBaseUrl(options.admin);
  let response: Response;
  try {
    response = await fetch(base + path, {
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new Error(`cannot reach the admin API at ${base} (${why}): is "etcd-xds serve" running there? (--admin host:port)`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${base}${path} answered HTTP ${response.status} with something that is not JSON`);
  }
  if (response.status === 401) {
    throw new Error(
      options.token
        ? `the admin API at ${base} rejected the token`
        : `the admin API at ${base} requires a token: pass --token or set ADMIN_TOKEN`,
    );
  }
  if (!response.ok) {
    const error = (body as { error?: string }).error ?? `HTTP ${response.status}`;
    throw new Error(error);
  }
  return body;
}

/** Aligned columns, two spaces apart; cells are single-line and cut to `maxWidth`. */
export function formatTable(headers: string[], rows: string[][], maxWidth = 90): string {
  const clean = (cell: string): string => {
    const flat = cell.replace(/\s+/g, ' ').trim();
    return flat.length > maxWidth ? `${flat.slice(0, maxWidth - 1)}…` : flat;
  };
  const cells = [headers, ...rows].map((row) => row.map(clean));
  const widths = headers.map((_, col) => Math.max(...cells.map((row) => (row[col] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function localityText(locality: { region?: string; zone?: string; subZone?: string } | null): string {
  const parts = [locality?.region, locality?.zone, locality?.subZone].filter((p): p is string => !!p);
  return parts.length > 0 ? parts.join('/') : '-';
}

function healthText(instance: InstanceView): string {
  const note = instance.status !== 'serving' && instance.health !== instance.status.toUpperCase() ? ` (${instance.status})` : '';
  return instance.health + note;
}

function probeText(instance: InstanceView): string {
  if (!instance.probe) return instance.healthCheck ? `${instance.healthCheck.type} pending` : '-';
  const { type, verdict, lastError } = instance.probe;
  return `${type} ${verdict ?? 'unknown'}${lastError ? `: ${lastError}` : ''}`;
}

function instanceRows(services: ServiceView[]): string[][] {
  return services.flatMap((service) =>
    service.instances.length === 0
      ? [[service.name, '(none)', '-', '-', '-', '-', '-', '-']]
      : service.instances.map((i) => [
          service.name,
          i.instanceId,
          hostPort(i.address, i.port),
          String(i.weight),
          localityText(i.locality),
          healthText(i),
          probeText(i),
          i.leaseHex ?? '-',
        ]),
  );
}

function printServices(services: ServiceView[], footer: string): void {
  const lines: string[] = [];
  lines.push(
    formatTable(['SERVICE', 'INSTANCE', 'ADDRESS', 'WEIGHT', 'LOCALITY', 'HEALTH', 'PROBE', 'LEASE'], instanceRows(services)),
  );
  const rejected = services.flatMap((s) => s.rejected.map((r) => [s.name, r.key, r.reason, r.keepsLastGood ? 'yes' : 'no']));
  if (rejected.length > 0) {
    lines.push('', 'Rejected registrations:', formatTable(['SERVICE', 'KEY', 'REASON', 'KEEPS LAST GOOD'], rejected, 120));
  }
  lines.push('', footer);
  process.stdout.write(lines.join('\n') + '\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function servicesFooter(view: ServicesResponse): string {
  const instances = view.services.reduce((n, s) => n + s.counts.instances, 0);
  const unhealthy = view.services.reduce((n, s) => n + s.counts.unhealthy, 0);
  const draining = view.services.reduce((n, s) => n + s.counts.draining, 0);
  const rejected = view.services.reduce((n, s) => n + s.counts.rejected, 0);
  return [
    plural(view.services.length, 'service'),
    `${plural(instances, 'instance')} (${unhealthy} unhealthy, ${draining} draining)`,
    `${rejected} rejected ${rejected === 1 ? 'entry' : 'entries'}`,
    `etcd revision ${view.revision}`,
    view.ready ? `watch ${view.watch.state}` : 'NOT READY (first etcd sync pending)',
  ].join(' · ');
}

function printSubscribers(view: SubscribersResponse): void {
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
  if (rows.length === 0) {
    process.stdout.write('\nNo node watches this service.\n');
    return;
  }
  process.stdout.write(
    `\nSubscribers (${plural(view.count, 'stream')}):\n` +
      formatTable(['TYPE', 'NODE ID', 'CLUSTER', 'PROTOCOL', 'PEER', 'HOW'], rows) +
      '\n',
  );
}

function nackText(client: ClientView): string {
  for (const kind of RESOURCE_KINDS) {
    const info = client.types[kind];
    if (info?.status === 'NACKED' && info.lastNack) return `${XDS_NAME[kind]}: ${info.lastNack.message}`;
  }
  return '-';
}

function typeStatusText(client: ClientView, kind: (typeof RESOURCE_KINDS)[number]): string {
  const info = client.types[kind];
  if (!info) return '-';
  return info.status === 'STALE' && info.staleForMs !== null ? `STALE ${Math.round(info.staleForMs / 1000)}s` : info.status;
}

function printClients(view: ClientsResponse): void {
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
  const summary = `${plural(view.summary.streams, 'stream')}${counts.length > 0 ? `: ${counts.join(', ')}` : ''}`;
  process.stdout.write(
    (rows.length > 0 ? formatTable(headers, rows, 100) + '\n\n' : 'No xDS client connected.\n\n') + summary + '\n',
  );
}

function withAdminOptions(command: Command): Command {
  return command
    .option('--admin <host:port>', 'admin API address of a running "etcd-xds serve"', DEFAULT_ADMIN)
    .addOption(new Option('--token <token>', 'admin bearer token').env('ADMIN_TOKEN'))
    .option('--json', 'print the raw JSON of the admin API');
}

export function servicesCommand(): Command {
  return withAdminOptions(
    new Command('services')
      .description('list services, their instances with health, and rejected registrations (from the admin API)')
      .argument('[name]', 'show one service and the nodes that watch it'),
  ).action(async (name: string | undefined, options: InspectOptions) => {
    if (name === undefined) {
      const view = (await fetchAdmin(options, '/debug/services')) as ServicesResponse;
      if (options.json) return void process.stdout.write(JSON.stringify(view, null, 2) + '\n');
      return printServices(view.services, servicesFooter(view));
    }
    const path = `/debug/services/${encodeURIComponent(name)}`;
    const service = (await fetchAdmin(options, path)) as ServiceView;
    const subscribers = (await fetchAdmin(options, `${path}/subscribers`)) as SubscribersResponse;
    if (options.json) return void process.stdout.write(JSON.stringify({ ...service, subscribersByType: subscribers.byType }, null, 2) + '\n');
    const versions = RESOURCE_KINDS.map((k) => `${XDS_NAME[k]} ${service.versions[k] ?? '-'}`).join(' · ');
    printServices([service], `versions: ${versions}`);
    printSubscribers(subscribers);
  });
}

export function clientsCommand(): Command {
  return withAdminOptions(
    new Command('clients').description('list connected xDS clients and their sync status per resource type (from the admin API)'),
  ).action(async (options: InspectOptions) => {
    const view = (await fetchAdmin(options, '/debug/clients')) as ClientsResponse;
    if (options.json) return void process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    printClients(view);
  });
}
