// The admin HTTP listener: read-only JSON views, Prometheus metrics, the human pages and two operator actions,
// behind an optional token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import { formatHostPort } from '../net/host-port.js';
import {
  NON_LOOPBACK_WITHOUT_TOKEN,
  isAllowedHostHeader,
  isLoopbackHost,
  parseListenAddress,
  presentedToken,
  tokenMatches,
} from './access.js';
import { ACTION_HEADER, runAction, type AdminActions } from './actions.js';
import type { AdminMetrics } from './metrics.js';
import { isPagePath, pageRoutes } from './page/routes.js';
import { BadRequest, parseRequestTarget, preview, type RequestTarget } from './request-target.js';
import { sendError } from './respond.js';
import { jsonRoutes, type Route } from './routes.js';
import type { AdminState } from './state.js';

export { NON_LOOPBACK_WITHOUT_TOKEN, isAllowedHostHeader, isLoopbackHost, parseListenAddress } from './access.js';
export type { AdminActions } from './actions.js';

/** Timeouts and caps of the listener, so slow or idle clients cannot hold sockets and memory. */
export interface AdminServerLimits {
  /** Whole request, headers and body, must arrive within this (http.Server.requestTimeout). */
  requestTimeoutMs: number;
  /** Headers must arrive within this (http.Server.headersTimeout): a slow-loris client is cut off. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (http.Server.keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are dropped at once (http.Server.maxConnections). */
  maxConnections: number;
  /** Headers beyond this count are ignored (http.Server.maxHeadersCount). */
  maxHeadersCount: number;
}

export const DEFAULT_ADMIN_LIMITS: Readonly<AdminServerLimits> = Object.freeze({
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  maxHeadersCount: 64,
});

export interface AdminServerOptions {
  /** `host:port` (`[::1]:port` for IPv6); port 0 picks a free port; a bare `:port` or port binds 127.0.0.1. */
  address: string;
  /** Bearer token required on every request but /healthz and /readyz; mandatory off loopback. */
  token?: string;
  state: AdminState;
  metrics: AdminMetrics;
  logger: Logger;
  /** Drain and deregister through the admin API; the action endpoints answer 501 without it. */
  actions?: AdminActions;
  /** How often the page refreshes its live part; default 2000 ms (slower for big fleets, see page/routes.ts). */
  pageRefreshMs?: number;
  limits?: Partial<AdminServerLimits>;
}

export interface AdminServer {
  /** The bound `host:port` (with the real port when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

const ACTION_PATH = /^\/actions\/(drain|deregister)\/?$/;

/** Answers the request itself (and returns false) when it may not go on to a route. */
function admitted(
  request: IncomingMessage,
  response: ServerResponse,
  target: RequestTarget,
  options: AdminServerOptions,
  boundHost: string,
  address: () => string,
): boolean {
  const { token } = options;
  // Health checks come from orchestrators under any name; every other path reveals state.
  const open = target.path === '/healthz' || target.path === '/readyz';
  const action = ACTION_PATH.test(target.path);
  if (!token && !open && !isAllowedHostHeader(request.headers.host, boundHost)) {
    sendError(
      response,
      403,
      `Host "${preview(request.headers.host ?? '')}" is not allowed: without --admin-token the admin API answers ` +
        `only requests addressed to localhost, a 127.x.x.x address or [::1] (this blocks DNS rebinding); ` +
        `open http://${address()}/ instead, or set --admin-token to serve other names`,
    );
    return false;
  }
  const allowed = action ? 'POST' : 'GET, HEAD';
  if (!allowed.split(', ').includes(request.method ?? '')) {
    response.setHeader('allow', allowed);
    sendError(response, 405, action ? `use POST for ${target.path}` : `method ${request.method ?? ''} not allowed: this path is read-only`);
    return false;
  }
  if (token && !open) {
    const presented = presentedToken(request, target.query, !action && isPagePath(target.path));
    if (presented === undefined || !tokenMatches(presented, token)) {
      response.setHeader('www-authenticate', 'Bearer realm="etcd-xds admin"');
      sendError(response, 401, 'missing or wrong admin token: send "Authorization: Bearer <token>"');
      return false;
    }
  } else if (action && request.headers[ACTION_HEADER] !== '1') {
    sendError(response, 403, `without --admin-token, an action needs the header "${ACTION_HEADER}: 1" (this blocks cross-site requests)`);
    return false;
  }
  return true;
}

function applyLimits(server: Server, limits: AdminServerLimits): void {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = limits.maxHeadersCount;
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseListenAddress(options.address);
  if (!isLoopbackHost(host) && !options.token) throw new Error(NON_LOOPBACK_WITHOUT_TOKEN);
  const { state, metrics, logger, token } = options;
  const limits = { ...DEFAULT_ADMIN_LIMITS, ...options.limits };
  let address = formatHostPort(host, port);

  const routes: Array<[RegExp, Route]> = [
    ...jsonRoutes(state, metrics),
    ...pageRoutes(state, { refreshMs: options.pageRefreshMs ?? 2000, token }),
    [ACTION_PATH, (req, res, target) => runAction(ACTION_PATH.exec(target.path)![1] as 'drain' | 'deregister', options.actions, req, res, target, logger)],
  ];

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = parseRequestTarget(request.url);
    if (!admitted(request, response, target, options, host, () => address)) return;
    const route = routes.find(([pattern]) => pattern.test(target.path));
    if (!route) return sendError(response, 404, `no such endpoint: ${preview(target.path)}`);
    await route[1](request, response, target);
  }

  // Idle and half-sent requests are checked this often (Node's default, 30 s, would outlast short timeouts).
  const connectionsCheckingInterval = Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2)));
  const server = createServer({ connectionsCheckingInterval }, (request, response) => {
    handle(request, response).catch((err: unknown) => {
      const status = err instanceof BadRequest ? 400 : 500;
      // A client's bad request is its own business, and logging it loudly would let anyone fill the log.
      if (status === 500) logger.error({ err, url: preview(request.url ?? '') }, 'admin request failed');
      else logger.debug({ url: preview(request.url ?? ''), reason: (err as Error).message }, 'admin request rejected');
      if (!response.headersSent) sendError(response, status, (err as Error).message);
      else response.destroy();
    });
  });
  applyLimits(server, limits);
  server.on('clientError', (_err, socket) => socket.destroy());

  address = formatHostPort(host, await listen(server, host, port));
  logger.info({ address, token: token ? 'required' : 'none', actions: Boolean(options.actions) }, 'admin API listening');

  return {
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
