// Every resource a view can receive is valid Envoy config: each generated Listener, RouteConfiguration, Cluster and
// ClusterLoadAssignment, for every policy option and gateway route kind, passes the strict proto3-JSON validator,
// decodes from its encoded bytes with Envoy's protos, and (proxyless views) is accepted by grpc-js-xds's own
// resource validation.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../../src/config/store.js';
import type { ConfigView } from '../../src/config/types.js';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { validateEnvoyMessage } from '../../src/envoy/validate.js';
import { encodeResource } from '../../src/snapshot/encode.js';
import { TYPE_URL, type TypeUrl } from '../../src/snapshot/types.js';
import { nodeView, type NodeFacts } from '../../src/views/node-view.js';
import { toProto3Json } from '../../src/views/proto3-json.js';
import { resourcesFor, type ViewResources } from '../../src/views/view-resources.js';
import { CANARY_POLICY, FRONT_GATEWAY, FULL_POLICY, registrations } from './fixtures.js';

const require = createRequire(import.meta.url);
interface GrpcResourceType {
  decode(context: unknown, resource: { type_url: string; value: Uint8Array }): { name: string; error?: string };
}
function grpcType(file: string, name: string): GrpcResourceType {
  const module = require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}`) as Record<string, { get(): GrpcResourceType }>;
  return module[name]!.get();
}
// Registers grpc-js-xds's load-balancing policies, which its Cluster validation looks up.
(require('@grpc/grpc-js-xds') as { register(): void }).register();
const GRPC_TYPES: Record<TypeUrl, GrpcResourceType> = {
  [TYPE_URL.listener]: grpcType('listener-resource-type.js', 'ListenerResourceType'),
  [TYPE_URL.route]: grpcType('route-config-resource-type.js', 'RouteConfigurationResourceType'),
  [TYPE_URL.cluster]: grpcType('cluster-resource-type.js', 'ClusterResourceType'),
  [TYPE_URL.endpoint]: grpcType('endpoint-resource-type.js', 'EndpointResourceType'),
};
const GRPC_CONTEXT = { bootstrap: { certificateProviders: {}, node: {}, servers: [] } };

const PREFIX = '/etcd-xds/config/';
const ENVOY: NodeFacts = { id: 'e1', cluster: 'edge', userAgentName: 'envoy', metadata: {} };
const FRONT: NodeFacts = { id: 'f1', cluster: 'front', userAgentName: 'envoy', metadata: {} };
const GRPC: NodeFacts = { id: 'g1', cluster: 'c', userAgentName: 'gRPC Node Pure JS', metadata: {} };

const POLICY_VARIANTS: Record<string, object> = {
  'every option': FULL_POLICY,
  'round robin': { lbPolicy: 'ROUND_ROBIN' },
  'least request': { lbPolicy: 'LEAST_REQUEST' },
  'ring hash on a header': { lbPolicy: 'RING_HASH', hashHeader: 'x-user' },
  random: { lbPolicy: 'RANDOM' },
  'circuit breakers only': { circuitBreakers: { maxRequests: 10 } },
  'outlier detection only': { outlierDetection: { consecutive5xx: 2 } },
  'http2 off': { http2: false },
  'retries only': { retry: { retryOn: 'unavailable,cancelled' } },
  'no timeout': { requestTimeout: '0s' },
  'own routes (header to a subset, gRPC service to a split)': {
    ...CANARY_POLICY,
    routes: [
      { name: 'canary', match: { headers: [{ name: 'x-canary', exact: 'yes' }, { name: 'x-user', prefix: 'beta-' }] }, subset: 'v2', timeout: '1s' },
      { match: { grpcService: 'helloworld.Greeter', headers: [{ name: 'x-debug', present: true }] }, split: [{ value: 'v1', weight: 1 }, { value: 'v2', weight: 1 }], totalWeight: 2 },
      { match: { path: '/healthz' }, retry: { retryOn: 'reset' } },
    ],
  },
  'split with weight 0': { subsets: { key: 'version', split: [{ value: 'v1', weight: 0 }, { value: 'v2', weight: 100 }] } },
};

function configWith(policy: object, gateway?: object): ConfigView {
  const store = new ConfigStore({ prefix: PREFIX });
  store.applyPut(`${PREFIX}services/greeter`, JSON.stringify(policy), '2');
  if (gateway) store.applyPut(`${PREFIX}gateways/front`, JSON.stringify(gateway), '3');
  const view = store.view();
  expect([...view.rejected.values()].map((r) => r.reason)).toEqual([]);
  return view;
}

function build(node: NodeFacts, config: ConfigView): ViewResources {
  return resourcesFor(nodeView(node, config).spec, { services: registrations(), verdictOf: () => undefined, config });
}

function* everyResource(resources: ViewResources): Generator<[TypeUrl, string, object]> {
  for (const [name, m] of resources.listeners) yield [TYPE_URL.listener, name, m];
  for (const [name, m] of resources.routes) yield [TYPE_URL.route, name, m];
  for (const [name, m] of resources.clusters) yield [TYPE_URL.cluster, name, m];
  for (const [name, m] of resources.endpoints) yield [TYPE_URL.endpoint, name, m];
}

/** Strict validation of the proto3 JSON, and a decode of the wire bytes that gives back the same resource. */
function expectValidEnvoy(resources: ViewResources): number {
  let count = 0;
  for (const [typeUrl, name, message] of everyResource(resources)) {
    const typeName = typeUrl.replace('type.googleapis.com/', '');
    const json = toProto3Json(typeName, message);
    expect({ name, errors: validateEnvoyMessage(typeName, json) }).toEqual({ name, errors: [] });
    const encoded = encodeResource(typeUrl, name, message);
    const decoded = envoyType(typeName).decode(encoded.body).toJSON();
    expect(decoded['name'] ?? decoded['cluster_name']).toBe(name);
    count++;
  }
  return count;
}

function expectAcceptedByGrpcJs(resources: ViewResources): void {
  for (const [typeUrl, name, message] of everyResource(resources)) {
    const body = encodeResource(typeUrl, name, message).body;
    const result = GRPC_TYPES[typeUrl].decode(GRPC_CONTEXT, { type_url: typeUrl, value: body });
    expect({ name, error: result.error }).toEqual({ name, error: undefined });
  }
}

describe('generated resources are valid Envoy config', () => {
  for (const [label, policy] of Object.entries(POLICY_VARIANTS)) {
    it(`ServicePolicy with ${label}: Envoy, gateway and proxyless views`, () => {
      const config = configWith(policy, FRONT_GATEWAY);
      expect(expectValidEnvoy(build(ENVOY, config))).toBeGreaterThan(4);
      expect(expectValidEnvoy(build(FRONT, config))).toBeGreaterThan(4);
      const proxyless = build(GRPC, config);
      expect(expectValidEnvoy(proxyless)).toBeGreaterThan(4);
      expectAcceptedByGrpcJs(proxyless);
    });
  }

  it('a gateway without listeners or virtual hosts of its own, and a node on another port', () => {
    const config = configWith({}, { match: { nodeMetadata: { role: 'edge' } }, serviceHostRouting: true });
    const node: NodeFacts = { ...ENVOY, metadata: { role: 'edge', 'etcd-xds.listener-port': '15001' } };
    const resources = build(node, config);
    expect([...resources.listeners.keys()]).toEqual(['gateway/front/http']);
    expect(toProto3Json('envoy.config.listener.v3.Listener', resources.listeners.get('gateway/front/http')!)).toMatchObject({
      address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    });
    expectValidEnvoy(resources);
  });

  it('an empty registry still gives an Envoy a valid listener and route configuration', () => {
    const config = new ConfigStore({ prefix: PREFIX }).view();
    const resources = resourcesFor(nodeView(ENVOY, config).spec, { services: new Map(), verdictOf: () => undefined, config });
    expect([...resources.listeners.keys()]).toEqual(['etcd-xds/http-10000']);
    expect(resources.routes.get('etcd-xds/services')).toEqual({ name: 'etcd-xds/services', virtual_hosts: [] });
    expect(resources.clusters.size).toBe(0);
    expectValidEnvoy(resources);
  });
});

describe('the grpc-js-xds check itself', () => {
  it('refuses what grpc-js-xds refuses: a bare RANDOM lb_policy, which is why RANDOM travels as a fallback list', () => {
    const message = { name: 'greeter', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'RANDOM' };
    const body = encodeResource(TYPE_URL.cluster, 'greeter', message).body;
    const result = GRPC_TYPES[TYPE_URL.cluster].decode(GRPC_CONTEXT, { type_url: TYPE_URL.cluster, value: body });
    expect(result.error).toMatch(/lb_policy/);
  });
});
