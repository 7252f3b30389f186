// The resources one view receives, as Envoy messages (not yet encoded), from the registry, the health verdicts and
// the configuration. Pure: equal inputs give equal messages, so every replica serves the same bytes.
//
// Names. Clusters and assignments are named after the service (`<svc>`) and its subsets (`<svc>~<key>=<value>`)
// and are the same for every view, proxyless or Envoy. Proxyless views keep the per-service Listener and
// RouteConfiguration `<svc>`. Envoy views get socket listeners and one RouteConfiguration:
//   no gateway:   Listener `etcd-xds/http-<port>`          → RouteConfiguration `etcd-xds/services`
//   gateway <g>:  Listener `gateway/<g>/<listener-name>`   → RouteConfiguration `gateway/<g>`
// `/` never occurs in a service name, so these never collide with a service's resources. An Envoy view's
// RouteConfiguration holds only the services in the node's scope, so its content differs between views.
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { Listener } from '../generated/envoy/config/listener/v3/Listener.js';
import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration.js';
import type { VirtualHost } from '../generated/envoy/config/route/v3/VirtualHost.js';
import { servicesRoutedBy } from '../config/gateway.js';
import type { ConfigView, Gateway, ServicePolicy } from '../config/types.js';
import type { Instance } from '../registry/types.js';
import { policyCluster } from '../snapshot/resources/cluster-policy.js';
import { clusterLoadAssignment, type HealthVerdict } from '../snapshot/resources/endpoint.js';
import { envoyHttpListener } from '../snapshot/resources/envoy-listener.js';
import { apiListener } from '../snapshot/resources/listener.js';
import { subsetResources } from '../snapshot/resources/subsets.js';
import { gatewayVirtualHost, proxylessRouteConfiguration, routeConfigurationOf, serviceVirtualHost } from '../snapshot/resources/virtual-hosts.js';
import type { ViewSpec } from './node-view.js';

export const SERVICES_ROUTE_CONFIG = 'etcd-xds/services';
export const DEFAULT_GATEWAY_LISTENER = 'http';

export function defaultListenerName(port: number): string {
  return `etcd-xds/http-${port}`;
}
export function gatewayListenerName(gateway: string, listener: string): string {
  return `gateway/${gateway}/${listener}`;
}
export function gatewayRouteConfigName(gateway: string): string {
  return `gateway/${gateway}`;
}

export interface ViewInput {
  /** service → its instances (as the snapshot publishes them; an empty list keeps the service). */
  services: ReadonlyMap<string, readonly Instance[]>;
  verdictOf(key: string): HealthVerdict | undefined;
  config: ConfigView;
}

export interface ViewResources {
  listeners: Map<string, Listener>;
  routes: Map<string, RouteConfiguration>;
  clusters: Map<string, Cluster>;
  endpoints: Map<string, ClusterLoadAssignment>;
  /** What the view routed around (a subset with no policy, a domain two virtual hosts claim). */
  problems: string[];
}

function emptyResources(): ViewResources {
  return { listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map(), problems: [] };
}

function policyOf(config: ConfigView): (service: string) => ServicePolicy | undefined {
  return (service) => config.policies.get(service)?.spec;
}

/** Subset values a gateway's split targets name, per service (they get clusters even when the policy omits them). */
function gatewaySubsets(gateway: Gateway | undefined): Map<string, Set<string>> {
  const extra = new Map<string, Set<string>>();
  for (const host of gateway?.virtualHosts ?? []) {
    for (const route of host.routes ?? []) {
      for (const target of route.split ?? []) {
        if (target.subset === undefined || !target.service) continue;
        let values = extra.get(target.service);
        if (!values) extra.set(target.service, (values = new Set()));
        values.add(target.subset);
      }
    }
  }
  return extra;
}

/** A service's Clusters and assignments: its own, then one per subset value (plus `extraSubsets`). */
export interface ServiceClusters {
  clusters: Map<string, Cluster>;
  endpoints: Map<string, ClusterLoadAssignment>;
}

/**
 * The clusters of one service, the same in every view that holds them (proxyless or Envoy): build them once per
 * change of the service's instances, health or policy, and share them between views.
 */
export function serviceClusters(
  service: string,
  instances: readonly Instance[],
  policy: ServicePolicy | undefined,
  verdictOf: (key: string) => HealthVerdict | undefined,
  extraSubsets: Iterable<string> = [],
): ServiceClusters {
  const out: ServiceClusters = { clusters: new Map(), endpoints: new Map() };
  out.clusters.set(service, policyCluster(service, instances, policy));
  out.endpoints.set(service, clusterLoadAssignment(service, instances, verdictOf));
  for (const subset of subsetResources(service, instances, policy, verdictOf, extraSubsets)) {
    out.clusters.set(subset.name, subset.cluster);
    out.endpoints.set(subset.name, subset.assignment);
  }
  return out;
}

function addServiceClusters(out: ViewResources, service: string, input: ViewInput, extraSubsets: Iterable<string> = []): void {
  const built = serviceClusters(service, input.services.get(service) ?? [], input.config.policies.get(service)?.spec, input.verdictOf, extraSubsets);
  for (const [name, message] of built.clusters) out.clusters.set(name, message);
  for (const [name, message] of built.endpoints) out.endpoints.set(name, message);
}

/** Which services an Envoy view holds, before any resource is built. */
export interface EnvoyScope {
  gateway?: Gateway;
  /** Services whose clusters and assignments the view holds, sorted. */
  clusterServices: string[];
  /** Services that get a host virtual host (`<svc>`, `<svc>:*`), sorted. */
  hostServices: string[];
  /** Subset values the gateway's routes name, per service. */
  extraSubsets: Map<string, Set<string>>;
  problems: string[];
}

/** The services an Envoy view reaches: its dependencies (or all) for host routing, plus those its gateway routes to. */
export function envoyScope(spec: ViewSpec, config: ConfigView, isRegistered: (service: string) => boolean, registered: () => Iterable<string>): EnvoyScope {
  const problems: string[] = [];
  const gateway = spec.gateway !== undefined ? config.gateways.get(spec.gateway)?.spec : undefined;
  if (spec.gateway !== undefined && !gateway) problems.push(`gateway ${spec.gateway} is not configured; serving the default view`);
  const hostRouting = gateway ? gateway.serviceHostRouting === true : true;
  const inScope = !hostRouting ? [] : spec.dependsOn ? spec.dependsOn.filter(isRegistered) : [...registered()].sort();
  const routed = gateway ? servicesRoutedBy(gateway).filter(isRegistered) : [];
  return {
    ...(gateway ? { gateway } : {}),
    clusterServices: [...new Set([...inScope, ...routed])].sort(),
    hostServices: inScope,
    extraSubsets: gatewaySubsets(gateway),
    problems,
  };
}

function proxylessResources(input: ViewInput): ViewResources {
  const out = emptyResources();
  const lookup = policyOf(input.config);
  for (const service of [...input.services.keys()].sort()) {
    out.listeners.set(service, apiListener(service));
    out.routes.set(service, proxylessRouteConfiguration(service, lookup(service)));
    addServiceClusters(out, service, input);
  }
  return out;
}

/** Gateway virtual hosts first; then, when host routing is on, one per scoped service whose domains are free. */
function envoyVirtualHosts(out: ViewResources, name: string | undefined, gateway: Gateway | undefined, hostServices: string[], input: ViewInput): VirtualHost[] {
  const lookup = policyOf(input.config);
  const hosts = (gateway?.virtualHosts ?? []).map((host) => gatewayVirtualHost(name!, host, lookup, out.problems));
  const claimed = new Map(hosts.flatMap((host) => (host.domains ?? []).map((domain) => [domain.toLowerCase(), host.name!] as const)));
  for (const service of hostServices) {
    const host = serviceVirtualHost(service, lookup(service));
    // Envoy refuses a whole RouteConfiguration that repeats a domain, compared without case (so `Greeter` and
    // `greeter` collide too): the first claim keeps it.
    const taken = (host.domains ?? []).find((domain) => claimed.has(domain.toLowerCase()));
    if (taken !== undefined) {
      out.problems.push(`service ${service} gets no host route: domain ${taken} belongs to virtual host ${claimed.get(taken.toLowerCase())}`);
      continue;
    }
    for (const domain of host.domains ?? []) claimed.set(domain.toLowerCase(), host.name!);
    hosts.push(host);
  }
  return hosts;
}

function envoyResources(spec: ViewSpec, input: ViewInput): ViewResources {
  const out = emptyResources();
  const scope = envoyScope(spec, input.config, (s) => input.services.has(s), () => input.services.keys());
  out.problems.push(...scope.problems);
  const gateway = scope.gateway;
  for (const service of scope.clusterServices) addServiceClusters(out, service, input, scope.extraSubsets.get(service));

  const routeName = gateway ? gatewayRouteConfigName(spec.gateway!) : SERVICES_ROUTE_CONFIG;
  out.routes.set(routeName, routeConfigurationOf(routeName, envoyVirtualHosts(out, spec.gateway, gateway, scope.hostServices, input)));
  if (!gateway) {
    const name = defaultListenerName(spec.port);
    out.listeners.set(name, envoyHttpListener(name, spec.port, routeName));
    return out;
  }
  const listeners = gateway.listeners?.length ? gateway.listeners : [{ name: DEFAULT_GATEWAY_LISTENER, port: spec.port }];
  for (const listener of listeners) {
    const name = gatewayListenerName(spec.gateway!, listener.name!);
    out.listeners.set(name, envoyHttpListener(name, listener.port!, routeName));
  }
  return out;
}

/** Every resource a view receives. */
export function resourcesFor(spec: ViewSpec, input: ViewInput): ViewResources {
  return spec.client === 'grpc' ? proxylessResources(input) : envoyResources(spec, input);
}
