// Routes of the human pages. Each page renders one bounded slice of the state (a page of services, one service's
// page of instances, a page of proxies), so its size does not follow the fleet's. The refresh script asks for the
// live part only; on a big fleet that is the summary alone, and less often.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { clientsView } from '../clients-view.js';
import { configOverview, configView, readConfigQuery } from '../config-view.js';
import { readPage, takePage } from '../paging.js';
import { optionalParam, type RequestTarget } from '../request-target.js';
import { writeChunked } from '../respond.js';
import { pathParam, type Route } from '../routes.js';
import { serviceView, servicesView, subscribersView } from '../services-view.js';
import type { AdminState } from '../state.js';
import { StreamViews } from '../stream-views.js';
import { subscribersOf } from '../subscriptions.js';
import { summaryView } from '../summary-view.js';
import type { SafeHtml } from './html.js';
import {
  INLINE_INSTANCES,
  renderClientsContent,
  renderConfigContent,
  renderHomeContent,
  renderPage,
  renderServiceContent,
  renderUnknownServiceContent,
  summaryBlock,
  type PageContext,
} from './render.js';

/**
 * Services per page of `/`, proxies and configuration keys on `/`, proxies per page of `/clients`, keys per page of
 * `/config`, instances per page of a service.
 */
export const PAGE_SERVICES = 50;
export const HOME_CLIENTS = 20;
export const HOME_CONFIG = 20;
export const PAGE_CLIENTS = 100;
export const PAGE_CONFIG = 100;
export const PAGE_INSTANCES = 200;
/** Above this many instances the page refreshes its summary only, at most every BIG_FLEET_REFRESH_MS. */
export const BIG_FLEET_INSTANCES = 10_000;
export const BIG_FLEET_REFRESH_MS = 15_000;

const PAGE_PATHS = [/^\/$/, /^\/services\/[^/]+\/?$/, /^\/clients\/?$/, /^\/config\/?$/];

/** Paths a browser navigates to (and so may carry `?token=`). */
export function isPagePath(path: string): boolean {
  return PAGE_PATHS.some((pattern) => pattern.test(path));
}

interface PageSettings {
  refreshMs: number;
  token: string | undefined;
}

async function sendHtml(response: ServerResponse, nonce: string, body: string): Promise<void> {
  response.writeHead(response.statusCode, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  });
  // Cut in slices so a big page goes out in chunks like the JSON lists do.
  const slices = function* (): Generator<string> {
    for (let i = 0; i < body.length; i += 16 * 1024) yield body.slice(i, i + 16 * 1024);
  };
  await writeChunked(response, slices());
}

export function pageRoutes(state: AdminState, settings: PageSettings): Array<[RegExp, Route]> {
  const context = (target: RequestTarget, refreshMs: number): PageContext => {
    const token = settings.token !== undefined ? (target.query.get('token') ?? undefined) : undefined;
    return { nonce: randomBytes(16).toString('base64'), refreshMs, linkJson: !settings.token, now: Date.now(), ...(token !== undefined ? { token } : {}) };
  };
  // The refresh asks for the live part only: a whole page parsed in the browser would carry a <style> with a fresh
  // nonce that the open page's CSP reports as a violation.
  const respond = async (res: ServerResponse, fragment: boolean, title: string, content: SafeHtml, ctx: PageContext): Promise<void> =>
    sendHtml(res, ctx.nonce, fragment ? content.value : renderPage(title, content, ctx));

  return [
    [
      /^\/$/,
      async (req, res, target) => {
        const summary = summaryView(state);
        const big = summary.instances.total > BIG_FLEET_INSTANCES;
        const ctx = context(target, big ? Math.max(settings.refreshMs, BIG_FLEET_REFRESH_MS) : settings.refreshMs);
        const fragment = req.headers['x-admin-fragment'] === '1';
        if (fragment && big) return sendHtml(res, ctx.nonce, summaryBlock(summary, ctx).value);
        const q = optionalParam(target.query, 'q');
        const services = servicesView(state, { ...(q !== undefined ? { q } : {}), page: readPage(target.query, PAGE_SERVICES) });
        const inline = services.services.reduce((n, s) => n + s.counts.instances, 0) <= INLINE_INSTANCES;
        const streams = state.streams();
        const views = new StreamViews(state);
        const watchers = inline ? new Map(services.services.map((s) => [s.name, subscribersOf(streams, s.name, views.existsFor)])) : undefined;
        const clients = clientsView(state, { page: { limit: HOME_CLIENTS, cursor: undefined } }, ctx.now);
        const config = configOverview(state, HOME_CONFIG);
        const content = renderHomeContent({ summary, services, watchers, q, limit: optionalParam(target.query, 'limit'), clients, config }, ctx);
        await respond(res, fragment, 'etcd-xds', content, ctx);
      },
    ],
    [
      /^\/services\/([^/]+)\/?$/,
      async (req, res, target) => {
        const name = pathParam(target, /^\/services\/([^/]+)/);
        const service = serviceView(state, name);
        if (!service) {
          const ctx = context(target, settings.refreshMs);
          const content = renderUnknownServiceContent(name, subscribersView(state, name)?.byType, ctx);
          res.statusCode = 404;
          return respond(res, req.headers['x-admin-fragment'] === '1', `etcd-xds · ${name.slice(0, 80)}`, content, ctx);
        }
        const page = takePage(service.instances, (i) => i.instanceId, readPage(target.query, PAGE_INSTANCES));
        const watchers = subscribersView(state, name)!.byType;
        const ctx = context(target, service.instances.length > INLINE_INSTANCES ? 0 : settings.refreshMs);
        const content = renderServiceContent({ service, instances: page.items, nextCursor: page.nextCursor, watchers }, ctx);
        await respond(res, req.headers['x-admin-fragment'] === '1', `etcd-xds · ${name.slice(0, 80)}`, content, ctx);
      },
    ],
    [
      /^\/clients\/?$/,
      async (req, res, target) => {
        const node = optionalParam(target.query, 'node');
        const ctx = context(target, settings.refreshMs);
        const clients = clientsView(state, { ...(node !== undefined ? { node } : {}), page: readPage(target.query, PAGE_CLIENTS) }, ctx.now);
        await respond(res, req.headers['x-admin-fragment'] === '1', 'etcd-xds · proxies', renderClientsContent(clients, ctx), ctx);
      },
    ],
    [
      /^\/config\/?$/,
      async (req, res, target) => {
        const ctx = context(target, settings.refreshMs);
        const config = configView(state, readConfigQuery(target.query, PAGE_CONFIG));
        const filters = { kind: optionalParam(target.query, 'kind'), state: optionalParam(target.query, 'state'), name: optionalParam(target.query, 'name') };
        const content = renderConfigContent(config, filters, ctx);
        await respond(res, req.headers['x-admin-fragment'] === '1', 'etcd-xds · configuration', content, ctx);
      },
    ],
  ];
}
