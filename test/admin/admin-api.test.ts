// The admin HTTP API over a real listener: every JSON endpoint, bad input, and what a person's curl gets back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import type { ClientsResponse, ClientResourcesResponse } from '../../src/admin/clients-view.js';
import type { ServicesResponse, ServiceView, SubscribersResponse } from '../../src/admin/services-view.js';
import type { SnapshotResponse } from '../../src/admin/snapshot-view.js';
import type { SummaryResponse } from '../../src/admin/summary-view.js';
import { VIEW_MESSAGE_LIMIT, VIEW_NAMES_LIMIT, VIEW_STRING_LIMIT } from '../../src/admin/view-limits.js';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { DrivenStream, FixtureState, GREETER_EDS_BEFORE, INSTANCES, NACK_MESSAGE, snapshot, waitingStream } from './fixtures.js';

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

describe('health endpoints', () => {
  it('binds the asked loopback host with a real port', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.address).not.toBe('127.0.0.1:0');
  });

  it('/healthz is 200 and /readyz follows the first full sync', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    state.isReady = false;
    try {
      const notReady = await get<{ ready: boolean }>('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body.ready).toBe(false);
    } finally {
      state.isReady = true;
    }
  });
});

describe('/debug/services', () => {
  it('lists every service, including one that only has rejected entries', async () => {
    const { status, body } = await get<ServicesResponse>('/debug/services');
    expect(status).toBe(200);
    expect(body.revision).toBe('42');
    expect(body.ready).toBe(true);
    expect(body.watch.state).toBe('watching');
    expect(body.snapshotVersion).toBe(state.snap.version);
    expect(body.services.map((s) => s.name)).toEqual(['greeter', 'orphan', 'payments']);
    expect(body).toMatchObject({ total: 3, nextCursor: null });
    const orphan = body.services.find((s) => s.name === 'orphan')!;
    expect(orphan.instances).toEqual([]);
    expect(orphan.rejected.map((r) => r.key)).toEqual(['/services/orphan/x']);
    expect(orphan.versions).toEqual({ cluster: null, endpoint: null, listener: null, route: null });
    // Wildcard subscribers cover served resources only; orphan has none, and nobody names it.
    expect(orphan.subscribers).toBe(0);
  });

  it('shows each instance as registered and its health as published in EDS', async () => {
    const { body } = await get<ServiceView>('/debug/services/greeter');
    expect(body.instances.map((i) => [i.instanceId, `${i.address}:${i.port}`, i.weight, i.status, i.health])).toEqual([
      ['a', '10.0.0.5:8080', 2, 'serving', 'HEALTHY'],
      ['b', '10.0.0.6:8080', 0, 'serving', 'DRAINING'],
      ['c', '10.0.0.7:8080', 1, 'serving', 'UNHEALTHY'],
    ]);
    expect(body.instances.every((i) => i.healthPublished)).toBe(true);
    const a = body.instances[0]!;
    expect(a).toMatchObject({
      key: '/services/greeter/a',
      locality: { region: 'eu-west-1', zone: 'eu-west-1a' },
      format: 'json',
      lease: INSTANCES.a.lease,
      leaseHex: BigInt(INSTANCES.a.lease).toString(16),
      metadata: { version: 'v2' },
      healthCheck: { type: 'http', path: '/healthz' },
      probe: { type: 'http', verdict: 'healthy', lastResult: 'ok', lastLatencyMs: 3, totalProbes: 12 },
      rejectedUpdate: null,
    });
    const c = body.instances[2]!;
    expect(c.probe).toMatchObject({ verdict: 'unhealthy', consecutiveFailures: 3, lastError: 'connect ECONNREFUSED 10.0.0.7:8080' });
    expect(c.probe?.lastProbeAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(body.instances[1]!.probe).toBeNull();
    expect(body.counts).toEqual({ instances: 3, healthy: 1, draining: 1, unhealthy: 1, rejected: 1 });
    expect(body.rejected).toEqual([
      expect.objectContaining({ key: '/services/greeter/bad', keepsLastGood: false, reason: expect.stringContaining('hostname') }),
    ]);
    expect(body.versions).toEqual({
      cluster: state.snap.resources.get(TYPE_URL.cluster)!.get('greeter')!.version,
      endpoint: state.snap.resources.get(TYPE_URL.endpoint)!.get('greeter')!.version,
      listener: state.snap.resources.get(TYPE_URL.listener)!.get('greeter')!.version,
      route: state.snap.resources.get(TYPE_URL.route)!.get('greeter')!.version,
    });
    // envoy-front (wildcard CDS/LDS, EDS+RDS by name) and grpc-client-7 (by name); edge-proxy watches payments only.
    expect(body.subscribers).toBe(2);
  });

  it('marks an instance whose newer value was rejected while its last good value keeps serving', async () => {
    const { body } = await get<ServiceView>('/debug/services/payments');
    expect(body.instances[0]).toMatchObject({ instanceId: 'p1', address: 'fd00::1', health: 'HEALTHY', format: 'host-port' });
    expect(body.instances[0]!.rejectedUpdate).toContain('70000');
    expect(body.rejected[0]).toMatchObject({ key: '/services/payments/p1', keepsLastGood: true });
    expect(body.subscribers).toBe(2);
  });

  it('falls back to the expected health for an instance the served snapshot does not hold yet', async () => {
    const fresh = { ...INSTANCES.c, instanceId: 'd', key: '/services/greeter/d', address: '10.0.0.8', status: 'draining' as const };
    const saved = state.view;
    const services = new Map(saved.services);
    services.set('greeter', new Map(saved.services.get('greeter')!).set('d', fresh));
    state.view = { ...saved, services };
    try {
      const { body } = await get<ServiceView>('/debug/services/greeter');
      expect(body.instances.find((i) => i.instanceId === 'd')).toMatchObject({ health: 'DRAINING', healthPublished: false });
    } finally {
      state.view = saved;
    }
  });

  it('answers 404 for an unknown service and 400 for a malformed name', async () => {
    const unknown = await get<{ error: string }>('/debug/services/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toContain('nope');
    expect((await get('/debug/services/%E0%A4%A')).status).toBe(400);
  });
});

describe('/debug/services/<name>/subscribers', () => {
  it('groups the watching nodes per resource type', async () => {
    const { status, body } = await get<SubscribersResponse>('/debug/services/greeter/subscribers');
    expect(status).toBe(200);
    expect(body.count).toBe(2);
    const who = (kind: keyof SubscribersResponse['byType']) => body.byType[kind].map((s) => [s.nodeId, s.wildcard]);
    expect(who('cluster')).toEqual([
      ['envoy-front', true],
      ['grpc-client-7', false],
    ]);
    expect(who('endpoint')).toEqual([
      ['envoy-front', false],
      ['grpc-client-7', false],
    ]);
    expect(who('listener')).toEqual([['envoy-front', true]]);
    expect(body.byType.endpoint[1]).toMatchObject({
      streamId: '2',
      cluster: 'clients',
      peer: '127.0.0.1:50002',
      protocol: 'delta',
      api: 'ads',
    });
  });

  it('answers for a name nobody registered when a node asks for it, and 404 otherwise', async () => {
    const ghost = await get<SubscribersResponse>('/debug/services/ghost/subscribers');
    expect(ghost.status).toBe(200);
    expect(ghost.body.byType.endpoint.map((s) => s.nodeId)).toEqual(['edge-proxy']);
    expect((await get('/debug/services/nothing/subscribers')).status).toBe(404);
  });
});

describe('/debug/clients', () => {
  it('shows every stream with its per-type sync status and a summary', async () => {
    const { body } = await get<ClientsResponse>('/debug/clients');
    expect(body.summary).toEqual({ streams: 3, byStatus: { SYNCED: 1, STALE: 1, NACKED: 1, NOT_FOUND: 0, NOT_SENT: 0 } });
    expect(body.nextCursor).toBeNull();
    expect(body.clients.map((c) => [c.node?.id, c.protocol, c.api, c.status])).toEqual([
      ['edge-proxy', 'sotw', 'eds', 'STALE'],
      ['envoy-front', 'sotw', 'ads', 'SYNCED'],
      ['grpc-client-7', 'delta', 'ads', 'NACKED'],
    ]);
    const grpc = body.clients[2]!;
    expect(grpc.node).toMatchObject({ cluster: 'clients', userAgentName: 'gRPC Node Pure JS', userAgentVersion: '1.0' });
    expect(grpc.types.endpoint).toMatchObject({
      xds: 'EDS',
      subscribed: ['greeter'],
      status: 'NACKED',
      lastAcked: { version: snapshot({ greeterEdsBefore: true }).version },
      lastNack: { version: state.snap.version, message: NACK_MESSAGE },
    });
    expect(grpc.types.cluster?.status).toBe('SYNCED');
    expect(grpc.types.listener).toBeUndefined();
    const front = body.clients[1]!;
    expect(front.types.cluster).toMatchObject({ wildcard: true, status: 'SYNCED' });
    expect(front.types.cluster?.lastSent?.version).toBe(front.types.cluster?.lastAcked?.version);
    expect(front.node?.locality).toEqual({ region: 'eu-west-1', zone: 'eu-west-1a' });
    const edge = body.clients[0]!;
    expect(edge.peer).toBe('[::1]:50003');
    expect(edge.types.endpoint?.staleForMs).toBeGreaterThanOrEqual(0);
    // In flight beats missing: edge-proxy also waits for "ghost", but its response is not ACKed yet.
    expect(edge.types.endpoint).toMatchObject({ status: 'STALE', missing: ['ghost'], missingCount: 1, subscribedCount: 2 });
    expect(front.types.cluster?.staleForMs).toBeNull();
  });

  it('dumps what a node would receive now, with whether it ACKed each version (by node id)', async () => {
    const { status, body } = await get<ClientResourcesResponse>('/debug/clients/grpc-client-7/resources');
    expect(status).toBe(200);
    expect(body.matchedBy).toBe('node');
    expect(body.streamIds).toEqual(['2']);
    const eds = body.types.endpoint!;
    expect(eds.resources.map((r) => [r.name, r.acked, r.ackedVersion])).toEqual([['greeter', false, GREETER_EDS_BEFORE]]);
    expect(eds.resources[0]!.resource).toMatchObject({ '@type': TYPE_URL.endpoint, cluster_name: 'greeter' });
    expect(body.types.cluster!.resources.map((r) => [r.name, r.acked])).toEqual([['greeter', true]]);
  });

  it('expands wildcards to every served resource and lists names that are not served (by stream id)', async () => {
    const front = await get<ClientResourcesResponse>('/debug/clients/1/resources');
    expect(front.body.matchedBy).toBe('stream');
    expect(front.body.types.cluster!.wildcard).toBe(true);
    expect(front.body.types.cluster!.resources.map((r) => [r.name, r.acked])).toEqual([
      ['greeter', true],
      ['payments', true],
    ]);
    const edge = await get<ClientResourcesResponse>('/debug/clients/3/resources');
    expect(edge.body.types.endpoint!.missing).toEqual(['ghost']);
    expect(edge.body.types.endpoint!.resources.map((r) => [r.name, r.acked])).toEqual([['payments', false]]);
    expect((await get('/debug/clients/nobody/resources')).status).toBe(404);
  });
});

describe('/debug/snapshot', () => {
  it('returns every type with versions, sizes and proto3 JSON', async () => {
    const { body } = await get<SnapshotResponse>('/debug/snapshot');
    expect(body.version).toBe(state.snap.version);
    expect(Object.keys(body.types)).toEqual(['cluster', 'endpoint', 'listener', 'route']);
    const cluster = body.types.cluster!;
    expect(cluster.typeUrl).toBe(TYPE_URL.cluster);
    expect(cluster.resources.map((r) => r.name)).toEqual(['greeter', 'payments']);
    const greeter = state.snap.resources.get(TYPE_URL.cluster)!.get('greeter')!;
    expect(cluster.resources[0]).toMatchObject({ version: greeter.version, bytes: greeter.body.byteLength });
    expect(cluster.resources[0]!.resource).toMatchObject({ '@type': TYPE_URL.cluster, name: 'greeter', type: 'EDS' });
  });

  it('filters by type (kind, xDS name or type URL) and by name', async () => {
    for (const type of ['endpoint', 'EDS', encodeURIComponent(TYPE_URL.endpoint)]) {
      const { body } = await get<SnapshotResponse>(`/debug/snapshot?type=${type}`);
      expect(Object.keys(body.types)).toEqual(['endpoint']);
      expect(body.types.endpoint!.count).toBe(2);
    }
    const byName = await get<SnapshotResponse>('/debug/snapshot?name=payments');
    expect(Object.values(byName.body.types).map((t) => t.resources.map((r) => r.name))).toEqual([
      ['payments'],
      ['payments'],
      ['payments'],
      ['payments'],
    ]);
    const one = await get<SnapshotResponse>('/debug/snapshot?type=route&name=greeter');
    expect(one.body.types.route!.resources[0]!.resource).toMatchObject({ virtual_hosts: [{ domains: ['*'] }] });
  });

  it('answers 400 for an unknown type and 404 for an unknown name', async () => {
    const bad = await get<{ error: string }>('/debug/snapshot?type=secret');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('secret');
    expect((await get('/debug/snapshot?name=nope')).status).toBe(404);
  });
});

describe('bad requests', () => {
  it('answers unknown paths with JSON 404 and writes with 405', async () => {
    const missing = await get<{ error: string }>('/debug/nothing');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/json');
    expect(missing.body.error).toContain('/debug/nothing');
    expect((await get('/debug/services', { method: 'POST' })).status).toBe(405);
  });

  it('keeps serving when a state accessor throws', async () => {
    const saved = state.streams;
    state.streams = () => {
      throw new Error('stream table unavailable');
    };
    try {
      const failed = await get<{ error: string }>('/debug/clients');
      expect(failed.status).toBe(500);
      expect(failed.body.error).toContain('stream table unavailable');
    } finally {
      state.streams = saved;
    }
    expect((await get('/debug/clients')).status).toBe(200);
  });
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
