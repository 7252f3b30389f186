// A realistic control-plane state for the admin tests: a registry view with good and rejected entries, a snapshot
// of real Envoy messages encoded with protobufjs, connected streams in each sync status, and probe states.
import { contentSetVersion, resourceDigest } from '../../src/snapshot/encode.js';
import { createHash } from 'node:crypto';
import { envoyType } from '../../src/protos/envoy-protos.js';
import type { AdminState, ProbeStateView, WatchStatus } from '../../src/admin/state.js';
import type { Instance, RegistryView, RejectedEntry } from '../../src/registry/types.js';
import { TYPE_URL, type EncodedResource, type Snapshot, type TypeUrl } from '../../src/snapshot/types.js';
import type { NodeInfo, StreamInfo, TypeStreamInfo } from '../../src/xds/types.js';
import { instance as testInstance } from '../support/snapshots.js';

export const NOW = Date.now();
export const XSS = '<img src=x onerror="window.__xss=1">';
export const NACK_MESSAGE = 'ClusterLoadAssignment greeter: malformed address <10.0.0.7:bad>';

function encode(typeUrl: TypeUrl, name: string, message: Record<string, unknown>): EncodedResource {
  const type = envoyType(typeUrl.replace('type.googleapis.com/', ''));
  const decoded = type.fromObject(message);
  const body = type.encode(decoded).finish();
  const json = type.toObject(decoded, { enums: String, longs: String, defaults: false, json: true });
  const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { typeUrl, name, version, digest: resourceDigest(version), body, json };
}

function packAny(fullName: string, message: Record<string, unknown>): { type_url: string; value: Uint8Array } {
  const type = envoyType(fullName);
  return { type_url: `type.googleapis.com/${fullName}`, value: type.encode(type.fromObject(message)).finish() };
}

function instance(service: string, instanceId: string, fields: Partial<Instance> & Pick<Instance, 'address' | 'port'>): Instance {
  return testInstance(service, instanceId, fields.port, { modRevision: '10', ...fields });
}

export const INSTANCES = {
  a: instance('greeter', 'a', {
    address: '10.0.0.5',
    port: 8080,
    weight: 2,
    locality: { region: 'eu-west-1', zone: 'eu-west-1a' },
    lease: '7587869123456789012',
    metadata: { version: 'v2' },
    healthCheck: { type: 'http', path: '/healthz' },
  }),
  b: instance('greeter', 'b', { address: '10.0.0.6', port: 8080, weight: 0, locality: { region: 'eu-west-1', zone: 'eu-west-1b' } }),
  c: instance('greeter', 'c', { address: '10.0.0.7', port: 8080, healthCheck: { type: 'tcp' } }),
  p1: instance('payments', 'p1', { address: 'fd00::1', port: 9090, format: 'host-port', metadata: { note: XSS } }),
};

const REJECTED: RejectedEntry[] = [
  {
    service: 'greeter',
    key: '/services/greeter/bad',
    reason: 'address "db.internal" is a hostname: Envoy EDS and gRPC clients need an IP literal',
    valuePreview: '{"address":"db.internal","port":80}',
    modRevision: '12',
    keepsLastGood: false,
  },
  {
    service: 'payments',
    key: '/services/payments/p1',
    reason: 'port 70000 is out of range (1-65535)',
    valuePreview: '{"address":"fd00::1","port":70000}',
    modRevision: '13',
    keepsLastGood: true,
  },
  {
    service: 'orphan',
    key: '/services/orphan/x',
    reason: 'value is not JSON, a Go naming record or host:port',
    valuePreview: 'garbage',
    modRevision: '14',
    keepsLastGood: false,
  },
];

export function registryView(): RegistryView {
  const services = new Map<string, Map<string, Instance>>();
  for (const i of Object.values(INSTANCES)) {
    services.set(i.service, (services.get(i.service) ?? new Map()).set(i.instanceId, i));
  }
  return { services, rejected: new Map(REJECTED.map((r) => [r.key, r])), revision: '42' };
}

function lbEndpoint(i: Instance, health: string): Record<string, unknown> {
  return {
    endpoint: { address: { socket_address: { address: i.address, port_value: i.port } } },
    health_status: health,
    load_balancing_weight: { value: Math.max(1, i.weight) },
  };
}

function serviceResources(service: string, endpoints: Record<string, unknown>[]): EncodedResource[] {
  const hcm = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
  return [
    encode(TYPE_URL.cluster, service, {
      name: service,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    }),
    encode(TYPE_URL.endpoint, service, { cluster_name: service, endpoints }),
    encode(TYPE_URL.listener, service, {
      name: service,
      api_listener: {
        api_listener: packAny(hcm, {
          stat_prefix: service,
          rds: { route_config_name: service, config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}) }],
        }),
      },
    }),
    encode(TYPE_URL.route, service, {
      name: service,
      virtual_hosts: [{ name: service, domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: service } }] }],
    }),
  ];
}

export function snapshot(): Snapshot {
  const { a, b, c, p1 } = INSTANCES;
  const all = [
    ...serviceResources('greeter', [
      {
        locality: { region: 'eu-west-1', zone: 'eu-west-1a' },
        lb_endpoints: [lbEndpoint(a, 'HEALTHY')],
        load_balancing_weight: { value: 2 },
      },
      {
        locality: { region: 'eu-west-1', zone: 'eu-west-1b' },
        lb_endpoints: [lbEndpoint(b, 'DRAINING')],
        load_balancing_weight: { value: 1 },
      },
      { locality: {}, lb_endpoints: [lbEndpoint(c, 'UNHEALTHY')], load_balancing_weight: { value: 1 } },
    ]),
    ...serviceResources('payments', [{ locality: {}, lb_endpoints: [lbEndpoint(p1, 'HEALTHY')], load_balancing_weight: { value: 1 } }]),
  ];
  const resources = new Map<TypeUrl, Map<string, EncodedResource>>();
  for (const r of all) resources.set(r.typeUrl, (resources.get(r.typeUrl) ?? new Map()).set(r.name, r));
  const version = createHash('sha256')
    .update(all.map((r) => r.version).join(','))
    .digest('hex')
    .slice(0, 16);
  const typeVersions = new Map([...resources].map(([typeUrl, map]) => [typeUrl, contentSetVersion(map.values())]));
  return { version, resources, typeVersions, builtAt: new Date(NOW - 60_000), changeSeenAt: NOW - 60_010 };
}

function node(id: string, cluster: string, userAgentName: string, zone?: string): NodeInfo {
  return { id, cluster, locality: zone ? { region: 'eu-west-1', zone } : {}, userAgentName, userAgentVersion: '1.0', clientFeatures: [] };
}

function typeInfo(typeUrl: TypeUrl, fields: Partial<TypeStreamInfo>): TypeStreamInfo {
  return { typeUrl, wildcard: false, subscribed: [], status: 'NOT_SENT', acked: new Map(), ...fields };
}

export function streams(snap: Snapshot): StreamInfo[] {
  const sent = new Date(NOW - 30_000);
  const synced = (typeUrl: TypeUrl, fields: Partial<TypeStreamInfo>): [TypeUrl, TypeStreamInfo] => [
    typeUrl,
    typeInfo(typeUrl, {
      status: 'SYNCED',
      lastSentVersion: snap.version,
      lastSentNonce: '7',
      lastSentAt: sent,
      lastAckedVersion: snap.version,
      lastAckedAt: sent,
      ...fields,
    }),
  ];
  const greeterEds = snap.resources.get(TYPE_URL.endpoint)!.get('greeter')!;
  const greeterCds = snap.resources.get(TYPE_URL.cluster)!.get('greeter')!;
  return [
    {
      id: '1',
      protocol: 'sotw',
      api: 'ads',
      node: node('envoy-front', 'front-proxy', 'envoy', 'eu-west-1a'),
      peer: '127.0.0.1:50001',
      connectedAt: new Date(NOW - 300_000),
      types: new Map([
        synced(TYPE_URL.cluster, { wildcard: true }),
        synced(TYPE_URL.endpoint, { subscribed: ['greeter', 'payments'] }),
        synced(TYPE_URL.listener, { wildcard: true }),
        synced(TYPE_URL.route, { subscribed: ['greeter'] }),
      ]),
    },
    {
      id: '2',
      protocol: 'delta',
      api: 'ads',
      node: node('grpc-client-7', 'clients', 'gRPC Node Pure JS'),
      peer: '127.0.0.1:50002',
      connectedAt: new Date(NOW - 120_000),
      types: new Map([
        synced(TYPE_URL.cluster, { subscribed: ['greeter'], acked: new Map([['greeter', greeterCds.version]]) }),
        [
          TYPE_URL.endpoint,
          typeInfo(TYPE_URL.endpoint, {
            subscribed: ['greeter'],
            status: 'NACKED',
            lastSentVersion: greeterEds.version,
            lastSentNonce: '9',
            lastSentAt: sent,
            lastAckedVersion: 'old-eds-version',
            lastAckedAt: new Date(NOW - 100_000),
            lastNack: { version: greeterEds.version, nonce: '9', message: NACK_MESSAGE, at: new Date(NOW - 29_000) },
            acked: new Map([['greeter', 'old-eds-version']]),
          }),
        ],
      ]),
    },
    {
      id: '3',
      protocol: 'sotw',
      api: 'eds',
      node: node('edge-proxy', 'edge', 'envoy'),
      peer: '[::1]:50003',
      connectedAt: new Date(NOW - 10_000),
      types: new Map([
        [
          TYPE_URL.endpoint,
          typeInfo(TYPE_URL.endpoint, { subscribed: ['payments', 'ghost'], status: 'STALE', lastSentVersion: snap.version, lastSentNonce: '1', lastSentAt: new Date(NOW - 5_000) }),
        ],
      ]),
    },
  ];
}

export function probes(): ProbeStateView[] {
  return [
    {
      key: INSTANCES.a.key,
      service: 'greeter',
      instanceId: 'a',
      type: 'http',
      target: 'http://10.0.0.5:8080/healthz',
      verdict: 'healthy',
      consecutiveSuccesses: 4,
      consecutiveFailures: 0,
      lastProbeAt: new Date(NOW - 1000).toISOString(),
      lastResult: 'ok',
      lastLatencyMs: 3,
      totalProbes: 12,
    },
    {
      key: INSTANCES.c.key,
      service: 'greeter',
      instanceId: 'c',
      type: 'tcp',
      target: '10.0.0.7:8080',
      verdict: 'unhealthy',
      consecutiveSuccesses: 0,
      consecutiveFailures: 3,
      lastProbeAt: new Date(NOW - 2000),
      lastResult: 'fail',
      lastError: 'connect ECONNREFUSED 10.0.0.7:8080',
      lastLatencyMs: 1,
      totalProbes: 9,
    },
  ];
}

/** A mutable AdminState over the fixtures; tests change its fields to move the server's state. */
export class FixtureState implements AdminState {
  view = registryView();
  snap = snapshot();
  connected = streams(this.snap);
  probeRows = probes();
  isReady = true;
  watchStatus: WatchStatus = { state: 'watching', reconnects: 0, resyncs: 0 };

  registry(): RegistryView {
    return this.view;
  }
  snapshot(): Snapshot {
    return this.snap;
  }
  streams(): readonly StreamInfo[] {
    return this.connected;
  }
  probes(): readonly ProbeStateView[] {
    return this.probeRows;
  }
  ready(): boolean {
    return this.isReady;
  }
  watch(): WatchStatus {
    return this.watchStatus;
  }
}
