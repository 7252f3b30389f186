// Routes with ServicePolicy and Gateway configuration applied: the per-service virtual host an Envoy receives
// (domains `<svc>` and `<svc>:*`), a gateway's virtual hosts, and the per-service RouteConfiguration of proxyless
// gRPC clients. Splits become weighted_clusters: the weights are sent as they are and the client divides by their
// sum (WeightedCluster.total_weight is deprecated in the v3 protos shipped here and left unset).
import type { RouteConfiguration } from '../../generated/envoy/config/route/v3/RouteConfiguration.js';
import type { RouteAction } from '../../generated/envoy/config/route/v3/RouteAction.js';
import type { Route } from '../../generated/envoy/config/route/v3/Route.js';
import type { RouteMatch } from '../../generated/envoy/config/route/v3/RouteMatch.js';
import type { VirtualHost } from '../../generated/envoy/config/route/v3/VirtualHost.js';
import type { HeaderMatcher } from '../../generated/envoy/config/route/v3/HeaderMatcher.js';
import type { RetryPolicy as EnvoyRetryPolicy } from '../../generated/envoy/config/route/v3/RetryPolicy.js';
import { serviceRouteTarget, serviceTarget, subsetClusterName, type TrafficTarget } from '../../config/service-policy.js';
import type { GatewayRoute, RetryPolicy, RouteMatch as ConfigRouteMatch, ServicePolicy, VirtualHost as GatewayVirtualHost } from '../../config/types.js';
import { sortedRecord } from '../encode.js';
import { durationOf } from './duration.js';

/** Envoy reads `timeout`; gRPC clients read `max_stream_duration` and ignore `timeout` (gRFC A31). */
export type RouteFlavor = 'envoy' | 'grpc';

export interface ActionOptions {
  timeout?: string;
  retry?: RetryPolicy;
  hashHeader?: string;
  prefixRewrite?: string;
}

/** Looks up the policy of a service (undefined: defaults). */
export type PolicyLookup = (service: string) => ServicePolicy | undefined;

function retryPolicy(retry: RetryPolicy): EnvoyRetryPolicy {
  return {
    retry_on: retry.retryOn!.split(',').map((c) => c.trim()).filter(Boolean).join(','),
    ...(retry.numRetries !== undefined ? { num_retries: { value: retry.numRetries } } : {}),
    ...(retry.perTryTimeout !== undefined ? { per_try_timeout: durationOf(retry.perTryTimeout) } : {}),
  };
}

export function routeAction(target: TrafficTarget, options: ActionOptions, flavor: RouteFlavor): RouteAction {
  const action: RouteAction =
    'cluster' in target
      ? { cluster: target.cluster }
      : { weighted_clusters: { clusters: target.weighted.map((w) => ({ name: w.cluster, weight: { value: w.weight } })) } };
  if (options.timeout !== undefined) {
    if (flavor === 'envoy') action.timeout = durationOf(options.timeout);
    else action.max_stream_duration = { max_stream_duration: durationOf(options.timeout) };
  }
  if (options.retry) action.retry_policy = retryPolicy(options.retry);
  if (options.hashHeader) action.hash_policy = [{ header: { header_name: options.hashHeader } }];
  if (options.prefixRewrite !== undefined) action.prefix_rewrite = options.prefixRewrite;
  return action;
}

function policyOptions(policy: ServicePolicy | undefined): ActionOptions {
  return {
    ...(policy?.requestTimeout !== undefined ? { timeout: policy.requestTimeout } : {}),
    ...(policy?.retry ? { retry: policy.retry } : {}),
    ...(policy?.lbPolicy === 'RING_HASH' && policy.hashHeader ? { hashHeader: policy.hashHeader } : {}),
  };
}

/**
 * A service's routes under its policy: the policy's own routes in order, then the catch-all (prefix `/` for Envoy,
 * `""` for gRPC clients, which match the empty prefix too) carrying the subsets split.
 */
function serviceRoutes(service: string, policy: ServicePolicy | undefined, flavor: RouteFlavor): Route[] {
  const catchAll = flavor === 'envoy' ? '/' : '';
  const defaults = policyOptions(policy);
  const own = (policy?.routes ?? []).map((route): Route => {
    const options: ActionOptions = {
      ...defaults,
      ...(route.timeout !== undefined ? { timeout: route.timeout } : {}),
      ...(route.retry ? { retry: route.retry } : {}),
    };
    const out: Route = { match: routeMatch(route.match, catchAll), route: routeAction(serviceRouteTarget(service, policy!, route), options, flavor) };
    if (route.name) out.name = route.name;
    return out;
  });
  return [...own, { match: { prefix: catchAll }, route: routeAction(serviceTarget(service, policy), defaults, flavor) }];
}

/** An Envoy's virtual host for one service: `Host: <svc>` (any port) → the service, under its policy. */
export function serviceVirtualHost(service: string, policy: ServicePolicy | undefined): VirtualHost {
  return { name: service, domains: [service, `${service}:*`], routes: serviceRoutes(service, policy, 'envoy') };
}

/**
 * The proxyless RouteConfiguration `<svc>` with the policy applied (split, timeout, retries): the same shape as
 * route.ts's, one virtual host for any authority, so `xds:///<svc>` lands on it.
 */
export function proxylessRouteConfiguration(service: string, policy: ServicePolicy | undefined): RouteConfiguration {
  return {
    name: service,
    virtual_hosts: [
      {
        name: service,
        domains: ['*'],
        routes: serviceRoutes(service, policy, 'grpc'),
      },
    ],
  };
}

/** A configured match; with no path part it matches every path (`catchAll` prefix). */
function routeMatch(match: ConfigRouteMatch = {}, catchAll: string): RouteMatch {
  const out: RouteMatch =
    match.grpcService !== undefined ? { prefix: `/${match.grpcService}/` } : match.path !== undefined ? { path: match.path } : { prefix: match.prefix ?? catchAll };
  // exact_match/prefix_match, deprecated in v3 but still read by Envoy: gRPC C-core 1.51 (Debian's) NACKs the
  // newer string_match ("Invalid route header matcher specified").
  const headers = (match.headers ?? []).map((header): HeaderMatcher => {
    if (header.exact !== undefined) return { name: header.name!, exact_match: header.exact };
    if (header.prefix !== undefined) return { name: header.name!, prefix_match: header.prefix };
    return { name: header.name!, present_match: header.present ?? true };
  });
  if (headers.length > 0) out.headers = headers;
  return out;
}

/**
 * Where a gateway route sends traffic. A split target naming a subset of a service whose policy has no subsets
 * goes to the whole service, reported as a problem (the policy may arrive later; the gateway stays valid).
 */
function gatewayTarget(route: GatewayRoute, policyOf: PolicyLookup, problems: string[], where: string): TrafficTarget {
  if (route.service !== undefined) return serviceTarget(route.service, policyOf(route.service));
  const weighted = (route.split ?? [])
    .filter((t) => (t.weight ?? 0) > 0)
    .map((t) => {
      const key = policyOf(t.service!)?.subsets?.key;
      if (t.subset !== undefined && !key) problems.push(`${where}: service ${t.service} has no subsets in its ServicePolicy; subset ${t.subset} routes to the whole service`);
      return { cluster: t.subset !== undefined && key ? subsetClusterName(t.service!, key, t.subset) : t.service!, weight: t.weight! };
    });
  return weighted.length === 1 ? { cluster: weighted[0]!.cluster } : { weighted };
}

function gatewayRoute(route: GatewayRoute, policyOf: PolicyLookup, problems: string[], where: string): Route {
  const policy = route.service !== undefined ? policyOf(route.service) : undefined;
  const defaults = policyOptions(policy);
  const options: ActionOptions = {
    ...defaults,
    ...(route.timeout !== undefined ? { timeout: route.timeout } : {}),
    ...(route.retry ? { retry: route.retry } : {}),
    ...(route.prefixRewrite !== undefined ? { prefixRewrite: route.prefixRewrite } : {}),
  };
  const out: Route = { match: routeMatch(route.match, '/'), route: routeAction(gatewayTarget(route, policyOf, problems, where), options, 'envoy') };
  if (route.name) out.name = route.name;
  const headers = Object.entries(sortedRecord(route.requestHeadersToAdd ?? {}));
  if (headers.length > 0) {
    out.request_headers_to_add = headers.map(([key, value]) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }));
  }
  return out;
}

/** One gateway virtual host as Envoy reads it; `problems` collects what was routed around. */
export function gatewayVirtualHost(gateway: string, host: GatewayVirtualHost, policyOf: PolicyLookup, problems: string[]): VirtualHost {
  return {
    name: `${gateway}/${host.name!}`,
    domains: [...(host.domains ?? [])],
    routes: (host.routes ?? []).map((route, i) => gatewayRoute(route, policyOf, problems, `gateway ${gateway} virtual host ${host.name} route ${route.name ?? i}`)),
  };
}

export function routeConfigurationOf(name: string, virtualHosts: VirtualHost[]): RouteConfiguration {
  return { name, virtual_hosts: virtualHosts };
}
