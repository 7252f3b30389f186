// The admin API's read-only JSON routes. Each reads the state once, keeps to the page it was asked for, and
// writes lists row by row (see respond.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientResourcesView, clientsView } from './clients-view.js';
import { configView, readConfigQuery } from './config-view.js';
import type { AdminMetrics } from './metrics.js';
import { readPage } from './paging.js';
import { decodePathSegment, optionalParam, type RequestTarget } from './request-target.js';
import { JsonRows, sendError, sendJson, writeJson } from './respond.js';
import { serviceView, servicesPage, subscribersView } from './services-view.js';
import { snapshotView } from './snapshot-view.js';
import type { AdminState } from './state.js';
import { summaryView } from './summary-view.js';

export type Route = (request: IncomingMessage, response: ServerResponse, target: RequestTarget) => void | Promise<void>;

/** A decoded path segment; a malformed %-escape is the client's mistake, answered with 400. */
export function pathParam(target: RequestTarget, pattern: RegExp): string {
  return decodePathSegment(pattern.exec(target.path)?.[1] ?? '');
}

export function jsonRoutes(state: AdminState, metrics: AdminMetrics): Array<[RegExp, Route]> {
  return [
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
    [/^\/debug\/summary\/?$/, (_q, res) => sendJson(res, 200, summaryView(state))],
    [
      /^\/debug\/services\/?$/,
      async (_q, res, target) => {
        const service = optionalParam(target.query, 'service');
        const q = optionalParam(target.query, 'q');
        const { names: _names, services, ...head } = servicesPage(state, {
          ...(service !== undefined ? { service } : {}),
          ...(q !== undefined ? { q } : {}),
          page: readPage(target.query),
        });
        const { nextCursor, ...rest } = head;
        await writeJson(res, 200, { ...rest, services: new JsonRows(services()), nextCursor });
      },
    ],
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
      async (_q, res, target) => {
        const name = pathParam(target, /^\/debug\/services\/([^/]+)/);
        const view = serviceView(state, name);
        if (view) await writeJson(res, 200, { ...view, instances: new JsonRows(view.instances) });
        else sendError(res, 404, `no service named "${name}"`);
      },
    ],
    [
      /^\/debug\/clients\/?$/,
      async (_q, res, target) => {
        const node = optionalParam(target.query, 'node');
        const view = clientsView(state, { ...(node !== undefined ? { node } : {}), page: readPage(target.query) });
        await writeJson(res, 200, { ...view, clients: new JsonRows(view.clients) });
      },
    ],
    [
      /^\/debug\/clients\/([^/]+)\/resources\/?$/,
      async (_q, res, target) => {
        const id = pathParam(target, /^\/debug\/clients\/([^/]+)/);
        const view = clientResourcesView(state, id, readPage(target.query));
        if (!view) return sendError(res, 404, `no connected stream or node with id "${id}"`);
        const types = Object.fromEntries(
          Object.entries(view.types).map(([kind, entry]) => [kind, { ...entry, resources: new JsonRows(entry.resources) }]),
        );
        await writeJson(res, 200, { ...view, types });
      },
    ],
    [
      /^\/debug\/config\/?$/,
      async (_q, res, target) => {
        const view = configView(state, readConfigQuery(target.query));
        await writeJson(res, 200, { ...view, entries: new JsonRows(view.entries) });
      },
    ],
    [
      /^\/debug\/snapshot\/?$/,
      async (_q, res, target) => {
        const result = snapshotView(state.snapshot(), {
          type: target.query.get('type'),
          name: target.query.get('name'),
          page: readPage(target.query),
        });
        if (!result.ok) return sendError(res, result.status, result.error);
        const types = Object.fromEntries(
          Object.entries(result.body.types).map(([kind, entry]) => [kind, { ...entry, resources: new JsonRows(entry.resources) }]),
        );
        await writeJson(res, 200, { ...result.body, types });
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
  ];
}
