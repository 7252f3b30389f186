// A realistic control-plane state for the admin tests: a registry view with good and rejected entries, a snapshot
// of real Envoy messages encoded with protobufjs, streams driven through the real StreamEngine into each sync
// status (so the admin views read exactly what the engine reports), and probe states.
import { createHash } from 'node:crypto';
import { ConfigStore } from '../../src/config/store.js';
import type { ConfigView } from '../../src/config/types.js';
import { EnvoyViews } from '../../src/views/envoy-views.js';
import { nodeView } from '../../src/views/node-view.js';
import { contentSetVersion, resourceDigest } from '../../src/snapshot/encode.js';
import { envoyType } from '../../src/protos/envoy-protos.js';
import type { AdminState, WatchStatus } from '../../src/admin/state.js';
import type { ProbeState } from '../../src/health/types.js';
import type { Instance, RegistryView, RejectedEntry } from '../../src/registry/types.js';
import { TYPE_URL, type EncodedResource, type Snapshot, type TypeUrl } from '../../src/snapshot/types.js';
import { StreamEngine, type StreamObserver } from '../../src/xds/stream.js';
import type { NodeInfo, StreamInfo, XdsApi, XdsProtocol } from '../../src/xds/types.js';
import type { XdsRequest, XdsResponse } from '../../src/xds/wire.js';
import { instance as testInstance } from '../support/snapshots.js';

export const NOW = Date.now();
export const XSS = '<img src=x onerror="window.__xss=1">';
export const NACK_MESSAGE = 'ClusterLoadAssignment greeter: malformed address <10.0.0.7:bad>';

export function encode(typeUrl: TypeUrl, name: string, message: Record<string, unknown>): EncodedResource {
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

export function instance(service: string, instanceId: string, fields: Partial<Instance> & Pick<Instance, 'address' | 'port'>): Instance {
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

export function lbEndpoint(i: Instance, health: string): Record<string, unknown> {
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

/** The served snapshot; `greeterEdsBefore` gives greeter an older assignment (what a NACKing client last ACKed). */
export function snapshot(options: { greeterEdsBefore?: boolean } = {}): Snapshot {
  const { a, b, c, p1 } = INSTANCES;
  const greeterEndpoints = options.greeterEdsBefore
    ? [{ locality: {}, lb_endpoints: [lbEndpoint(a, 'HEALTHY')], load_balancing_weight: { value: 1 } }]
    : [
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
      ];
  const all = [
    ...serviceResources('greeter', greeterEndpoints),
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

function node(id: string, cluster: string, userAgentName: string, zone?: string, metadata?: NodeInfo['metadata']): NodeInfo {
  return {
    id,
    cluster,
    locality: zone ? { region: 'eu-west-1', zone } : {},
    userAgentName,
    userAgentVersion: '1.0',
    clientFeatures: [],
    ...(metadata ? { metadata } : {}),
  };
}

const QUIET_OBSERVER: StreamObserver = { sent() {}, acked() {}, nacked() {}, ignored() {} };

/** The one place the admin tests construct a StreamEngine (a per-type API serves its own type). */
export function newEngine(options: { id: string; protocol: XdsProtocol; api: XdsApi; peer: string }): StreamEngine {
  return new StreamEngine({ ...options, observer: QUIET_OBSERVER });
}

/** A client driving one StreamEngine the way a real one does: request, then ACK or NACK each response. */
export class DrivenStream {
  readonly engine: StreamEngine;
  private readonly latest = new Map<string, XdsResponse>();

  constructor(
    options: Parameters<typeof newEngine>[0],
    private readonly clientNode: NodeInfo,
  ) {
    this.engine = newEngine(options);
  }

  private record(responses: XdsResponse[]): XdsResponse[] {
    for (const response of responses) this.latest.set(response.typeUrl, response);
    return responses;
  }

  /** SotW: a (first or changed) request for these names ([] on CDS/LDS is the wildcard). */
  sotw(typeUrl: TypeUrl, names: string[], snap: Snapshot): XdsResponse[] {
    const nonce = this.latest.get(typeUrl)?.nonce ?? '';
    return this.record(this.engine.handleRequest({ typeUrl, node: this.clientNode, nonce, resourceNames: names }, snap));
  }

  /** Delta: subscribe to names (['*'] for the wildcard). */
  subscribe(typeUrl: TypeUrl, names: string[], snap: Snapshot): XdsResponse[] {
    const nonce = this.latest.get(typeUrl)?.nonce ?? '';
    return this.record(this.engine.handleRequest({ typeUrl, node: this.clientNode, nonce, subscribe: names, unsubscribe: [] }, snap));
  }

  /** Answers the latest response of the type: an ACK, or a NACK with `error`. */
  answer(typeUrl: TypeUrl, snap: Snapshot, error?: string): XdsResponse[] {
    const response = this.latest.get(typeUrl);
    if (!response) throw new Error(`nothing was sent for ${typeUrl}`);
    const request: XdsRequest = { typeUrl, nonce: response.nonce, ...(error !== undefined ? { errorMessage: error } : {}) };
    if (this.engine.protocol === 'sotw') request.resourceNames = this.engine.info().types.get(typeUrl)?.subscribed ?? [];
    else Object.assign(request, { subscribe: [], unsubscribe: [] });
    return this.record(this.engine.handleRequest(request, snap));
  }

  push(snap: Snapshot, changed: Partial<Record<TypeUrl, string[]>>): XdsResponse[] {
    const diff = new Map(Object.entries(changed).map(([typeUrl, names]) => [typeUrl as TypeUrl, new Set(names)]));
    return this.record(this.engine.handleSnapshot(snap, diff));
  }

  info(): StreamInfo {
    return this.engine.info();
  }
}

/**
 * Three streams: envoy-front (SotW ADS, wildcard CDS/LDS, EDS and RDS by name, every type ACKed),
 * grpc-client-7 (delta ADS, CDS ACKed, EDS NACKed after a push), edge-proxy (SotW per-type EDS for payments and
 * the unknown "ghost", its response not ACKed yet).
 */
export function drivenStreams(snap: Snapshot): DrivenStream[] {
  const { cluster, endpoint, listener, route } = TYPE_URL;
  const front = new DrivenStream({ id: '1', protocol: 'sotw', api: 'ads', peer: '127.0.0.1:50001' }, node('envoy-front', 'front-proxy', 'envoy', 'eu-west-1a'));
  for (const [typeUrl, names] of [
    [cluster, []],
    [endpoint, ['greeter', 'payments']],
    [listener, []],
    [route, ['greeter']],
  ] as const) {
    front.sotw(typeUrl, [...names], snap);
    front.answer(typeUrl, snap);
  }

  const grpc = new DrivenStream({ id: '2', protocol: 'delta', api: 'ads', peer: '127.0.0.1:50002' }, node('grpc-client-7', 'clients', 'gRPC Node Pure JS'));
  const before = snapshot({ greeterEdsBefore: true });
  grpc.subscribe(cluster, ['greeter'], snap);
  grpc.answer(cluster, snap);
  grpc.subscribe(endpoint, ['greeter'], before);
  grpc.answer(endpoint, before);
  grpc.push(snap, { [endpoint]: ['greeter'] });
  grpc.answer(endpoint, snap, NACK_MESSAGE);

  const edge = new DrivenStream({ id: '3', protocol: 'sotw', api: 'eds', peer: '[::1]:50003' }, node('edge-proxy', 'edge', 'envoy'));
  edge.sotw(endpoint, ['payments', 'ghost'], snap);
  return [front, grpc, edge];
}

/** The greeter assignment grpc-client-7 ACKed before it NACKed the current one. */
export const GREETER_EDS_BEFORE = snapshot({ greeterEdsBefore: true }).resources.get(TYPE_URL.endpoint)!.get('greeter')!.version;

/** A delta client asking for a Listener nobody registered, with everything it got ACKed: waiting, not SYNCED. */
export function waitingStream(snap: Snapshot): DrivenStream {
  const waiting = new DrivenStream({ id: '4', protocol: 'delta', api: 'ads', peer: '127.0.0.1:50004' }, node('waiting-client', 'clients', 'gRPC Node Pure JS'));
  waiting.subscribe(TYPE_URL.listener, ['nosuch'], snap);
  waiting.answer(TYPE_URL.listener, snap);
  waiting.subscribe(TYPE_URL.cluster, ['greeter'], snap);
  waiting.answer(TYPE_URL.cluster, snap);
  return waiting;
}

export function probes(): ProbeState[] {
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
      lastProbeAt: new Date(NOW - 2000).toISOString(),
      lastResult: 'fail',
      lastError: 'connect ECONNREFUSED 10.0.0.7:8080',
      lastLatencyMs: 1,
      totalProbes: 9,
    },
  ];
}

export const CONFIG_PREFIX = '/etcd-xds/config/';
export const GREETER_POLICY = { lbPolicy: 'LEAST_REQUEST' as const };
export const PAYMENTS_POLICY = { connectTimeout: '1s' };
/** Routes api.example.com to greeter for the nodes of cluster "edge", on port 8443. */
export const EDGE_GATEWAY = {
  match: { nodeCluster: 'edge' },
  listeners: [{ name: 'https', port: 8443 }],
  virtualHosts: [{ name: 'api', domains: ['api.example.com'], routes: [{ match: { prefix: '/' }, service: 'greeter' }] }],
};

/**
 * Configuration read by the real store: a good greeter policy, the edge gateway, a payments policy whose newer
 * value was rejected (the last good one keeps serving, the bad one carries XSS), and a key that names no service.
 */
export function configView(): ConfigView {
  const store = new ConfigStore({ prefix: CONFIG_PREFIX });
  store.applyPut(`${CONFIG_PREFIX}services/greeter`, JSON.stringify(GREETER_POLICY), '20');
  store.applyPut(`${CONFIG_PREFIX}gateways/edge`, JSON.stringify(EDGE_GATEWAY), '21');
  store.applyPut(`${CONFIG_PREFIX}services/payments`, JSON.stringify(PAYMENTS_POLICY), '22');
  store.applyPut(`${CONFIG_PREFIX}services/payments`, JSON.stringify({ connectTimeout: 'soon', lbPolicy: XSS }), '23');
  store.applyPut(`${CONFIG_PREFIX}services/${XSS}`, '{}', '24');
  return store.view();
}

/**
 * Gives `state` the configuration above and two Envoy nodes whose streams receive their own views, built by the real
 * EnvoyViews: envoy-scoped (depends on payments only) and gateway-1 (cluster edge: the edge gateway). Each asks for
 * every cluster and listener and ACKs them.
 */
export function withEnvoyViews(state: FixtureState): { scoped: DrivenStream; gateway: DrivenStream } {
  state.configView = configView();
  const config = state.configView;
  const views = new EnvoyViews({ config: () => config, clusterNamesOf: (service) => [service] });
  const drive = (options: Parameters<typeof newEngine>[0], clientNode: NodeInfo): DrivenStream => {
    const view = nodeView({ ...clientNode, metadata: clientNode.metadata ?? {} }, config);
    const viewSnapshot = views.snapshotOf(view.key, view.spec, state.snap);
    state.viewSnaps.set(view.key, viewSnapshot);
    const stream = new DrivenStream(options, clientNode);
    stream.engine.view = view.key;
    for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.listener]) {
      stream.sotw(typeUrl, [], viewSnapshot);
      stream.answer(typeUrl, viewSnapshot);
    }
    state.connected.push(stream);
    return stream;
  };
  const scoped = drive(
    { id: '6', protocol: 'sotw', api: 'ads', peer: '127.0.0.1:50006' },
    node('envoy-scoped', 'mesh', 'envoy', undefined, { 'etcd-xds.depends-on': ['payments'] }),
  );
  const routes = state.viewSnaps.get(scoped.info().view)!;
  scoped.sotw(TYPE_URL.route, ['etcd-xds/services'], routes);
  scoped.answer(TYPE_URL.route, routes);
  const gateway = drive({ id: '7', protocol: 'sotw', api: 'ads', peer: '127.0.0.1:50007' }, node('gateway-1', 'edge', 'envoy'));
  return { scoped, gateway };
}

/** A mutable AdminState over the fixtures; tests change its fields to move the server's state. */
export class FixtureState implements AdminState {
  view = registryView();
  snap = snapshot();
  /** Snapshots of the Envoy views, by view key (see withEnvoyViews); every other view gets `snap`. */
  viewSnaps = new Map<string, Snapshot>();
  connected: DrivenStream[] = drivenStreams(this.snap);
  probeRows = probes();
  isReady = true;
  watchStatus: WatchStatus = { state: 'watching', reconnects: 0, resyncs: 0 };
  configView: ConfigView = { policies: new Map(), gateways: new Map(), rejected: new Map(), revision: '0' };

  registry(): RegistryView {
    return this.view;
  }
  snapshot(view?: string): Snapshot {
    return (view !== undefined ? this.viewSnaps.get(view) : undefined) ?? this.snap;
  }
  config(): ConfigView {
    return this.configView;
  }
  streams(): readonly StreamInfo[] {
    return this.connected.map((stream) => stream.info());
  }
  probes(): readonly ProbeState[] {
    return this.probeRows;
  }
  ready(): boolean {
    return this.isReady;
  }
  watch(): WatchStatus {
    return this.watchStatus;
  }
}
