// `etcd-xds services`, `etcd-xds clients` and `etcd-xds config status`: the admin API's views as aligned tables for
// people at a terminal. Each asks the server only for what it prints: one service by name, or the list page by page.
import { Command, Option } from 'commander';
import type { ClientsResponse, ClientView } from '../admin/clients-view.js';
import type { ConfigEntryView, ConfigResponse } from '../admin/config-view.js';
import type { ServicesResponse, ServiceView, SubscribersResponse } from '../admin/services-view.js';
import type { SummaryResponse } from '../admin/summary-view.js';
import { positiveInt } from './flags.js';
import { clientsText, configText, servicesText, subscribersText, summaryFooter, type OutputWidth } from './inspect-format.js';
import { RESOURCE_KINDS, XDS_NAME } from '../admin/resource-types.js';
import { watchLoop } from './inspect-watch.js';

export { formatTable } from './inspect-format.js';

interface InspectOptions {
  admin: string;
  token?: string;
  json?: boolean;
  watch?: boolean;
  limit?: number;
  filter?: string;
}

interface ConfigStatusOptions extends InspectOptions {
  kind?: string;
  state?: string;
}

const DEFAULT_ADMIN = '127.0.0.1:19000';
const REQUEST_TIMEOUT_MS = 5000;
/** Rows asked for per request when paging through a list (the server's maximum). */
const PAGE_LIMIT = 1000;
/** Services or streams a --watch table shows unless --limit says otherwise. */
const WATCH_LIMIT = 100;

/** An HTTP answer that is not 2xx, kept apart so a caller can tell 404 from the rest. */
class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function adminBaseUrl(admin: string): string {
  return /^https?:\/\//.test(admin) ? admin.replace(/\/+$/, '') : `http://${admin}`;
}

/** GETs an admin path; every failure becomes an Error whose message tells the person what to do. */
async function fetchAdmin<T>(options: InspectOptions, path: string): Promise<T> {
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
  if (!response.ok) throw new AdminError(response.status, (body as { error?: string }).error ?? `HTTP ${response.status}`);
  return body as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Follows nextCursor until `wanted` items are in (all of them when undefined). */
async function fetchPages<T, R extends { nextCursor: string | null }>(
  options: InspectOptions,
  path: string,
  params: Record<string, string | undefined>,
  itemsOf: (page: R) => T[],
  wanted: number | undefined,
): Promise<{ first: R; items: T[] }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let first: R | undefined;
  do {
    const limit = Math.min(PAGE_LIMIT, wanted === undefined ? PAGE_LIMIT : wanted - items.length);
    const page = await fetchAdmin<R>(options, path + query({ ...params, limit, cursor }));
    first ??= page;
    items.push(...itemsOf(page));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && (wanted === undefined || items.length < wanted));
  return { first: first!, items };
}

/** The terminal's width when stdout is one; a pipe or a file gets every value whole. */
function outputWidth(): OutputWidth {
  return process.stdout.isTTY ? (process.stdout.columns ?? 80) : undefined;
}

function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** `services`: the list with a summary footer, filtered and limited as asked. */
async function servicesListText(options: InspectOptions): Promise<string> {
  const wanted = options.limit ?? (options.watch ? WATCH_LIMIT : undefined);
  const { items } = await fetchPages<ServiceView, ServicesResponse>(
    options,
    '/debug/services',
    { q: options.filter },
    (page) => page.services,
    wanted,
  );
  const summary = await fetchAdmin<SummaryResponse>(options, '/debug/summary');
  return servicesText(items, summaryFooter(summary, items.length), outputWidth());
}

async function servicesListJson(options: InspectOptions): Promise<unknown> {
  const { first, items } = await fetchPages<ServiceView, ServicesResponse>(
    options,
    '/debug/services',
    { q: options.filter },
    (page) => page.services,
    options.limit,
  );
  return { ...first, services: items, nextCursor: null };
}

/**
 * `services NAME`: that service and who watches it. A name nothing serves still shows the nodes waiting for it
 * (a typo in a client's target, or a service not deployed yet), and then fails like any unknown name.
 */
async function oneServiceText(options: InspectOptions, name: string): Promise<string> {
  const path = `/debug/services/${encodeURIComponent(name)}`;
  let service: ServiceView;
  try {
    service = await fetchAdmin<ServiceView>(options, path);
  } catch (err) {
    if (!(err instanceof AdminError) || err.status !== 404) throw err;
    const waiting = await fetchAdmin<SubscribersResponse>(options, `${path}/subscribers`).catch(() => undefined);
    if (waiting) process.stdout.write(subscribersText(waiting, outputWidth()));
    throw err;
  }
  const subscribers = await fetchAdmin<SubscribersResponse>(options, `${path}/subscribers`);
  if (options.json) return JSON.stringify({ ...service, subscribersByType: subscribers.byType }, null, 2) + '\n';
  const versions = RESOURCE_KINDS.map((k) => `${XDS_NAME[k]} ${service.versions[k] ?? '-'}`).join(' · ');
  return servicesText([service], `versions: ${versions}`, outputWidth()) + subscribersText(subscribers, outputWidth());
}

async function clientsPages(options: InspectOptions, wanted: number | undefined): Promise<ClientsResponse> {
  const { first, items } = await fetchPages<ClientView, ClientsResponse>(options, '/debug/clients', {}, (page) => page.clients, wanted);
  return { ...first, clients: items, nextCursor: null };
}

/** Quietly done when the reader of a pipe goes away (`etcd-xds services | head -3`). */
function exitQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

function withAdminOptions(command: Command): Command {
  return command
    .option('--admin <host:port>', 'admin API address of a running "etcd-xds serve"', DEFAULT_ADMIN)
    .addOption(new Option('--token <token>', 'admin bearer token').env('ADMIN_TOKEN'))
    .option('--json', 'print the raw JSON of the admin API')
    .option('--watch', 'redraw every second as the state changes (Ctrl-C to stop)')
    .option('--limit <n>', `show at most this many rows (default: all; ${WATCH_LIMIT} with --watch)`, positiveInt);
}

export function servicesCommand(): Command {
  return withAdminOptions(
    new Command('services')
      .description('list services, their instances with health, and rejected registrations (from the admin API)')
      .argument('[name]', 'show one service and the nodes that watch it (or wait for it)')
      .option('--filter <text>', 'only services whose name contains this text'),
  ).action(async (name: string | undefined, options: InspectOptions) => {
    exitQuietlyOnClosedPipe();
    const render = name === undefined ? () => servicesListText(options) : () => oneServiceText(options, name);
    if (options.watch && !options.json) return watchLoop(render);
    if (name !== undefined) return void process.stdout.write(await render());
    if (options.json) return printJson(await servicesListJson(options));
    process.stdout.write(await render());
  });
}

export function clientsCommand(): Command {
  return withAdminOptions(
    new Command('clients').description('list connected xDS clients and their sync status per resource type (from the admin API)'),
  ).action(async (options: InspectOptions) => {
    exitQuietlyOnClosedPipe();
    if (options.json) return printJson(await clientsPages(options, options.limit));
    const render = async () => clientsText(await clientsPages(options, options.limit ?? (options.watch ? WATCH_LIMIT : undefined)), outputWidth());
    if (options.watch) return watchLoop(render);
    process.stdout.write(await render());
  });
}

async function configPages(options: ConfigStatusOptions, name: string | undefined, wanted: number | undefined): Promise<ConfigResponse> {
  const params = { kind: options.kind, state: options.state, name };
  const { first, items } = await fetchPages<ConfigEntryView, ConfigResponse>(options, '/debug/config', params, (page) => page.entries, wanted);
  if (name !== undefined && items.length === 0) throw new Error(`no configuration object named "${name}"${options.kind ? ` of kind ${options.kind}` : ''}`);
  return { ...first, entries: items, nextCursor: null };
}

/** `config status`: what the running server made of the configuration in etcd (it reads the admin API, not etcd). */
export function configStatusCommand(): Command {
  return withAdminOptions(
    new Command('status')
      .description('what the running server serves of each configuration object, why a value was rejected, and which nodes it reaches (from the admin API)')
      .argument('[name]', 'only the objects of this name')
      .option('--kind <kind>', 'ServicePolicy or Gateway')
      .option('--state <state>', 'serving or rejected'),
  ).action(async (name: string | undefined, options: ConfigStatusOptions) => {
    exitQuietlyOnClosedPipe();
    if (options.json) return printJson(await configPages(options, name, options.limit));
    const render = async () => configText(await configPages(options, name, options.limit ?? (options.watch ? WATCH_LIMIT : undefined)), outputWidth());
    if (options.watch) return watchLoop(render);
    process.stdout.write(await render());
  });
}
