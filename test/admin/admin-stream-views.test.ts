// The view each stream receives, over a real admin listener: shown per stream, and each stream judged against, and
// dumped from, the snapshot of its own view (an Envoy's socket listener, RouteConfiguration and scoped clusters).
import { describe, expect, it } from 'vitest';
import type { ClientResourcesResponse, ClientsResponse } from '../../src/admin/clients-view.js';
import type { ServiceView, SubscribersResponse } from '../../src/admin/services-view.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { withEnvoyViews } from './fixtures.js';
import { useFixtureAdmin } from './fixture-server.js';

const admin = useFixtureAdmin(withEnvoyViews);
const get = admin.get;

describe('the view each stream receives', () => {
  it('shows it in /debug/clients, and judges Envoy streams against their own view (their routes are served)', async () => {
    const { body } = await get<ClientsResponse>('/debug/clients');
    const byNode = new Map(body.clients.map((c) => [c.node?.id, c]));
    expect(byNode.get('grpc-client-7')!.view).toEqual({ kind: 'grpc' });
    expect(byNode.get('envoy-scoped')!.view).toEqual({ kind: 'envoy', port: 10000, gateway: null, dependsOn: ['payments'], dependsOnCount: 1 });
    expect(byNode.get('gateway-1')!.view).toEqual({ kind: 'envoy', port: 10000, gateway: 'edge', dependsOn: null, dependsOnCount: null });
    // etcd-xds/services is in the Envoy view, not in the proxyless snapshot: not NOT_FOUND.
    expect(byNode.get('envoy-scoped')!.types.route).toMatchObject({ subscribed: ['etcd-xds/services'], missing: [], status: 'SYNCED' });
    expect(body.summary.byStatus).toEqual({ SYNCED: 3, STALE: 1, NACKED: 1, NOT_FOUND: 0, NOT_SENT: 0 });
  });

  it('dumps what an Envoy node receives: its socket listener, its RouteConfiguration and its scoped clusters', async () => {
    const { status, body } = await get<ClientResourcesResponse>('/debug/clients/envoy-scoped/resources');
    expect(status).toBe(200);
    expect(body.view).toEqual({ kind: 'envoy', port: 10000, gateway: null, dependsOn: ['payments'], dependsOnCount: 1 });
    const envoySnapshot = admin.state.viewSnaps.get(admin.state.streams().find((s) => s.id === '6')!.view)!;
    expect(body.snapshotVersion).toBe(envoySnapshot.version);
    expect(body.snapshotVersion).not.toBe(admin.state.snap.version);
    expect(body.streams).toEqual([{ streamId: '6', view: body.view, snapshotVersion: envoySnapshot.version }]);
    expect(body.types.cluster!.resources.map((r) => [r.name, r.acked])).toEqual([['payments', true]]);
    const listener = body.types.listener!.resources;
    expect(listener.map((r) => [r.name, r.acked])).toEqual([['etcd-xds/http-10000', true]]);
    expect(listener[0]!.resource).toMatchObject({ '@type': TYPE_URL.listener, address: { socket_address: { address: '0.0.0.0', port_value: 10000 } } });
    expect(listener[0]!.resource).not.toHaveProperty('api_listener');
    const route = body.types.route!.resources[0]!;
    expect(route).toMatchObject({ name: 'etcd-xds/services', acked: true });
    expect((route.resource.virtual_hosts as Array<{ name: string }>).map((h) => h.name)).toEqual(['payments']);

    const gateway = await get<ClientResourcesResponse>('/debug/clients/gateway-1/resources');
    expect(gateway.body.types.listener!.resources.map((r) => [r.name, (r.resource.address as { socket_address: { port_value: number } }).socket_address.port_value])).toEqual([
      ['gateway/edge/https', 8443],
    ]);
    expect(gateway.body.types.cluster!.resources.map((r) => r.name)).toEqual(['greeter']);
  });

  it('counts an Envoy as watching a service only when its view holds the service', async () => {
    const payments = await get<SubscribersResponse>('/debug/services/payments/subscribers');
    expect(payments.body.byType.cluster.map((s) => s.nodeId)).toContain('envoy-scoped');
    const greeter = await get<SubscribersResponse>('/debug/services/greeter/subscribers');
    expect(greeter.body.byType.cluster.map((s) => s.nodeId)).not.toContain('envoy-scoped');
    expect(greeter.body.byType.cluster.map((s) => s.nodeId)).toContain('gateway-1');
    // No Envoy view holds the proxyless listener named after a service.
    expect(greeter.body.byType.listener.map((s) => s.nodeId)).toEqual(['envoy-front']);
    const service = await get<ServiceView>('/debug/services/greeter');
    expect(service.body.subscribers).toBe(3);
  });
});
