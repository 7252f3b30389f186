// An Envoy needs only its bootstrap: a raw ADS client that presents itself as Envoy (user_agent_name "envoy")
// receives a socket listener (never an api_listener), RDS with a virtual host per service, CDS and EDS; services
// added in etcd appear, a node that declares its dependencies gets only those, and a ServicePolicy written to etcd
// reaches it as subset clusters and a weighted split.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { type AdsTestStream, type ReceivedResponse } from '../support/ads-client.js';
import { useXdsFixture } from '../support/xds-fixture.js';

const [CDS, EDS, LDS, RDS] = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route];
const ENVOY = { id: 'front-1', cluster: 'front', locality: {}, user_agent_name: 'envoy' };

function ack(stream: AdsTestStream, response: ReceivedResponse, names: string[] = []): void {
  stream.send({ type_url: response.typeUrl, resource_names: names, response_nonce: response.nonce, version_info: response.version });
}

/** Reads responses until one of `typeUrl` satisfies `accept`, ACKing everything on the way. */
async function until(stream: AdsTestStream, typeUrl: string, accept: (r: ReceivedResponse) => boolean = () => true): Promise<ReceivedResponse> {
  for (;;) {
    const response = await stream.next(10_000);
    ack(stream, response, response.typeUrl === EDS || response.typeUrl === RDS ? response.resources.map((r) => r.name) : []);
    if (response.typeUrl === typeUrl && accept(response)) return response;
  }
}

type VirtualHost = { name: string; domains: string[]; routes: Array<{ route?: { cluster?: string; weighted_clusters?: { clusters: Array<{ name: string; weight: { value: number } }> } } }> };

describe('Envoy nodes get listeners and routes from etcd-xds', () => {
  const fx = useXdsFixture(
    '10.0.0.3',
    [
      ['alpha', 'a1', 1001],
      ['beta', 'b1', 2001],
    ],
    { serviceGcMs: 1_500 },
  );

  it('serves a socket listener on 10000, a virtual host per service, and follows services added in etcd', async () => {
    const s = fx.open('sotw');
    s.send({ node: ENVOY, type_url: CDS, resource_names: [] });
    const cds = await until(s, CDS);
    expect(cds.resources.map((r) => r.name).sort()).toEqual(['alpha', 'beta']);
    s.send({ type_url: LDS, resource_names: [] });
    const lds = await until(s, LDS);
    expect(lds.resources.map((r) => r.name)).toEqual(['etcd-xds/http-10000']);
    const listener = lds.resources[0]!.message as { address?: { socket_address?: { port_value?: number } }; api_listener?: unknown };
    expect(listener.api_listener).toBeUndefined();
    expect(listener.address?.socket_address?.port_value).toBe(10000);
    s.send({ type_url: RDS, resource_names: ['etcd-xds/services'] });
    const rds = await until(s, RDS);
    const hosts = (rds.resources[0]!.message as { virtual_hosts: VirtualHost[] }).virtual_hosts;
    expect(hosts.map((h) => [h.name, h.domains])).toEqual([
      ['alpha', ['alpha', 'alpha:*']],
      ['beta', ['beta', 'beta:*']],
    ]);

    await fx.put('gamma', 'g1', 3001);
    const grown = await until(s, RDS, (r) => JSON.stringify(r.resources).includes('gamma'));
    expect((grown.resources[0]!.message as { virtual_hosts: VirtualHost[] }).virtual_hosts.map((h) => h.name)).toEqual(['alpha', 'beta', 'gamma']);
    // The proxyless view is untouched: a gRPC client still gets one api_listener per service.
    const g = fx.open('sotw');
    g.send({ node: { id: 'grpc-1', cluster: 'c', locality: {}, user_agent_name: 'gRPC Node Pure JS' }, type_url: LDS, resource_names: ['alpha'] });
    const proxyless = await g.next(10_000);
    expect((proxyless.resources[0]!.message as { api_listener?: unknown }).api_listener).toBeDefined();
  });

  it('gives a node that declares its dependencies only those clusters and routes', async () => {
    const s = fx.open('sotw');
    const metadata = { fields: { 'etcd-xds.depends-on': { stringValue: 'beta' }, 'etcd-xds.listener-port': { numberValue: 8080 } } };
    s.send({ node: { ...ENVOY, id: 'scoped-1', metadata }, type_url: CDS, resource_names: [] });
    const cds = await until(s, CDS);
    expect(cds.resources.map((r) => r.name)).toEqual(['beta']);
    s.send({ type_url: LDS, resource_names: [] });
    const lds = await until(s, LDS);
    expect(lds.resources.map((r) => r.name)).toEqual(['etcd-xds/http-8080']);
    s.send({ type_url: RDS, resource_names: ['etcd-xds/services'] });
    const rds = await until(s, RDS);
    expect((rds.resources[0]!.message as { virtual_hosts: VirtualHost[] }).virtual_hosts.map((h) => h.name)).toEqual(['beta']);
  });

  it('applies a ServicePolicy from etcd: one cluster per subset and a 90/10 split, for Envoy and proxyless alike', async () => {
    await fx.client.put('/services/canary/v1').value(JSON.stringify({ address: '10.0.0.3', port: 4001, metadata: { version: 'v1' } }));
    await fx.client.put('/services/canary/v2').value(JSON.stringify({ address: '10.0.0.3', port: 4002, metadata: { version: 'v2' } }));
    const s = fx.open('sotw');
    s.send({ node: { ...ENVOY, id: 'front-2' }, type_url: CDS, resource_names: [] });
    await until(s, CDS, (r) => r.resources.some((x) => x.name === 'canary'));
    s.send({ type_url: RDS, resource_names: ['etcd-xds/services'] });
    await until(s, RDS);

    const policy = { subsets: { key: 'version', split: [{ value: 'v1', weight: 90 }, { value: 'v2', weight: 10 }] } };
    await fx.client.put('/etcd-xds/config/services/canary').value(JSON.stringify(policy));
    const cds = await until(s, CDS, (r) => r.resources.some((x) => x.name === 'canary~version=v2'));
    expect(cds.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['canary', 'canary~version=v1', 'canary~version=v2']));
    const rds = await until(s, RDS, (r) => JSON.stringify(r.resources).includes('weighted_clusters'));
    const host = (rds.resources[0]!.message as { virtual_hosts: VirtualHost[] }).virtual_hosts.find((h) => h.name === 'canary')!;
    const split = host.routes.at(-1)!.route!.weighted_clusters!.clusters.map((c) => [c.name, c.weight.value]);
    expect(split).toEqual([
      ['canary~version=v1', 90],
      ['canary~version=v2', 10],
    ]);
    // The subset assignment holds only its subset's endpoints.
    s.send({ type_url: EDS, resource_names: ['canary~version=v2'] });
    const eds = await until(s, EDS, (r) => r.resources.some((x) => x.name === 'canary~version=v2'));
    expect(JSON.stringify(eds.resources[0]!.message)).toContain('4002');
    expect(JSON.stringify(eds.resources[0]!.message)).not.toContain('4001');

    // A bad value is rejected with its reason and the last good policy keeps serving.
    await fx.client.put('/etcd-xds/config/services/canary').value('{"subsets": {"key": "version", "split": [{"value": "v1", "weight": "lots"}]}}');
    await expect.poll(() => fx.cp.plane.config.view().rejected.get('/etcd-xds/config/services/canary')?.keepsLastGood, { timeout: 10_000 }).toBe(true);
    expect(fx.cp.plane.config.view().policies.get('canary')?.spec).toEqual(policy);
  });

  it('drops a service whose last instance left from RDS and CDS once its grace period is over', async () => {
    await fx.put('short-lived', 's1', 5001);
    const s = fx.open('sotw');
    s.send({ node: { ...ENVOY, id: 'front-gc' }, type_url: CDS, resource_names: [] });
    await until(s, CDS, (r) => r.resources.some((x) => x.name === 'short-lived'));
    s.send({ type_url: RDS, resource_names: ['etcd-xds/services'] });
    await until(s, RDS, (r) => JSON.stringify(r.resources).includes('short-lived'));
    await fx.client.delete().key('/services/short-lived/s1');
    // Within the grace period the cluster stays, with an empty assignment; then its host goes, and the cluster after
    // it (what refers goes before what it refers to).
    const rds = await until(s, RDS, (r) => !JSON.stringify(r.resources).includes('short-lived'));
    expect((rds.resources[0]!.message as { virtual_hosts: VirtualHost[] }).virtual_hosts.map((h) => h.name)).toContain('alpha');
    const cds = await until(s, CDS, (r) => !r.resources.some((x) => x.name === 'short-lived'));
    expect(cds.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['alpha', 'beta']));
  });

  it('moves a connected node to a gateway that starts matching it, and back when the gateway goes', async () => {
    const s = fx.open('delta');
    const node = { ...ENVOY, id: 'edge-1', cluster: 'edge' };
    s.send({ node, type_url: LDS, resource_names_subscribe: [] });
    const first = await s.next(10_000);
    expect(first.resources.map((r) => r.name)).toEqual(['etcd-xds/http-10000']);
    s.send({ type_url: LDS, response_nonce: first.nonce });
    const viewsBefore = fx.cp.plane.publisher.envoyViews().size;

    const gateway = {
      match: { nodeCluster: 'edge' },
      listeners: [{ name: 'web', port: 8088 }],
      virtualHosts: [{ name: 'site', domains: ['edge.example.com'], routes: [{ name: 'all', match: { prefix: '/' }, service: 'alpha' }] }],
    };
    await fx.client.put('/etcd-xds/config/gateways/edge').value(JSON.stringify(gateway));
    const moved = await s.next(10_000);
    expect(moved.typeUrl).toBe(LDS);
    expect(moved.resources.map((r) => r.name)).toEqual(['gateway/edge/web']);
    expect(moved.removed).toEqual(['etcd-xds/http-10000']);
    const listener = moved.resources[0]!.message as { address?: { socket_address?: { port_value?: number } } };
    expect(listener.address?.socket_address?.port_value).toBe(8088);
    s.send({ type_url: LDS, response_nonce: moved.nonce });

    await fx.client.delete().key('/etcd-xds/config/gateways/edge');
    const back = await s.next(10_000);
    expect(back.resources.map((r) => r.name)).toEqual(['etcd-xds/http-10000']);
    expect(back.removed).toEqual(['gateway/edge/web']);
    // The gateway's view was held by this stream alone, so it went with the move; closing leaves the default one.
    expect(fx.cp.plane.publisher.envoyViews().size).toBe(viewsBefore);
    const defaultView = JSON.stringify(['envoy', 10000, null, null]);
    const holders = fx.cp.plane.publisher.envoyViews().get(defaultView)!;
    s.close();
    await expect.poll(() => fx.cp.plane.publisher.envoyViews().get(defaultView) ?? 0, { timeout: 10_000 }).toBe(holders - 1);
  });
});
