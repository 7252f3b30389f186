// The admin API over a real etcd and control plane: a bad ServicePolicy written to etcd shows in /debug/config with
// its reason while the last good one keeps serving, and a raw client presenting as Envoy is shown what it really
// receives (its socket listener), with its view.
import { describe, expect, it } from 'vitest';
import type { ClientResourcesResponse, ClientsResponse } from '../../src/admin/clients-view.js';
import type { ConfigResponse } from '../../src/admin/config-view.js';
import type { SnapshotResponse } from '../../src/admin/snapshot-view.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { eventually } from '../support/eventually.js';
import { useXdsFixture } from '../support/xds-fixture.js';

const KEY = '/etcd-xds/config/services/alpha';
const GOOD = { circuitBreakers: { maxConnections: 7 } };
const ENVOY = { id: 'front-e2e', cluster: 'front', locality: {}, user_agent_name: 'envoy' };

type ClusterJson = { circuit_breakers?: { thresholds?: Array<{ max_connections?: { value?: number } }> } };

describe('configuration and Envoy views in the admin API', () => {
  const fx = useXdsFixture('10.0.0.4', [['alpha', 'a1', 1001]]);

  async function admin<T>(path: string): Promise<T> {
    const response = await fetch(`${fx.cp.adminUrl}${path}`);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }

  async function alphaMaxConnections(): Promise<number | undefined> {
    const snapshot = await admin<SnapshotResponse>('/debug/snapshot?type=cluster&name=alpha');
    return (snapshot.types.cluster?.resources[0]?.resource as ClusterJson | undefined)?.circuit_breakers?.thresholds?.[0]?.max_connections?.value;
  }

  it('shows a rejected policy with its reason while the last good one keeps serving, and what an Envoy receives', async () => {
    await fx.client.put(KEY).value(JSON.stringify(GOOD));
    await eventually(alphaMaxConnections, (value) => value === 7, 'the good policy in the served cluster');

    const envoy = fx.open('sotw');
    envoy.send({ node: ENVOY, type_url: TYPE_URL.listener, resource_names: [] });
    const lds = await envoy.next(10_000);
    expect(lds.resources.map((r) => r.name)).toEqual(['etcd-xds/http-10000']);
    envoy.send({ type_url: TYPE_URL.listener, resource_names: [], response_nonce: lds.nonce, version_info: lds.version });

    await fx.client.put(KEY).value(JSON.stringify({ circuitBreakers: { maxConnections: 'lots' } }));
    const config = await eventually(
      () => admin<ConfigResponse>('/debug/config?name=alpha'),
      (body) => body.entries[0]?.state === 'rejected, last good value serving',
      'the rejected value in /debug/config',
    );
    const entry = config.entries[0]!;
    expect(entry).toMatchObject({ kind: 'ServicePolicy', name: 'alpha', key: KEY, spec: GOOD, rejected: { keepsLastGood: true } });
    expect(entry.rejected!.reason).toMatch(/^circuitBreakers\.maxConnections: /);
    expect(entry.rejected!.errors.map((e) => e.path)).toEqual(['circuitBreakers.maxConnections']);
    expect(entry.reaches.nodes).toContain('front-e2e');
    expect(Number(entry.modRevision)).toBeGreaterThan(Number(entry.specModRevision));
    expect((await admin<ConfigResponse>('/debug/config?state=rejected')).entries.map((e) => e.key)).toEqual([KEY]);
    // The previous policy keeps serving.
    expect(await alphaMaxConnections()).toBe(7);

    const resources = await eventually(
      () => admin<ClientResourcesResponse>('/debug/clients/front-e2e/resources'),
      (body) => body.types.listener?.resources[0]?.acked === true,
      'the Envoy ACK of its listener',
    );
    expect(resources.view).toEqual({ kind: 'envoy', port: 10000, gateway: null, dependsOn: null, dependsOnCount: null });
    const listener = resources.types.listener!.resources;
    expect(listener.map((r) => r.name)).toEqual(['etcd-xds/http-10000']);
    expect(listener[0]!.resource).toMatchObject({ '@type': TYPE_URL.listener, address: { socket_address: { port_value: 10000 } } });
    expect(listener[0]!.resource).not.toHaveProperty('api_listener');
    const clients = await admin<ClientsResponse>('/debug/clients?node=front-e2e');
    expect(clients.clients.map((c) => [c.view?.kind, c.types.listener?.status])).toEqual([['envoy', 'SYNCED']]);
  });
});
