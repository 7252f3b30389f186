// The health each endpoint has in the ClusterLoadAssignment actually served, read back from its proto3 JSON, so
// the admin API shows what Envoy was told rather than a second computation of it.
import type { Instance } from '../registry/types.js';
import { effectiveHealth, type EnvoyHealthStatus } from '../snapshot/resources/endpoint.js';

export type EndpointHealth = EnvoyHealthStatus;

// envoy.config.core.v3.HealthStatus numbers, for JSON written with numeric enums.
const HEALTH_BY_NUMBER: Readonly<Record<number, string>> = {
  0: 'UNKNOWN',
  1: 'HEALTHY',
  2: 'UNHEALTHY',
  3: 'DRAINING',
  4: 'TIMEOUT',
  5: 'DEGRADED',
};

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Reads a field written either with the proto field name (keepCase) or its lowerCamelCase JSON name. */
function field(object: Record<string, unknown> | undefined, snakeName: string): unknown {
  if (!object) return undefined;
  if (snakeName in object) return object[snakeName];
  return object[snakeName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
}

/** Envoy routes to UNKNOWN (the default) and DEGRADED endpoints; TIMEOUT counts as unhealthy. */
function toEndpointHealth(status: unknown): EndpointHealth {
  const name = typeof status === 'number' ? HEALTH_BY_NUMBER[status] : status;
  if (name === 'DRAINING') return 'DRAINING';
  if (name === 'UNHEALTHY' || name === 'TIMEOUT') return 'UNHEALTHY';
  return 'HEALTHY';
}

export function endpointKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** address|port → health, from a ClusterLoadAssignment's JSON. */
export function publishedHealth(clusterLoadAssignment: Record<string, unknown> | undefined): Map<string, EndpointHealth> {
  const health = new Map<string, EndpointHealth>();
  for (const group of list(field(clusterLoadAssignment, 'endpoints'))) {
    for (const lbEndpoint of list(field(record(group), 'lb_endpoints'))) {
      const lb = record(lbEndpoint);
      const socket = record(field(record(field(record(field(lb, 'endpoint')), 'address')), 'socket_address'));
      const address = field(socket, 'address');
      const port = Number(field(socket, 'port_value'));
      if (typeof address !== 'string' || !Number.isInteger(port)) continue;
      health.set(endpointKey(address, port), toEndpointHealth(field(lb, 'health_status')));
    }
  }
  return health;
}

/** For an instance the served snapshot does not hold yet: the health the snapshot stage will give it. */
export function expectedHealth(instance: Instance, verdict: 'healthy' | 'unhealthy' | null | undefined): EndpointHealth {
  return effectiveHealth(instance, verdict ?? undefined);
}
