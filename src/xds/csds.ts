// Client Status Discovery Service (envoy.service.status.v3): what every client connected to this replica holds, per
// node and resource, read from the same stream state the pushes use — so Envoy's status tools see what was sent.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ENVOY_PROTO_INCLUDE_DIRS } from '../protos/envoy-protos.js';
import { PUSH_ORDER, type ResourceMap, type Snapshot } from '../snapshot/types.js';
import type { StreamEngine } from './stream.js';
import type { Subscription } from './subscription.js';
import type { NodeInfo } from './types.js';

const SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';

let cachedDefinition: grpc.ServiceDefinition | undefined;

function definition(): grpc.ServiceDefinition {
  cachedDefinition ??= protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: ENVOY_PROTO_INCLUDE_DIRS as string[],
  })[SERVICE] as grpc.ServiceDefinition;
  return cachedDefinition;
}

interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: unknown;
  custom?: unknown;
  ignore_case?: boolean;
  match_pattern?: string;
}

interface NodeMatcher {
  node_id?: StringMatcher | null;
  node_metadatas?: unknown[];
}

interface ClientStatusRequest {
  node_matchers?: NodeMatcher[];
  exclude_resource_contents?: boolean;
}

/** A matcher CSDS cannot honour: answered with INVALID_ARGUMENT rather than matching the wrong nodes. */
class UnsupportedMatcher extends Error {}

/**
 * Does a StringMatcher accept this node id? Exact, prefix, suffix and contains (optionally ignoring case) are
 * honoured; regular expressions and custom matchers are refused (a client-supplied regex could stall the server).
 */
function stringMatches(matcher: StringMatcher, value: string): boolean {
  const fold = (s: string) => (matcher.ignore_case ? s.toLowerCase() : s);
  const subject = fold(value);
  if (matcher.exact !== undefined) return subject === fold(matcher.exact);
  if (matcher.prefix !== undefined) return subject.startsWith(fold(matcher.prefix));
  if (matcher.suffix !== undefined) return subject.endsWith(fold(matcher.suffix));
  if (matcher.contains !== undefined) return subject.includes(fold(matcher.contains));
  throw new UnsupportedMatcher(`node_id matcher ${matcher.match_pattern ?? '(empty)'} is not supported: use exact, prefix, suffix or contains`);
}

/** Node matchers one request may carry: each is tried against every connected node. */
export const MAX_NODE_MATCHERS = 64;

/** Node matchers are ORed; no matcher matches every node. Metadata matchers are refused: streams keep no metadata. */
function nodeMatches(matchers: readonly NodeMatcher[], node: NodeInfo): boolean {
  if (matchers.length === 0) return true;
  return matchers.some((matcher) => {
    if (matcher.node_metadatas?.length) throw new UnsupportedMatcher('node_metadatas matchers are not supported');
    return matcher.node_id ? stringMatches(matcher.node_id, node.id) : true;
  });
}

/** `at`: a Date or epoch milliseconds. */
function timestamp(at: Date | number): { seconds: string; nanos: number } {
  const ms = typeof at === 'number' ? at : at.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

type GenericXdsConfig = Record<string, unknown>;

/** One entry per resource in scope of the subscription: its status, the version the client ACKed, a NACK's error. */
function resourceConfigs(sub: Subscription, resources: ResourceMap, includeContents: boolean): GenericXdsConfig[] {
  const configs: GenericXdsConfig[] = [];
  for (const name of sub.namesInScope(resources)) {
    const { status, ackedVersion, rejectedVersion } = sub.resourceStatus(name, resources);
    const current = resources.get(name);
    const config: GenericXdsConfig = { type_url: sub.typeUrl, name, version_info: ackedVersion ?? '', client_status: status };
    if (status === 'ACKED') {
      config.config_status = ackedVersion === current?.version ? 'SYNCED' : 'STALE';
      if (sub.lastAckedAt) config.last_updated = timestamp(sub.lastAckedAt);
    } else if (status === 'NACKED') {
      config.config_status = 'ERROR';
      config.error_state = {
        details: sub.lastNack?.message ?? '',
        version_info: rejectedVersion ?? '',
        ...(sub.lastNack ? { last_update_attempt: timestamp(sub.lastNack.at) } : {}),
      };
    } else if (status === 'REQUESTED') {
      config.config_status = sub.sent.has(name) ? 'STALE' : 'NOT_SENT';
    } else {
      config.config_status = 'NOT_SENT';
    }
    // What the client holds: the current resource when its ACKed version is the current one.
    if (includeContents && current && ackedVersion === current.version) config.xds_config = { type_url: current.typeUrl, value: Buffer.from(current.body) };
    configs.push(config);
  }
  return configs;
}

function nodeMessage(node: NodeInfo): Record<string, unknown> {
  return {
    id: node.id,
    cluster: node.cluster,
    locality: { region: node.locality.region ?? '', zone: node.locality.zone ?? '', sub_zone: node.locality.subZone ?? '' },
    user_agent_name: node.userAgentName,
    user_agent_version: node.userAgentVersion,
    client_features: node.clientFeatures,
  };
}

/** ClientStatusResponse for the streams whose node matches: one ClientConfig per node id (its streams merged). */
export function clientStatus(engines: readonly StreamEngine[], snapshotOf: (view: string) => Snapshot, request: ClientStatusRequest): Record<string, unknown> {
  const matchers = request.node_matchers ?? [];
  if (matchers.length > MAX_NODE_MATCHERS) throw new UnsupportedMatcher(`${matchers.length} node_matchers, more than ${MAX_NODE_MATCHERS}`);
  const byNode = new Map<string, { node: NodeInfo; configs: GenericXdsConfig[] }>();
  for (const engine of engines) {
    const node = engine.nodeInfo();
    if (!node || !nodeMatches(matchers, node)) continue;
    let entry = byNode.get(node.id);
    if (!entry) {
      entry = { node, configs: [] };
      byNode.set(node.id, entry);
    }
    const snapshot = snapshotOf(engine.view);
    for (const typeUrl of PUSH_ORDER) {
      const sub = engine.subscription(typeUrl);
      if (sub) entry.configs.push(...resourceConfigs(sub, snapshot.resources.get(typeUrl) ?? new Map(), !request.exclude_resource_contents));
    }
  }
  const config = [...byNode.values()]
    .sort((a, b) => (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0))
    .map(({ node, configs }) => ({ node: nodeMessage(node), generic_xds_configs: configs }));
  return { config };
}

/** The CSDS service for a grpc.Server: FetchClientStatus (unary) and StreamClientStatus (one answer per request). */
export function csdsService(
  engines: () => readonly StreamEngine[],
  snapshotOf: (view: string) => Snapshot,
): { definition: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation } {
  const answer = (request: ClientStatusRequest): { ok: Record<string, unknown> } | { error: Partial<grpc.StatusObject> } => {
    try {
      return { ok: clientStatus(engines(), snapshotOf, request) };
    } catch (err) {
      if (err instanceof UnsupportedMatcher) return { error: { code: grpc.status.INVALID_ARGUMENT, details: err.message } };
      throw err;
    }
  };
  return {
    definition: definition(),
    handlers: {
      FetchClientStatus: (call: grpc.ServerUnaryCall<ClientStatusRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const result = answer(call.request);
        if ('ok' in result) callback(null, result.ok);
        else callback(result.error);
      },
      StreamClientStatus: (call: grpc.ServerDuplexStream<ClientStatusRequest, unknown>) => {
        call.on('data', (request: ClientStatusRequest) => {
          const result = answer(request);
          if ('ok' in result) call.write(result.ok);
          else call.emit('error', result.error);
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    },
  };
}
