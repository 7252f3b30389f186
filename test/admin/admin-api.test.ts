// The admin HTTP API over a real listener: every JSON endpoint, bad input, and what a person's curl gets back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import type { ClientsResponse, ClientResourcesResponse } from '../../src/admin/clients-view.js';
import type { ServicesResponse, ServiceView, SubscribersResponse } from '../../src/admin/services-view.js';
import type { SnapshotResponse } from '../../src/admin/snapshot-view.js';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { FixtureState, GREETER_EDS_BEFORE, INSTANCES, NACK_MESSAGE, snapshot } from './fixtures.js';

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
