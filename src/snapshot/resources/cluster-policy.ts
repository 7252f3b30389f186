// A service's Cluster with its ServicePolicy applied: load balancing, connect timeout, circuit breakers, outlier
// detection and HTTP/2 upstream. The base (type EDS over ADS, HTTP/2 for instances registered as gRPC/h2) is the
// proxyless Cluster of cluster.ts, so both kinds of client read the same resource.
import type { Cluster } from '../../generated/envoy/config/cluster/v3/Cluster.js';
import type { LoadBalancingPolicy } from '../../generated/envoy/config/cluster/v3/LoadBalancingPolicy.js';
import type { HttpProtocolOptions } from '../../generated/envoy/extensions/upstreams/http/v3/HttpProtocolOptions.js';
import type { WrrLocality } from '../../generated/envoy/extensions/load_balancing_policies/wrr_locality/v3/WrrLocality.js';
import type { ServicePolicy } from '../../config/types.js';
import { loadEnvoyType } from '../../protos/envoy-protos.js';
import type { Instance } from '../../registry/types.js';
import { packAny } from '../encode.js';
import { cluster, clusterOptions } from './cluster.js';
import { durationOf } from './duration.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const LEAST_REQUEST = 'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
const RANDOM = 'envoy.extensions.load_balancing_policies.random.v3.Random';
const ROUND_ROBIN = 'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';
const WRR_LOCALITY = 'envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality';

/** Packs an extension message, loading its .proto first (ENVOY_PROTO_FILES holds only the core resources). */
function packExtension<M extends object>(fullName: string, message: M): { type_url: string; value: Buffer } {
  if (!loadEnvoyType(fullName)) throw new Error(`Envoy message ${fullName} is not in the shipped protos`);
  return packAny<M>(fullName, message);
}

function policyEntry(name: string, fullName: string, message: object): NonNullable<LoadBalancingPolicy['policies']>[number] {
  return { typed_extension_config: { name, typed_config: packExtension(fullName, message) } };
}

/**
 * LEAST_REQUEST and RANDOM have no lb_policy that gRPC clients accept (grpc-js-xds NACKs them), so they travel as a
 * load_balancing_policy list: Envoy takes the first policy it knows, gRPC clients skip to the round robin fallback
 * (wrapped in wrr_locality so locality weights keep working).
 */
function fallbackPolicy(name: string, fullName: string): LoadBalancingPolicy {
  const roundRobin = { policies: [policyEntry('envoy.load_balancing_policies.round_robin', ROUND_ROBIN, {})] };
  return {
    policies: [
      policyEntry(name, fullName, {}),
      policyEntry('envoy.load_balancing_policies.wrr_locality', WRR_LOCALITY, { endpoint_picking_policy: roundRobin } satisfies WrrLocality),
    ],
  };
}

function applyLoadBalancing(message: Cluster, policy: ServicePolicy): void {
  switch (policy.lbPolicy) {
    case 'RING_HASH':
      message.lb_policy = 'RING_HASH';
      break;
    case 'LEAST_REQUEST':
      delete message.lb_policy;
      message.load_balancing_policy = fallbackPolicy('envoy.load_balancing_policies.least_request', LEAST_REQUEST);
      break;
    case 'RANDOM':
      delete message.lb_policy;
      message.load_balancing_policy = fallbackPolicy('envoy.load_balancing_policies.random', RANDOM);
      break;
    default:
      message.lb_policy = 'ROUND_ROBIN';
  }
}

function uint32(value: number | undefined): { value: number } | undefined {
  return value === undefined ? undefined : { value };
}

function applyCircuitBreakers(message: Cluster, breakers: NonNullable<ServicePolicy['circuitBreakers']>): void {
  const threshold = {
    priority: 'DEFAULT' as const,
    ...(breakers.maxConnections !== undefined ? { max_connections: uint32(breakers.maxConnections)! } : {}),
    ...(breakers.maxPendingRequests !== undefined ? { max_pending_requests: uint32(breakers.maxPendingRequests)! } : {}),
    ...(breakers.maxRequests !== undefined ? { max_requests: uint32(breakers.maxRequests)! } : {}),
    ...(breakers.maxRetries !== undefined ? { max_retries: uint32(breakers.maxRetries)! } : {}),
  };
  message.circuit_breakers = { thresholds: [threshold] };
}

function applyOutlierDetection(message: Cluster, outlier: NonNullable<ServicePolicy['outlierDetection']>): void {
  message.outlier_detection = {
    ...(outlier.consecutive5xx !== undefined ? { consecutive_5xx: uint32(outlier.consecutive5xx)! } : {}),
    ...(outlier.interval !== undefined ? { interval: durationOf(outlier.interval) } : {}),
    ...(outlier.baseEjectionTime !== undefined ? { base_ejection_time: durationOf(outlier.baseEjectionTime) } : {}),
    ...(outlier.maxEjectionPercent !== undefined ? { max_ejection_percent: uint32(outlier.maxEjectionPercent)! } : {}),
  };
}

function http2Options(): NonNullable<Cluster['typed_extension_protocol_options']> {
  return {
    [HTTP_PROTOCOL_OPTIONS]: packAny<HttpProtocolOptions>(HTTP_PROTOCOL_OPTIONS, { explicit_http_config: { http2_protocol_options: {} } }),
  };
}

/**
 * The Cluster `name` (a service, or one of its subsets) over `instances`, with the policy applied. Its endpoints
 * come over EDS under the same name.
 */
export function policyCluster(name: string, instances: Iterable<Instance>, policy: ServicePolicy | undefined): Cluster {
  const message = cluster(name, clusterOptions(instances));
  if (!policy) return message;
  applyLoadBalancing(message, policy);
  if (policy.connectTimeout !== undefined) message.connect_timeout = durationOf(policy.connectTimeout);
  if (policy.circuitBreakers) applyCircuitBreakers(message, policy.circuitBreakers);
  if (policy.outlierDetection) applyOutlierDetection(message, policy.outlierDetection);
  if (policy.http2 === true) message.typed_extension_protocol_options = http2Options();
  if (policy.http2 === false) delete message.typed_extension_protocol_options;
  return message;
}
