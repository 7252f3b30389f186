// Which view a node is owed, from its node message and the configuration: the kind of client (Envoy or proxyless
// gRPC), the listener port, the services it declared it depends on, and the gateway that matches it. Every node with
// the same answers shares one view (one set of resources, computed once), whatever its id.
import { gatewayMatches } from '../config/gateway.js';
import type { ConfigView } from '../config/types.js';
import { isValidServiceName } from '../registry/parse.js';

export const DEFAULT_LISTENER_PORT = 10000;
export const METADATA_CLIENT = 'etcd-xds.client';
export const METADATA_LISTENER_PORT = 'etcd-xds.listener-port';
export const METADATA_DEPENDS_ON = 'etcd-xds.depends-on';
/** A node may name at most this many dependencies; more is a misconfiguration, not a scope. */
export const MAX_DEPENDENCIES = 10_000;

/** What a view depends on in the node message (node metadata as proto3 JSON: a Struct's plain values). */
export interface NodeFacts {
  id: string;
  cluster: string;
  userAgentName: string;
  metadata: Readonly<Record<string, unknown>>;
}

export type ClientKind = 'envoy' | 'grpc';

/** The view a node is owed. Two nodes with equal specs receive the same resources. */
export interface ViewSpec {
  client: ClientKind;
  /** Envoy only: the listener port when no gateway listener says otherwise. */
  port: number;
  /** Envoy only: the services the node receives clusters and host routes for, sorted; undefined = every service. */
  dependsOn?: readonly string[];
  /** Envoy only: the gateway that matched the node. */
  gateway?: string;
}

export interface NodeViewOptions {
  /** The listener port when node metadata does not set one (the serve flag); default 10000. */
  defaultPort?: number;
}

export interface NodeView {
  spec: ViewSpec;
  /** Shared by every node of the same group; the key to cache a view's resources under. */
  key: string;
  /** Metadata that was ignored, with why (for logs and the admin page). */
  problems: string[];
}

function clientKind(node: NodeFacts, problems: string[]): ClientKind {
  const declared = node.metadata[METADATA_CLIENT];
  if (declared === 'envoy' || declared === 'grpc') return declared;
  if (declared !== undefined) problems.push(`${METADATA_CLIENT} must be "envoy" or "grpc"; detected from user_agent_name instead`);
  // Envoy sends user_agent_name "envoy"; gRPC libraries send their own ("gRPC Node Pure JS", "gRPC C-core", ...).
  return node.userAgentName.trim().toLowerCase() === 'envoy' ? 'envoy' : 'grpc';
}

function listenerPort(node: NodeFacts, fallback: number, problems: string[]): number {
  const raw = node.metadata[METADATA_LISTENER_PORT];
  if (raw === undefined) return fallback;
  const port = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,5}$/.test(raw.trim()) ? Number(raw) : NaN;
  if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  problems.push(`${METADATA_LISTENER_PORT} must be a port from 1 to 65535; using ${fallback}`);
  return fallback;
}

function dependencies(node: NodeFacts, problems: string[]): string[] | undefined {
  const raw = node.metadata[METADATA_DEPENDS_ON];
  if (raw === undefined) return undefined;
  const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : undefined;
  if (!items) {
    problems.push(`${METADATA_DEPENDS_ON} must be a list of service names or a comma separated string; ignored`);
    return undefined;
  }
  const names = new Set<string>();
  let invalid = 0;
  for (const item of items.slice(0, MAX_DEPENDENCIES)) {
    const name = typeof item === 'string' ? item.trim() : '';
    if (name === '') continue;
    if (isValidServiceName(name)) names.add(name);
    else invalid++;
  }
  if (invalid > 0) problems.push(`${METADATA_DEPENDS_ON}: ${invalid} entries are not service names and were ignored`);
  if (items.length > MAX_DEPENDENCIES) problems.push(`${METADATA_DEPENDS_ON}: only the first ${MAX_DEPENDENCIES} entries count`);
  return [...names].sort();
}

/** The gateway of a node: the first (by name) whose match fits it. */
export function matchingGateway(node: Pick<NodeFacts, 'cluster' | 'metadata'>, config: ConfigView): string | undefined {
  for (const [name, object] of config.gateways) if (gatewayMatches(object.spec, node)) return name;
  return undefined;
}

export function viewKeyOf(spec: ViewSpec): string {
  if (spec.client === 'grpc') return 'grpc';
  return JSON.stringify(['envoy', spec.port, spec.gateway ?? null, spec.dependsOn ?? null]);
}

/** The spec a view key was made from (viewKeyOf read back); undefined for text that is no view key. */
export function viewSpecOf(key: string): ViewSpec | undefined {
  if (key === 'grpc') return { client: 'grpc', port: 0 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return undefined;
  const [client, port, gateway, dependsOn] = parsed as unknown[];
  if (client !== 'envoy' || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (gateway !== null && typeof gateway !== 'string') return undefined;
  if (dependsOn !== null && !(Array.isArray(dependsOn) && dependsOn.every((name) => typeof name === 'string'))) return undefined;
  return { client, port, ...(dependsOn !== null ? { dependsOn: dependsOn as string[] } : {}), ...(gateway !== null ? { gateway } : {}) };
}

/**
 * The view of a node under the current configuration. It changes only when the node's gateway match changes, so
 * the caller re-asks after a Gateway change (nodes keep their node message for the whole stream).
 */
export function nodeView(node: NodeFacts, config: ConfigView, options: NodeViewOptions = {}): NodeView {
  const problems: string[] = [];
  const client = clientKind(node, problems);
  let spec: ViewSpec;
  if (client === 'grpc') spec = { client, port: 0 };
  else {
    const port = listenerPort(node, options.defaultPort ?? DEFAULT_LISTENER_PORT, problems);
    const dependsOn = dependencies(node, problems);
    const gateway = matchingGateway(node, config);
    spec = { client, port, ...(dependsOn ? { dependsOn } : {}), ...(gateway ? { gateway } : {}) };
  }
  return { spec, key: viewKeyOf(spec), problems };
}
