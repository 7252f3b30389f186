// Which view a node gets (client kind, port, scope, gateway) and what that view holds: Envoy gets socket listeners
// with RDS routes per service and never an api_listener; subsets get their own clusters and assignments holding only
// their instances; a node naming its dependencies gets only those.
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../../src/config/store.js';
import type { ConfigView } from '../../src/config/types.js';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { discoveryPackageDefinition } from '../../src/protos/grpc-services.js';
import { viewAffectedBy } from '../../src/views/affected.js';
import { plainNodeMetadata } from '../../src/views/node-metadata.js';
import { nodeView, viewKeyOf, viewSpecOf, type NodeFacts } from '../../src/views/node-view.js';
import { toProto3Json } from '../../src/views/proto3-json.js';
import { envoyScope, resourcesFor, type ViewResources } from '../../src/views/view-resources.js';
import { CANARY_POLICY, FRONT_GATEWAY, registrations } from './fixtures.js';

const PREFIX = '/etcd-xds/config/';
const LISTENER = 'envoy.config.listener.v3.Listener';
const ROUTE = 'envoy.config.route.v3.RouteConfiguration';

function envoy(metadata: Record<string, unknown> = {}, cluster = 'edge'): NodeFacts {
  return { id: `envoy-${Math.random()}`, cluster, userAgentName: 'envoy', metadata };
}

function config(objects: Record<string, object> = {}): ConfigView {
  const store = new ConfigStore({ prefix: PREFIX });
  for (const [key, value] of Object.entries(objects)) store.applyPut(`${PREFIX}${key}`, JSON.stringify(value), '2');
  return store.view();
}

function resources(node: NodeFacts, view: ConfigView): ViewResources {
  return resourcesFor(nodeView(node, view).spec, { services: registrations(), verdictOf: () => undefined, config: view });
}

function endpointAddresses(resourcesOf: ViewResources, name: string): string[] {
  return (resourcesOf.endpoints.get(name)?.endpoints ?? []).flatMap((group) =>
    (group.lb_endpoints ?? []).map((lb) => `${lb.endpoint?.address?.socket_address?.address}`),
  );
}

describe('nodeView', () => {
  it('tells Envoy from gRPC by user_agent_name, unless node metadata says otherwise', () => {
    const empty = config();
    expect(nodeView(envoy(), empty).spec.client).toBe('envoy');
    expect(nodeView({ ...envoy(), userAgentName: 'gRPC Node Pure JS' }, empty).spec.client).toBe('grpc');
    expect(nodeView({ ...envoy(), userAgentName: 'gRPC C-core' }, empty).spec.client).toBe('grpc');
    expect(nodeView({ ...envoy({ 'etcd-xds.client': 'grpc' }) }, empty).spec.client).toBe('grpc');
    expect(nodeView({ ...envoy({ 'etcd-xds.client': 'envoy' }), userAgentName: 'custom' }, empty).spec.client).toBe('envoy');
    const odd = nodeView(envoy({ 'etcd-xds.client': 'sidecar' }), empty);
    expect(odd.spec.client).toBe('envoy');
    expect(odd.problems).toEqual(['etcd-xds.client must be "envoy" or "grpc"; detected from user_agent_name instead']);
  });

  it('shares one key across nodes of a group, whatever their ids and whichever way they list dependencies', () => {
    const empty = config();
    const a = nodeView(envoy({ 'etcd-xds.depends-on': 'greeter, billing' }), empty);
    const b = nodeView(envoy({ 'etcd-xds.depends-on': ['billing', 'greeter', 'greeter'] }), empty);
    expect(a.key).toBe(b.key);
    expect(a.spec).toEqual({ client: 'envoy', port: 10000, dependsOn: ['billing', 'greeter'] });
    expect(nodeView(envoy(), empty).key).not.toBe(a.key);
    expect(nodeView(envoy({ 'etcd-xds.listener-port': 8000 }), empty).key).not.toBe(nodeView(envoy(), empty).key);
    expect(nodeView({ ...envoy(), userAgentName: 'gRPC Node Pure JS', metadata: { 'etcd-xds.depends-on': 'x' } }, empty).key).toBe('grpc');
  });

  it('reads a view key back into the spec it was made from, and nothing else', () => {
    const view = config({ 'gateways/front': FRONT_GATEWAY });
    const nodes = [
      envoy(),
      envoy({ 'etcd-xds.depends-on': 'greeter, billing', 'etcd-xds.listener-port': 8000 }),
      envoy({ 'etcd-xds.depends-on': [] }, 'front'),
      { ...envoy(), userAgentName: 'gRPC Node Pure JS' },
    ];
    for (const node of nodes) {
      const { spec, key } = nodeView(node, view);
      expect(viewSpecOf(key)).toEqual(spec);
      expect(viewKeyOf(viewSpecOf(key)!)).toBe(key);
    }
    expect(viewSpecOf(nodeView(envoy({}, 'front'), view).key)).toEqual({ client: 'envoy', port: 10000, gateway: 'front' });
    for (const bad of ['', 'envoy', '{}', '["envoy",0,null,null]', '["envoy",80,7,null]', '["envoy",80,null,[1]]', '["grpc",80,null,null]', '["envoy",80,null]']) {
      expect(viewSpecOf(bad)).toBeUndefined();
    }
  });

  it('takes the port from node metadata or the default option, ignoring bad values with a reason', () => {
    const empty = config();
    expect(nodeView(envoy({ 'etcd-xds.listener-port': '8080' }), empty).spec.port).toBe(8080);
    expect(nodeView(envoy(), empty, { defaultPort: 9000 }).spec.port).toBe(9000);
    const bad = nodeView(envoy({ 'etcd-xds.listener-port': 70000 }), empty);
    expect(bad.spec.port).toBe(10000);
    expect(bad.problems).toEqual(['etcd-xds.listener-port must be a port from 1 to 65535; using 10000']);
    const names = nodeView(envoy({ 'etcd-xds.depends-on': ['greeter', 'no/slash', 7] }), empty);
    expect(names.spec.dependsOn).toEqual(['greeter']);
    expect(names.problems).toEqual(['etcd-xds.depends-on: 1 entries are not service names and were ignored']);
  });

  it('matches a gateway by node cluster or node metadata; the first by name wins', () => {
    const view = config({
      'gateways/front': FRONT_GATEWAY,
      'gateways/a-edge': { match: { nodeMetadata: { role: 'edge' } }, serviceHostRouting: true },
    });
    expect(nodeView(envoy({}, 'front'), view).spec.gateway).toBe('front');
    expect(nodeView(envoy({ role: 'edge' }, 'front'), view).spec.gateway).toBe('a-edge');
    expect(nodeView(envoy({ role: 'other' }), view).spec.gateway).toBeUndefined();
  });
});

describe('an Envoy view', () => {
  it('is one HTTP listener on 0.0.0.0:10000 with RDS over ADS and the router, and a virtual host per service', () => {
    const out = resources(envoy(), config());
    expect([...out.listeners.keys()]).toEqual(['etcd-xds/http-10000']);
    const listener = toProto3Json(LISTENER, out.listeners.get('etcd-xds/http-10000')!);
    expect(listener).not.toHaveProperty('api_listener');
    expect(listener).toMatchObject({
      address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
      filter_chains: [
        {
          filters: [
            {
              typed_config: {
                rds: { route_config_name: 'etcd-xds/services', config_source: { ads: {}, resource_api_version: 'V3' } },
                http_filters: [{ name: 'envoy.filters.http.router' }],
              },
            },
          ],
        },
      ],
    });
    const routes = toProto3Json(ROUTE, out.routes.get('etcd-xds/services')!);
    expect(routes['virtual_hosts']).toEqual(
      ['billing', 'greeter', 'hello-http'].map((s) => ({ name: s, domains: [s, `${s}:*`], routes: [{ match: { prefix: '/' }, route: { cluster: s } }] })),
    );
    expect([...out.clusters.keys()]).toEqual(['billing', 'greeter', 'hello-http']);
  });

  it('receives only the clusters and host routes of the services its node depends on', () => {
    const out = resources(envoy({ 'etcd-xds.depends-on': 'greeter,not-registered' }), config());
    expect([...out.clusters.keys()]).toEqual(['greeter']);
    expect([...out.endpoints.keys()]).toEqual(['greeter']);
    expect(out.routes.get('etcd-xds/services')?.virtual_hosts?.map((h) => h.name)).toEqual(['greeter']);
  });

  it('splits a canary between subset clusters, each assignment holding only its subset', () => {
    const out = resources(envoy(), config({ 'services/greeter': CANARY_POLICY }));
    expect([...out.clusters.keys()].filter((n) => n.startsWith('greeter'))).toEqual(['greeter', 'greeter~version=v1', 'greeter~version=v2']);
    expect(endpointAddresses(out, 'greeter~version=v1')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(endpointAddresses(out, 'greeter~version=v2')).toEqual(['10.0.0.3']);
    expect(endpointAddresses(out, 'greeter')).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(out.clusters.get('greeter~version=v2')?.eds_cluster_config?.service_name).toBe('greeter~version=v2');
    const host = toProto3Json(ROUTE, out.routes.get('etcd-xds/services')!)['virtual_hosts'] as Record<string, unknown>[];
    expect(host.find((h) => h['name'] === 'greeter')).toEqual({
      name: 'greeter',
      domains: ['greeter', 'greeter:*'],
      routes: [
        {
          match: { prefix: '/' },
          route: {
            weighted_clusters: { clusters: [{ name: 'greeter~version=v1', weight: 90 }, { name: 'greeter~version=v2', weight: 10 }] },
            timeout: '2s',
            retry_policy: { retry_on: '5xx,unavailable', num_retries: 2, per_try_timeout: '0.5s' },
          },
        },
      ],
    });
  });

  it('puts the policy own routes before the catch-all, for Envoy and for gRPC clients', () => {
    const policy = { ...CANARY_POLICY, routes: [{ name: 'canary', match: { headers: [{ name: 'x-canary', exact: 'yes' }] }, subset: 'v2', timeout: '1s' }] };
    const view = config({ 'services/greeter': policy });
    const envoyRoutes = resources(envoy(), view).routes.get('etcd-xds/services')!.virtual_hosts!.find((h) => h.name === 'greeter')!.routes!;
    const grpcRoutes = resources({ id: 'g', cluster: 'c', userAgentName: 'gRPC C-core', metadata: {} }, view).routes.get('greeter')!.virtual_hosts![0]!.routes!;
    expect(envoyRoutes.map((r) => [r.name, r.match, r.route?.cluster ?? 'split', r.route?.timeout])).toEqual([
      ['canary', { prefix: '/', headers: [{ name: 'x-canary', exact_match: 'yes' }] }, 'greeter~version=v2', { seconds: '1' }],
      [undefined, { prefix: '/' }, 'split', { seconds: '2' }],
    ]);
    expect(grpcRoutes.map((r) => [r.match?.prefix, r.route?.cluster ?? 'split', r.route?.max_stream_duration])).toEqual([
      ['', 'greeter~version=v2', { max_stream_duration: { seconds: '1' } }],
      ['', 'split', { max_stream_duration: { seconds: '2' } }],
    ]);
  });

  it('takes a gateway: its listeners, its virtual hosts first, host routing for services whose domains are free', () => {
    const view = config({
      'services/greeter': CANARY_POLICY,
      'gateways/front': { ...FRONT_GATEWAY, virtualHosts: [...FRONT_GATEWAY.virtualHosts, { name: 'billing-host', domains: ['billing'], routes: [{ match: { prefix: '/' }, service: 'billing' }] }] },
    });
    const out = resources(envoy({ 'etcd-xds.depends-on': 'hello-http' }, 'front'), view);
    expect([...out.listeners.keys()]).toEqual(['gateway/front/web', 'gateway/front/admin']);
    expect([...out.routes.keys()]).toEqual(['gateway/front']);
    // Routed by the gateway (greeter, its v1/v2 subsets, billing) plus the node's dependency (hello-http).
    expect([...out.clusters.keys()]).toEqual(['billing', 'greeter', 'greeter~version=v1', 'greeter~version=v2', 'hello-http']);
    const hosts = toProto3Json(ROUTE, out.routes.get('gateway/front')!)['virtual_hosts'] as Record<string, any>[];
    expect(hosts.map((h) => h['name'])).toEqual(['front/site', 'front/billing-host', 'hello-http']);
    const site = hosts[0]!['routes'] as Record<string, any>[];
    expect(site[0]).toEqual({
      name: 'canary-header',
      match: { prefix: '/', headers: [{ name: 'x-canary', exact_match: 'yes' }] },
      route: { cluster: 'greeter~version=v2' },
    });
    expect(site[1]).toMatchObject({ match: { prefix: '/helloworld.Greeter/' }, route: { timeout: '1s', weighted_clusters: { clusters: [{ weight: 90 }, { weight: 10 }] } } });
    expect(site[2]).toMatchObject({ match: { path: '/healthz', headers: [{ name: 'x-debug', present_match: true }, { name: 'x-env', prefix_match: 'prod' }] } });
    expect(site[3]).toEqual({
      name: 'api',
      match: { prefix: '/api/' },
      route: {
        weighted_clusters: { clusters: [{ name: 'hello-http', weight: 3 }, { name: 'greeter~version=v1', weight: 1 }] },
        prefix_rewrite: '/',
        retry_policy: { retry_on: 'connect-failure,reset' },
      },
      request_headers_to_add: [
        { header: { key: 'x-api', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        { header: { key: 'x-gateway', value: 'front' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      ],
    });
    expect(out.problems).toEqual([]);
  });

  it('never repeats a domain: services whose names differ only in case get one host route', () => {
    const view = config();
    const services = new Map([...registrations(), ['Greeter', registrations().get('greeter')!.map((i) => ({ ...i, service: 'Greeter' }))]]);
    const out = resourcesFor(nodeView(envoy(), view).spec, { services, verdictOf: () => undefined, config: view });
    const hosts = out.routes.get('etcd-xds/services')!.virtual_hosts!;
    expect(hosts.map((h) => h.name)).toEqual(['Greeter', 'billing', 'hello-http']);
    expect(out.problems).toEqual(['service greeter gets no host route: domain greeter belongs to virtual host Greeter']);
    expect(out.clusters.has('greeter')).toBe(true);
  });

  it('routes a subset named by a gateway to the whole service when the service has no subsets, and says so', () => {
    const out = resources(envoy({}, 'front'), config({ 'gateways/front': FRONT_GATEWAY }));
    const site = out.routes.get('gateway/front')!.virtual_hosts![0]!.routes!;
    expect(site[0]!.route).toEqual({ cluster: 'greeter' });
    expect(out.problems).toContain('gateway front virtual host site route canary-header: service greeter has no subsets in its ServicePolicy; subset v2 routes to the whole service');
  });
});

describe('envoyScope', () => {
  it('names the services a view holds without building anything', () => {
    const view = config({ 'gateways/front': FRONT_GATEWAY });
    const registered = new Set(['greeter', 'hello-http', 'billing', 'other']);
    const scope = envoyScope({ client: 'envoy', port: 10000, gateway: 'front', dependsOn: ['billing', 'missing'] }, view, (s) => registered.has(s), () => registered);
    expect(scope.clusterServices).toEqual(['billing', 'greeter', 'hello-http']);
    expect(scope.hostServices).toEqual(['billing']);
    expect([...(scope.extraSubsets.get('greeter') ?? [])]).toEqual(['v2', 'v1']);
    const unscoped = envoyScope({ client: 'envoy', port: 10000 }, view, (s) => registered.has(s), () => registered);
    expect(unscoped.hostServices).toEqual(['billing', 'greeter', 'hello-http', 'other']);
  });
});

describe('a proxyless gRPC view', () => {
  it('keeps per-service api_listeners and gets the split as weighted clusters with max_stream_duration', () => {
    const out = resources({ id: 'g', cluster: 'c', userAgentName: 'gRPC Node Pure JS', metadata: {} }, config({ 'services/greeter': CANARY_POLICY }));
    expect([...out.listeners.keys()]).toEqual(['billing', 'greeter', 'hello-http']);
    expect(toProto3Json(LISTENER, out.listeners.get('greeter')!)).toHaveProperty('api_listener');
    expect(toProto3Json(ROUTE, out.routes.get('greeter')!)).toEqual({
      name: 'greeter',
      virtual_hosts: [
        {
          name: 'greeter',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '' },
              route: {
                weighted_clusters: { clusters: [{ name: 'greeter~version=v1', weight: 90 }, { name: 'greeter~version=v2', weight: 10 }] },
                retry_policy: { retry_on: '5xx,unavailable', num_retries: 2, per_try_timeout: '0.5s' },
                max_stream_duration: { max_stream_duration: '2s' },
              },
            },
          ],
        },
      ],
    });
    expect(endpointAddresses(out, 'greeter~version=v2')).toEqual(['10.0.0.3']);
  });
});

describe('which views a change reaches', () => {
  it('a service policy reaches proxyless views, unscoped Envoys, Envoys that depend on it and gateways routing to it', async () => {
    const view = config({ 'gateways/front': FRONT_GATEWAY, 'gateways/plain': { match: { nodeCluster: 'p' }, virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, service: 'billing' }] }] } });
    const greeter = { kind: 'ServicePolicy', name: 'greeter' } as const;
    expect(viewAffectedBy({ client: 'grpc', port: 0 }, greeter, view)).toBe(true);
    expect(viewAffectedBy({ client: 'envoy', port: 10000 }, greeter, view)).toBe(true);
    expect(viewAffectedBy({ client: 'envoy', port: 10000, dependsOn: ['greeter'] }, greeter, view)).toBe(true);
    expect(viewAffectedBy({ client: 'envoy', port: 10000, dependsOn: ['billing'] }, greeter, view)).toBe(false);
    expect(viewAffectedBy({ client: 'envoy', port: 10000, dependsOn: [], gateway: 'front' }, greeter, view)).toBe(true);
    expect(viewAffectedBy({ client: 'envoy', port: 10000, gateway: 'plain' }, greeter, view)).toBe(false);
    const gateway = { kind: 'Gateway', name: 'plain' } as const;
    expect(viewAffectedBy({ client: 'envoy', port: 10000, gateway: 'plain' }, gateway, view)).toBe(true);
    expect(viewAffectedBy({ client: 'envoy', port: 10000, gateway: 'front' }, gateway, view)).toBe(false);
    expect(viewAffectedBy({ client: 'grpc', port: 0 }, gateway, view)).toBe(false);
  });
});

describe('node metadata as the xDS server decodes it', () => {
  it('reads the Struct of a real DiscoveryRequest into the plain values nodeView takes, bounded', () => {
    const requestType = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
    const fields = {
      'etcd-xds.depends-on': { listValue: { values: [{ stringValue: 'greeter' }, { numberValue: 3 }, { stringValue: 'billing' }] } },
      'etcd-xds.listener-port': { numberValue: 15001 },
      role: { stringValue: 'edge' },
      nested: { structValue: { fields: { a: { stringValue: 'b' } } } },
      huge: { stringValue: 'x'.repeat(5000) },
    };
    const bytes = requestType.encode(requestType.fromObject({ node: { id: 'n', user_agent_name: 'envoy', metadata: { fields } } })).finish();
    const method = (discoveryPackageDefinition()['envoy.service.discovery.v3.AggregatedDiscoveryService'] as unknown as Record<string, { requestDeserialize(b: Buffer): { node: { metadata: unknown } } }>)['StreamAggregatedResources']!;
    const metadata = plainNodeMetadata(method.requestDeserialize(Buffer.from(bytes)).node.metadata);
    expect(metadata).toEqual({ 'etcd-xds.depends-on': ['greeter', 'billing'], 'etcd-xds.listener-port': 15001, role: 'edge' });
    expect(nodeView({ id: 'n', cluster: '', userAgentName: 'envoy', metadata }, config()).spec).toEqual({ client: 'envoy', port: 15001, dependsOn: ['billing', 'greeter'] });
    expect(plainNodeMetadata(undefined)).toEqual({});
  });
});
