// The admin HTTP listener: read-only JSON views, Prometheus metrics and the human page, behind an optional token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import { clientResourcesView, clientsView } from './clients-view.js';
import type { AdminMetrics } from './metrics.js';
import { renderAdminPage, renderContent } from './page/render.js';
import { serviceView, servicesView, subscribersView } from './services-view.js';
import { snapshotView } from './snapshot-view.js';
import { BadRequest, decodePathSegment, hostHeaderName, parseRequestTarget, preview, type RequestTarget } from './request-target.js';
import type { AdminState } from './state.js';

export interface AdminServerOptions {
  /** `host:port` (`[::1]:port` for IPv6); port 0 picks a free port; a bare `:port` or port binds 127.0.0.1. */
  address: string;
  /** Bearer token required on every request but /healthz and /readyz; mandatory off loopback. */
  token?: string;
  state: AdminState;
  metrics: AdminMetrics;
  logger: Logger;
  /** How often the page refreshes itself; default 2000 ms. */
  pageRefreshMs?: number;
}

export interface AdminServer {
  /** The bound `host:port` (with the real port when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

export const NON_LOOPBACK_WITHOUT_TOKEN =
  '--admin-token is required when the admin listener binds a non-loopback address';

export function parseListenAddress(address: string): { host: string; port: number } {
  const trimmed = address.trim();
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(trimmed) ?? /^()()(\d+)$/.exec(trimmed);
  if (!match) throw new Error(`invalid admin address "${address}": expected host:port, e.g. 127.0.0.1:19000`);
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port > 65535) throw new Error(`invalid admin address "${address}": bad port`);
  const host = match[1] || match[2] || '127.0.0.1';
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^::ffff:/, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * Without a token, a Host header must name this machine: a web page that rebinds its own hostname to 127.0.0.1
 * reaches a loopback listener from the victim's browser, but its requests still carry that hostname. A request
 * with no Host header (HTTP/1.0) is no browser's.
 */
export function isAllowedHostHeader(header: string | undefined, boundHost: string): boolean {
  if (header === undefined) return true;
  const name = hostHeaderName(header);
  if (name === undefined || name === '') return false;
  return isLoopbackHost(name) || name === boundHost.toLowerCase();
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Constant-time comparison; hashing first makes the lengths equal so the length does not leak either. */
function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function presentedToken(request: IncomingMessage, query: URLSearchParams, allowQuery: boolean): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  if (match) return match[1];
  // A browser cannot put a header on a navigation, so the page (and only the page) also accepts ?token=.
  return allowQuery ? (query.get('token') ?? undefined) : undefined;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, error: string): void {
  sendJson(response, status, { error });
}

type Route = (request: IncomingMessage, response: ServerResponse, target: RequestTarget) => void | Promise<void>;

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseListenAddress(options.address);
  if (!isLoopbackHost(host) && !options.token) throw new Error(NON_LOOPBACK_WITHOUT_TOKEN);
  const { state, metrics, logger, token } = options;
  const refreshMs = options.pageRefreshMs ?? 2000;

  const routes: Array<[RegExp, Route]> = [
    [/^\/healthz$/, (_q, res) => sendJson(res, 200, { status: 'ok' })],
    [
      /^\/readyz$/,
      (_q, res) => {
        const ready = state.ready();
        const watch = state.watch();
        // Ready stays true through an etcd outage (the last snapshot keeps serving); the cause is said all the same.
        const etcd = watch.lastError !== undefined ? { etcd: { error: watch.lastError, ...(watch.failingSince ? { since: watch.failingSince } : {}) } } : {};
        sendJson(res, ready ? 200 : 503, { ready, watch: watch.state, ...etcd });
      },
    ],
    [/^\/debug\/services\/?$/, (_q, res) => sendJson(res, 200, servicesView(state))],
    [
      /^\/debug\/services\/([^/]+)\/subscribers\/?$/,
      (_q, res, target) => {
        const name = pathParam(target, /^\/debug\/services\/([^/]+)/);
        const view = subscribersView(state, name);
        if (view) sendJson(res, 200, view);
        else sendError(res, 404, `no service named "${name}" and no node asks for one`);
      },
    ],
    [
      /^\/debug\/services\/([^/]+)\/?$/,
      (_q, res, target) => {
        const name = pathParam(target, /^\/debug\/services\/([^/]+)/);
        const view = serviceView(state, name);
        if (view) sendJson(res, 200, view);
        else sendError(res, 404, `no service named "${name}"`);
      },
    ],
    [/^\/debug\/clients\/?$/, (_q, res) => sendJson(res, 200, clientsView(state))],
    [
      /^\/debug\/clients\/([^/]+)\/resources\/?$/,
      (_q, res, target) => {
        const id = pathParam(target, /^\/debug\/clients\/([^/]+)/);
        const view = clientResourcesView(state, id);
        if (view) sendJson(res, 200, view);
        else sendError(res, 404, `no connected stream or node with id "${id}"`);
      },
    ],
    [
      /^\/debug\/snapshot\/?$/,
      (_q, res, target) => {
        const result = snapshotView(state.snapshot(), {
          type: target.query.get('type'),
          name: target.query.get('name'),
        });
        if (result.ok) sendJson(res, 200, result.body);
        else sendError(res, result.status, result.error);
      },
    ],
    [
      /^\/metrics$/,
      async (_q, res) => {
        const text = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
    ],
    [
      /^\/$/,
      (req, res) => {
        const nonce = randomBytes(16).toString('base64');
        const pageOptions = { nonce, refreshMs, linkJson: !token };
        // The page's refresh asks for the live part only: a whole page parsed in the browser would carry a
        // <style> with a fresh nonce that the open page's CSP reports as a violation.
        const fragment = req.headers['x-admin-fragment'] === '1';
        const body = fragment ? renderContent(state, pageOptions).value : renderAdminPage(state, pageOptions);
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
        });
        res.end(body);
      },
    ],
  ];

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = parseRequestTarget(request.url);
    // Health checks come from orchestrators under any name; every other path reveals state.
    const open = target.path === '/healthz' || target.path === '/readyz';
    if (!token && !open && !isAllowedHostHeader(request.headers.host, host)) {
      return sendError(
        response,
        403,
        `Host "${preview(request.headers.host ?? '')}" is not allowed: without --admin-token the admin API answers ` +
          `only requests addressed to localhost, a 127.x.x.x address or [::1] (this blocks DNS rebinding); ` +
          `open http://${address}/ instead, or set --admin-token to serve other names`,
      );
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return sendError(response, 405, `method ${request.method ?? ''} not allowed: the admin API is read-only`);
    }
    if (token && !open) {
      const presented = presentedToken(request, target.query, target.path === '/');
      if (presented === undefined || !tokenMatches(presented, token)) {
        response.setHeader('www-authenticate', 'Bearer realm="etcd-xds admin"');
        return sendError(response, 401, 'missing or wrong admin token: send "Authorization: Bearer <token>"');
      }
    }
    const route = routes.find(([pattern]) => pattern.test(target.path));
    if (!route) return sendError(response, 404, `no such endpoint: ${preview(target.path)}`);
    await route[1](request, response, target);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((err: unknown) => {
      const status = err instanceof BadRequest ? 400 : 500;
      // A client's bad request is its own business, and logging it loudly would let anyone fill the log.
      if (status === 500) logger.error({ err, url: request.url }, 'admin request failed');
      else logger.debug({ url: request.url, reason: (err as Error).message }, 'admin request rejected');
      if (!response.headersSent) sendError(response, status, (err as Error).message);
      else response.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = formatHostPort(host, bound.port);
  logger.info({ address, token: token ? 'required' : 'none' }, 'admin API listening');

  return {
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A decoded path segment; a malformed %-escape is the client's mistake, answered with 400. */
function pathParam(target: RequestTarget, pattern: RegExp): string {
  return decodePathSegment(pattern.exec(target.path)?.[1] ?? '');
}
