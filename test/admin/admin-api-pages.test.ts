// The admin HTTP API's filters and pages, NOT_FOUND subscriptions and the caps on client-supplied strings, over a
// real listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import type { ClientsResponse, ClientResourcesResponse } from '../../src/admin/clients-view.js';
import type { ServicesResponse, SubscribersResponse } from '../../src/admin/services-view.js';
import type { SnapshotResponse } from '../../src/admin/snapshot-view.js';
import type { SummaryResponse } from '../../src/admin/summary-view.js';
import { VIEW_MESSAGE_LIMIT, VIEW_NAMES_LIMIT, VIEW_STRING_LIMIT } from '../../src/admin/view-limits.js';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { DrivenStream, FixtureState, waitingStream } from './fixtures.js';

let state: FixtureState;
let server: AdminServer;

async function get<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(`http://${server.address}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as T, headers: response.headers };
}

beforeAll(async () => {
  state = new FixtureState();
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  server = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger() });
});
afterAll(async () => {
  await server?.close();
});

describe('filters and pages', () => {
  it('/debug/services takes a limit and the last name of the previous page as the cursor', async () => {
    const first = await get<ServicesResponse>('/debug/services?limit=2');
    expect(first.body.services.map((s) => s.name)).toEqual(['greeter', 'orphan']);
    expect(first.body).toMatchObject({ total: 3, nextCursor: 'orphan' });
    const second = await get<ServicesResponse>(`/debug/services?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.services.map((s) => s.name)).toEqual(['payments']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('/debug/services filters by exact name (service=) or by a substring ignoring case (q=)', async () => {
    const one = await get<ServicesResponse>('/debug/services?service=payments');
    expect(one.body.services.map((s) => s.name)).toEqual(['payments']);
    expect(one.body.total).toBe(1);
    expect((await get<ServicesResponse>('/debug/services?service=nope')).body.services).toEqual([]);
    expect((await get<ServicesResponse>('/debug/services?service=payments&q=greet')).body.services).toEqual([]);
    const nothing = await get<string>('/services/nothing');
    expect(nothing.status).toBe(404);
    expect(nothing.body).toContain('no node asks for it');
    const search = await get<ServicesResponse>('/debug/services?q=EE');
    expect(search.body.services.map((s) => s.name)).toEqual(['greeter']);
    expect((await get<ServicesResponse>('/debug/services?q=a')).body.services.map((s) => s.name)).toEqual(['orphan', 'payments']);
  });

  it('refuses a limit outside 1..1000 with 400', async () => {
    for (const limit of ['0', '1001', 'x', '2.5']) {
      const bad = await get<{ error: string }>(`/debug/services?limit=${limit}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toContain('limit');
    }
    expect((await get('/debug/clients?limit=5000')).status).toBe(400);
    expect((await get('/debug/snapshot?limit=-1')).status).toBe(400);
  });

  it('/debug/snapshot pages one range of names across the types', async () => {
    const first = await get<SnapshotResponse>('/debug/snapshot?limit=1');
    expect(Object.values(first.body.types).map((t) => [t.count, t.resources.map((r) => r.name)])).toEqual([
      [2, ['greeter']],
      [2, ['greeter']],
      [2, ['greeter']],
      [2, ['greeter']],
    ]);
    expect(first.body.nextCursor).toBe('greeter');
    const second = await get<SnapshotResponse>('/debug/snapshot?limit=1&cursor=greeter&type=cluster');
    expect(second.body.types.cluster!.resources.map((r) => r.name)).toEqual(['payments']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('/debug/clients takes node= and pages with the cursor it hands out', async () => {
    const byNode = await get<ClientsResponse>('/debug/clients?node=envoy-front');
    expect(byNode.body.clients.map((c) => c.streamId)).toEqual(['1']);
    expect(byNode.body.summary.streams).toBe(1);
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { body: ClientsResponse } = await get<ClientsResponse>(`/debug/clients?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.body.clients.length).toBe(1);
      expect(page.body.summary.streams).toBe(3);
      seen.push(page.body.clients[0]!.node!.id);
      cursor = page.body.nextCursor;
    }
    expect(seen).toEqual(['edge-proxy', 'envoy-front', 'grpc-client-7']);
  });

  it('/debug/clients/<id>/resources pages one range of names across the types', async () => {
    const first = await get<ClientResourcesResponse>('/debug/clients/1/resources?limit=1');
    expect(first.body.types.cluster).toMatchObject({ wildcard: true, count: 2 });
    expect(first.body.types.cluster!.resources.map((r) => r.name)).toEqual(['greeter']);
    expect(first.body.nextCursor).toBe('greeter');
    const second = await get<ClientResourcesResponse>('/debug/clients/1/resources?limit=1&cursor=greeter');
    expect(second.body.types.cluster!.resources.map((r) => r.name)).toEqual(['payments']);
    expect(second.body.types.route!.resources).toEqual([]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('/debug/summary counts services by state, instances by health and streams by status', async () => {
    const { body } = await get<SummaryResponse>('/debug/summary');
    expect(body.services).toEqual({ total: 3, live: 2, empty: 0, 'rejected-only': 1 });
    expect(body.instances).toEqual({ total: 4, healthy: 2, draining: 1, unhealthy: 1 });
    expect(body.rejected).toBe(3);
    expect(body.streams).toEqual({ total: 3, byStatus: { SYNCED: 1, STALE: 1, NACKED: 1, NOT_FOUND: 0, NOT_SENT: 0 } });
    expect(body).toMatchObject({ revision: '42', ready: true, watch: { state: 'watching' }, snapshotVersion: state.snap.version });
  });
});

describe('a subscription to a name that is not served', () => {
  it('shows as NOT_FOUND (waiting), not SYNCED, and lists the node under the unknown service', async () => {
    const saved = state.connected;
    state.connected = [...saved, waitingStream(state.snap)];
    try {
      const { body } = await get<ClientsResponse>('/debug/clients?node=waiting-client');
      const waiting = body.clients[0]!;
      expect(waiting.status).toBe('NOT_FOUND');
      expect(waiting.types.listener).toMatchObject({ status: 'NOT_FOUND', missing: ['nosuch'], missingCount: 1 });
      expect(waiting.types.cluster?.status).toBe('SYNCED');
      expect(body.summary.byStatus.NOT_FOUND).toBe(1);
      const subscribers = await get<SubscribersResponse>('/debug/services/nosuch/subscribers');
      expect(subscribers.status).toBe(200);
      expect(subscribers.body.known).toBe(false);
      expect(subscribers.body.byType.listener.map((s) => s.nodeId)).toEqual(['waiting-client']);
      expect((await get<SubscribersResponse>('/debug/services/greeter/subscribers')).body.known).toBe(true);
      const page = await get<string>('/services/nosuch');
      expect(page.status).toBe(404);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.body).toContain('wait for it (NOT_FOUND)');
      expect(page.body).toMatch(/waiting-client<\/span> \(LDS\)/);
    } finally {
      state.connected = saved;
    }
  });
});

describe('what clients supply is capped where views repeat it', () => {
  it('a 15 MB node id and a 1 MB NACK message stay short in /debug/clients and the page', async () => {
    const saved = state.connected;
    const huge = new DrivenStream(
      { id: '9', protocol: 'sotw', api: 'ads', peer: '127.0.0.1:50009' },
      { id: 'n'.repeat(15 * 1024 * 1024), cluster: 'c'.repeat(100_000), locality: { zone: 'z'.repeat(100_000) }, userAgentName: 'u'.repeat(100_000), userAgentVersion: 'v'.repeat(100_000), clientFeatures: Array.from({ length: 10_000 }, (_, i) => `f${i}`) },
    );
    huge.sotw(TYPE_URL.endpoint, ['greeter'], state.snap);
    huge.answer(TYPE_URL.endpoint, state.snap, 'm'.repeat(1024 * 1024));
    state.connected = [...saved, huge];
    try {
      const clients = await fetch(`http://${server.address}/debug/clients`);
      const text = await clients.text();
      expect(text.length).toBeLessThan(64 * 1024);
      const body = JSON.parse(text) as ClientsResponse;
      const shown = body.clients.find((c) => c.streamId === '9')!;
      expect(shown.node!.id).toBe(`${'n'.repeat(VIEW_STRING_LIMIT)}…`);
      expect(shown.node!.clientFeatures).toHaveLength(VIEW_NAMES_LIMIT);
      expect(shown.types.endpoint!.lastNack!.message).toHaveLength(VIEW_MESSAGE_LIMIT + 1);
      const page = await (await fetch(`http://${server.address}/`)).text();
      expect(page.length).toBeLessThan(200 * 1024);
      expect(page).not.toContain('n'.repeat(VIEW_STRING_LIMIT + 1));
      const subscribers = await (await fetch(`http://${server.address}/debug/services/greeter/subscribers`)).text();
      expect(subscribers.length).toBeLessThan(64 * 1024);
    } finally {
      state.connected = saved;
    }
  });
});
