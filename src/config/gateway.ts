// Gateway (`<config-prefix>gateways/<name>`): listeners, virtual hosts and routes for the Envoy nodes it matches.
// This module owns its parse and validation, which nodes it matches, and which services its routes reach.
import { SERVICE_NAME_RULE, isValidServiceName } from '../registry/parse.js';
import { SUBSET_PART_PATTERN } from './service-policy.js';
import {
  ErrorList,
  HEADER_NAME_PATTERN,
  OBJECT_NAME_PATTERN,
  OBJECT_NAME_RULE,
  checkDuration,
  checkRetry,
  checkRouteMatch,
  checkWeights,
  parseWith,
} from './rules.js';
import type { ConfigKind, Gateway, GatewayRoute, VirtualHost } from './types.js';
import type { PathSegment } from '../protos/proto3-json-walk.js';

export const GATEWAY_TYPE = 'etcdxds.v1.Gateway';

// A domain may hold one `*`, as its first or last character (Envoy and gRPC clients both refuse others).
const DOMAIN_PATTERN = /^(\*|\*[A-Za-z0-9._-]+(:[0-9*]+)?|[A-Za-z0-9._-]+\*|[A-Za-z0-9._-]+(:([0-9]{1,5}|\*))?|\[[0-9a-fA-F:.]+\](:[0-9*]+)?)$/;
// Pseudo-headers and Host are set by Envoy, not by routes.
const RESERVED_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'upgrade', 'te']);

function checkName(list: ErrorList, path: PathSegment[], name: string | undefined, seen: Set<string>, what: string): void {
  if (!name) list.add(path, `is required (${what} name)`);
  else if (!OBJECT_NAME_PATTERN.test(name)) list.add(path, `must be ${OBJECT_NAME_RULE}`);
  else if (seen.has(name)) list.add(path, `${what} ${JSON.stringify(name)} is defined twice`);
  if (name) seen.add(name);
}

function checkServiceRef(list: ErrorList, path: PathSegment[], service: string | undefined): void {
  if (!service) list.add(path, 'is required (a registered service name)');
  else if (!isValidServiceName(service)) list.add(path, `must be a service name: ${SERVICE_NAME_RULE}`);
}

function checkRoute(list: ErrorList, path: PathSegment[], route: GatewayRoute, routeNames: Set<string>): void {
  if (route.name !== undefined) checkName(list, [...path, 'name'], route.name, routeNames, 'route');
  const match = route.match ?? {};
  checkRouteMatch(list, [...path, 'match'], match, true);
  if (route.prefixRewrite !== undefined && match.path !== undefined) {
    list.add([...path, 'prefixRewrite'], 'applies to prefix and grpcService matches, not to an exact path');
  }
  const hasSplit = (route.split ?? []).length > 0;
  if ((route.service !== undefined) === hasSplit) list.add(path, 'needs exactly one destination: service or split');
  if (route.service !== undefined) checkServiceRef(list, [...path, 'service'], route.service);
  if (hasSplit) {
    route.split!.forEach((target, i) => {
      checkServiceRef(list, [...path, 'split', i, 'service'], target.service);
      if (target.subset !== undefined && !SUBSET_PART_PATTERN.test(target.subset)) {
        list.add([...path, 'split', i, 'subset'], 'must be a subset value of the service policy (A-Z, a-z, 0-9, ".", "_", "-")');
      }
    });
    checkWeights(list, [...path, 'split'], route.split!.map((t) => t.weight), route.totalWeight);
  } else if (route.totalWeight) {
    list.add([...path, 'totalWeight'], 'only applies with split');
  }
  checkDuration(list, [...path, 'timeout'], route.timeout, true);
  checkRetry(list, [...path, 'retry'], route.retry);
  for (const header of Object.keys(route.requestHeadersToAdd ?? {})) {
    const at: PathSegment[] = [...path, 'requestHeadersToAdd', header];
    if (!HEADER_NAME_PATTERN.test(header)) list.add(at, 'must be an HTTP header name');
    else if (RESERVED_HEADERS.has(header.toLowerCase())) list.add(at, `${header} cannot be set by a route`);
    // Envoy refuses header values holding NUL, CR or LF (and with them the whole RouteConfiguration).
    else if (/[\0\r\n]/.test(route.requestHeadersToAdd![header]!)) list.add(at, 'value must not contain NUL, CR or LF');
  }
}

function checkVirtualHost(list: ErrorList, path: PathSegment[], host: VirtualHost, names: Set<string>, domains: Map<string, string>): void {
  checkName(list, [...path, 'name'], host.name, names, 'virtual host');
  const hostDomains = host.domains ?? [];
  if (hostDomains.length === 0) list.add([...path, 'domains'], 'needs at least one domain (or "*")');
  hostDomains.forEach((domain, i) => {
    const at: PathSegment[] = [...path, 'domains', i];
    if (!DOMAIN_PATTERN.test(domain)) list.add(at, `${JSON.stringify(domain)} is not a domain: a host name, "*.example.com", "example.*" or "*"`);
    const owner = domains.get(domain.toLowerCase());
    if (owner !== undefined) list.add(at, `domain ${JSON.stringify(domain)} is already used by virtual host ${JSON.stringify(owner)}`);
    domains.set(domain.toLowerCase(), host.name ?? '');
  });
  if ((host.routes ?? []).length === 0) list.add([...path, 'routes'], 'needs at least one route');
  const routeNames = new Set<string>();
  (host.routes ?? []).forEach((route, i) => checkRoute(list, [...path, 'routes', i], route, routeNames));
}

function checkGateway(gateway: Gateway, list: ErrorList): void {
  const match = gateway.match;
  if (!match || (!match.nodeCluster && Object.keys(match.nodeMetadata ?? {}).length === 0)) {
    list.add(['match'], 'is required: nodeCluster, nodeMetadata, or both');
  }
  const listenerNames = new Set<string>();
  const ports = new Map<number, string>();
  (gateway.listeners ?? []).forEach((listener, i) => {
    checkName(list, ['listeners', i, 'name'], listener.name, listenerNames, 'listener');
    const port = listener.port ?? 0;
    if (port < 1 || port > 65535) list.add(['listeners', i, 'port'], `must be from 1 to 65535, got ${port}`);
    else if (ports.has(port)) list.add(['listeners', i, 'port'], `port ${port} is already used by listener ${JSON.stringify(ports.get(port))}`);
    else ports.set(port, listener.name ?? '');
  });
  const hostNames = new Set<string>();
  const domains = new Map<string, string>();
  (gateway.virtualHosts ?? []).forEach((host, i) => checkVirtualHost(list, ['virtualHosts', i], host, hostNames, domains));
  if ((gateway.virtualHosts ?? []).length === 0 && !gateway.serviceHostRouting) {
    list.add(['virtualHosts'], 'needs at least one virtual host, or serviceHostRouting: true');
  }
}

export const GATEWAY_KIND: ConfigKind<Gateway> = {
  kind: 'Gateway',
  segment: 'gateways',
  typeName: GATEWAY_TYPE,
  nameProblem: (name) => (OBJECT_NAME_PATTERN.test(name) ? undefined : `gateway name must be ${OBJECT_NAME_RULE}`),
  parse: (value) => parseWith<Gateway>(GATEWAY_TYPE, value, checkGateway),
};

/** What a gateway match reads from a node. Metadata values that are not strings never match. */
export interface MatchableNode {
  cluster: string;
  metadata: Readonly<Record<string, unknown>>;
}

export function gatewayMatches(gateway: Gateway, node: MatchableNode): boolean {
  const match = gateway.match ?? {};
  if (match.nodeCluster && match.nodeCluster !== node.cluster) return false;
  for (const [key, value] of Object.entries(match.nodeMetadata ?? {})) {
    if (!Object.hasOwn(node.metadata, key) || node.metadata[key] !== value) return false;
  }
  return Boolean(match.nodeCluster) || Object.keys(match.nodeMetadata ?? {}).length > 0;
}

/** Every service a gateway's routes send traffic to (sorted): the clusters a node of the gateway needs. */
export function servicesRoutedBy(gateway: Gateway): string[] {
  const services = new Set<string>();
  for (const host of gateway.virtualHosts ?? []) {
    for (const route of host.routes ?? []) {
      if (route.service) services.add(route.service);
      for (const target of route.split ?? []) if (target.service) services.add(target.service);
    }
  }
  return [...services].sort();
}
