// Semantic rules every registration must meet, whatever format it was written in: addresses are IP literals,
// ports are in range, weights/status/priority/health checks make sense. Each refusal is one sentence that names
// the field, because operators read it in logs and in /debug/services.
import net from 'node:net';
import type { HealthCheckSpec, Locality, RegistrationRecord } from './types.js';
import type { HealthCheckJson, RegistrationJson } from './registration-schema.js';

/** The part of an Instance that comes from the value (the key, lease and revision come from etcd). */
export type RegistrationFields = RegistrationRecord;

export type RuleResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export const MAX_WEIGHT = 1_000_000; // keeps a locality's summed weight far below Envoy's uint32 limit
export const MAX_PRIORITY = 127;
export const MIN_HEALTH_INTERVAL_MS = 100;
/** Longest probe interval or timeout: one hour (Node timers overflow past 2^31-1 ms and fire at once). */
export const MAX_HEALTH_TIMING_MS = 3_600_000;
const HOSTNAME = /^(?=.*[A-Za-z])[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Checks that `raw` is an IPv4 or IPv6 literal; `[v6]` brackets are accepted and removed. */
export function checkIpAddress(raw: string, field: string): RuleResult<string> {
  if (net.isIPv4(raw)) return { ok: true, value: raw }; // the common case, first
  const text = raw.trim();
  if (text === '') return fail(`${field} is empty: an IPv4 or IPv6 address is required`);
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (unbracketed.includes('%')) {
    return fail(`${field} "${raw}" carries an IPv6 zone index, which Envoy endpoints cannot use; register a routable address`);
  }
  if (net.isIPv4(unbracketed) && unbracketed === text) return { ok: true, value: text };
  if (net.isIPv6(unbracketed)) return { ok: true, value: unbracketed };
  if (HOSTNAME.test(text)) {
    return fail(
      `${field} "${raw}" is a hostname, not an IP address: Envoy EDS and gRPC xDS clients reject hostnames ` +
        `in endpoint addresses, so register the instance's IP address`,
    );
  }
  if (/^[^:]+:\d+$/.test(text) || /^\[.*\]:\d+$/.test(text)) {
    return fail(`${field} "${raw}" includes a port; give the IP address alone and the port in "port"`);
  }
  return fail(`${field} "${raw}" is not an IPv4 or IPv6 address`);
}

export function checkPort(port: number | undefined, field: string): RuleResult<number> {
  if (port === undefined) return fail(`${field} is missing: an integer from 1 to 65535 is required`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return fail(`${field} must be an integer from 1 to 65535, got ${port}`);
  }
  return { ok: true, value: port };
}

/** Splits `10.0.0.5:8080` / `[::1]:8080` into a checked address and port. */
export function parseHostPort(raw: string, field: string): RuleResult<{ address: string; port: number }> {
  const text = raw.trim();
  if (text === '') return fail(`${field} is empty: expected host:port such as 10.0.0.5:8080 or [::1]:8080`);
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return fail(`${field} "${raw}" has no port: expected host:port such as 10.0.0.5:8080 or [::1]:8080`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) {
      return fail(`${field} "${raw}" looks like an IPv6 address without brackets: write it as [::1]:8080`);
    }
  }
  if (host === '') return fail(`${field} "${raw}" has an empty address: an IPv4 or IPv6 address is required`);
  if (!/^\d{1,5}$/.test(portText)) {
    return fail(`${field} "${raw}" has port "${portText}", which is not an integer from 1 to 65535`);
  }
  const address = checkIpAddress(host, 'address');
  if (!address.ok) return fail(`${field} "${raw}": ${address.reason}`);
  const port = checkPort(Number(portText), 'port');
  if (!port.ok) return fail(`${field} "${raw}": ${port.reason}`);
  return { ok: true, value: { address: address.value, port: port.value } };
}

function readLocality(json: RegistrationJson['locality']): Locality {
  const locality: Locality = {};
  if (json === undefined) return locality;
  if (json.region) locality.region = json.region;
  if (json.zone) locality.zone = json.zone;
  if (json.subZone) locality.subZone = json.subZone;
  return locality;
}

/** proto3 cannot tell 0 from unset, so 0 means "use the default" for every number of a health check. */
function positive(value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : value;
}

function readHealthCheck(json: HealthCheckJson): RuleResult<HealthCheckSpec> {
  const type = json.type ?? '';
  if (type !== 'http' && type !== 'tcp' && type !== 'grpc') {
    return fail(
      type === ''
        ? 'healthCheck.type is missing: use "http", "tcp" or "grpc"'
        : `healthCheck.type "${type}" is not one of "http", "tcp", "grpc"`,
    );
  }
  const path = json.path || undefined;
  const expectedStatus = positive(json.expectedStatus);
  const service = json.service;
  if (type !== 'http' && path !== undefined) return fail(`healthCheck.path applies only to type "http", not "${type}"`);
  if (type !== 'http' && expectedStatus !== undefined) {
    return fail(`healthCheck.expectedStatus applies only to type "http", not "${type}"`);
  }
  if (type !== 'grpc' && service) return fail(`healthCheck.service applies only to type "grpc", not "${type}"`);
  if (path !== undefined && !path.startsWith('/')) return fail(`healthCheck.path "${path}" must start with "/"`);
  if (expectedStatus !== undefined && (expectedStatus < 100 || expectedStatus > 599)) {
    return fail(`healthCheck.expectedStatus must be an HTTP status from 100 to 599, got ${expectedStatus}`);
  }
  const port = positive(json.port);
  if (port !== undefined && port > 65535) return fail(`healthCheck.port must be from 1 to 65535, got ${port}`);
  const intervalMs = positive(json.intervalMs);
  if (intervalMs !== undefined && intervalMs < MIN_HEALTH_INTERVAL_MS) {
    return fail(`healthCheck.intervalMs must be at least ${MIN_HEALTH_INTERVAL_MS}, got ${intervalMs}`);
  }
  const timeoutMs = positive(json.timeoutMs);
  for (const [field, value] of [['intervalMs', intervalMs], ['timeoutMs', timeoutMs]] as const) {
    if (value !== undefined && value > MAX_HEALTH_TIMING_MS) {
      return fail(`healthCheck.${field} must be at most ${MAX_HEALTH_TIMING_MS} (one hour), got ${value}`);
    }
  }
  const healthyThreshold = positive(json.healthyThreshold);
  const unhealthyThreshold = positive(json.unhealthyThreshold);
  // Assigned one by one (not spread) because this runs for every registration at cold start.
  const spec: Record<string, string | number> = { type };
  if (path !== undefined) spec['path'] = path;
  if (expectedStatus !== undefined) spec['expectedStatus'] = expectedStatus;
  if (service !== undefined && type === 'grpc') spec['service'] = service;
  if (intervalMs !== undefined) spec['intervalMs'] = intervalMs;
  if (timeoutMs !== undefined) spec['timeoutMs'] = timeoutMs;
  if (healthyThreshold !== undefined) spec['healthyThreshold'] = healthyThreshold;
  if (unhealthyThreshold !== undefined) spec['unhealthyThreshold'] = unhealthyThreshold;
  if (port !== undefined) spec['port'] = port;
  return { ok: true, value: spec as HealthCheckSpec };
}

/** Applies the semantic rules to a native registration already read against the proto schema. */
export function checkNativeRegistration(json: RegistrationJson): RuleResult<RegistrationFields> {
  const rawAddress = json.address;
  if (rawAddress === undefined || rawAddress.trim() === '') {
    return fail('address is missing or empty: an IPv4 or IPv6 address is required');
  }
  const address = checkIpAddress(rawAddress, 'address');
  if (!address.ok) return address;
  const port = checkPort(json.port, 'port');
  if (!port.ok) return port;

  const weight = json.weight ?? 1;
  if (weight > MAX_WEIGHT) return fail(`weight must be an integer from 0 to ${MAX_WEIGHT}, got ${weight}`);

  const statusText = json.status || 'serving';
  if (statusText !== 'serving' && statusText !== 'draining' && statusText !== 'unhealthy') {
    return fail(`status "${statusText}" is not one of "serving", "draining", "unhealthy"`);
  }
  const priority = json.priority ?? 0;
  if (priority > MAX_PRIORITY) return fail(`priority must be an integer from 0 to ${MAX_PRIORITY}, got ${priority}`);

  const registration: RegistrationFields = {
    address: address.value,
    port: port.value,
    weight,
    status: statusText,
    priority,
    locality: readLocality(json.locality),
    // The schema made it a map of strings, and it is this value's own object: no copy needed.
    metadata: json.metadata ?? {},
  };
  if (json.healthCheck) {
    const healthCheck = readHealthCheck(json.healthCheck);
    if (!healthCheck.ok) return healthCheck;
    registration.healthCheck = healthCheck.value;
  }
  return { ok: true, value: registration };
}

/** Defaults for the formats that carry only an address (etcd naming records, bare host:port). */
export function addressOnlyRegistration(address: string, port: number, metadata: Record<string, string>): RegistrationFields {
  return { address, port, weight: 1, status: 'serving', priority: 0, locality: {}, metadata };
}
