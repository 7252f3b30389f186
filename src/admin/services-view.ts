// /debug/services and /debug/services/<name>[/subscribers]: each service as registered and as published.
import type { HealthCheckSpec, Instance, Locality, RegistrationFormat, RegistryView, RejectedEntry } from '../registry/types.js';
import { TYPE_URL, type Snapshot } from '../snapshot/types.js';
import type { StreamInfo } from '../xds/types.js';
import { endpointKey, expectedHealth, publishedHealth, type EndpointHealth } from './published-health.js';
import { RESOURCE_KINDS, type ResourceKind } from './resource-types.js';
import type { AdminState, ProbeStateView, WatchStatus } from './state.js';
import { resourceExistsIn, subscriberCount, subscribersOf, type SubscriberView } from './subscriptions.js';

export interface ProbeView {
  type: string;
  target: string;
  verdict: 'healthy' | 'unhealthy' | null;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  lastProbeAt: string | null;
  lastResult: 'ok' | 'fail' | null;
  lastError: string | null;
  lastLatencyMs: number | null;
  totalProbes: number;
}

export interface InstanceView {
  instanceId: string;
  key: string;
  address: string;
  port: number;
  weight: number;
  priority: number;
  locality: Locality;
  /** As registered. */
  status: Instance['status'];
  /** As published in EDS (status, weight 0 and the probe verdict combined). */
  health: EndpointHealth;
  /** False when the served snapshot does not hold this instance yet (health is then the expected one). */
  healthPublished: boolean;
  format: RegistrationFormat;
  /** etcd lease id in decimal, and in hex as etcdctl prints it; '0' / null without a lease. */
  lease: string;
  leaseHex: string | null;
  modRevision: string;
  metadata: Record<string, string>;
  healthCheck: HealthCheckSpec | null;
  probe: ProbeView | null;
  /** The reason a newer value of this key was rejected, while this last good value keeps serving. */
  rejectedUpdate: string | null;
}

export interface RejectedView {
  key: string;
  reason: string;
  valuePreview: string;
  modRevision: string;
  keepsLastGood: boolean;
}

export interface ServiceView {
  name: string;
  instances: InstanceView[];
  rejected: RejectedView[];
  counts: { instances: number; healthy: number; draining: number; unhealthy: number; rejected: number };
  /** Streams watching any resource named after the service, directly or by wildcard. */
  subscribers: number;
  /** Version of each of the service's resources in the served snapshot; null when absent. */
  versions: Record<ResourceKind, string | null>;
}

export interface ServicesResponse {
  revision: string;
  ready: boolean;
  watch: WatchStatus;
  snapshotVersion: string;
  services: ServiceView[];
}

export interface SubscribersResponse {
  service: string;
  count: number;
  byType: Record<ResourceKind, SubscriberView[]>;
}

function isoTime(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : value;
}

function probeView(probe: ProbeStateView | undefined): ProbeView | null {
  if (!probe) return null;
  return {
    type: probe.type,
    target: probe.target,
    verdict: probe.verdict ?? null,
    consecutiveSuccesses: probe.consecutiveSuccesses,
    consecutiveFailures: probe.consecutiveFailures,
    lastProbeAt: isoTime(probe.lastProbeAt),
    lastResult: probe.lastResult ?? null,
    lastError: probe.lastError ?? null,
    lastLatencyMs: probe.lastLatencyMs ?? null,
    totalProbes: probe.totalProbes,
  };
}

function leaseHex(lease: string): string | null {
  if (!/^[1-9][0-9]*$/.test(lease)) return null;
  return BigInt(lease).toString(16);
}

function rejectedView(entry: RejectedEntry): RejectedView {
  const { key, reason, valuePreview, modRevision, keepsLastGood } = entry;
  return { key, reason, valuePreview, modRevision, keepsLastGood };
}

/** Everything a service view needs, read once per request so every service is described from the same state. */
interface ViewInputs {
  revision: string;
  services: RegistryView['services'];
  rejectedByService: Map<string, RejectedEntry[]>;
  rejectedByKey: RegistryView['rejected'];
  probesByKey: Map<string, ProbeStateView>;
  snapshot: Snapshot;
  streams: readonly StreamInfo[];
}

function readInputs(state: AdminState): ViewInputs {
  const registry = state.registry();
  const rejectedByService = new Map<string, RejectedEntry[]>();
  for (const entry of registry.rejected.values()) {
    const entries = rejectedByService.get(entry.service) ?? [];
    entries.push(entry);
    rejectedByService.set(entry.service, entries);
  }
  return {
    revision: registry.revision,
    services: registry.services,
    rejectedByService,
    rejectedByKey: registry.rejected,
    probesByKey: new Map(state.probes().map((probe) => [probe.key, probe])),
    snapshot: state.snapshot(),
    streams: state.streams(),
  };
}

/** Services known to the registry (instances or rejected entries) or still served by the snapshot. */
function serviceNames(inputs: ViewInputs): string[] {
  const names = new Set<string>([...inputs.services.keys(), ...inputs.rejectedByService.keys()]);
  for (const resources of inputs.snapshot.resources.values()) {
    for (const name of resources.keys()) names.add(name);
  }
  return [...names].sort();
}

function buildServiceView(inputs: ViewInputs, name: string): ServiceView {
  const cla = inputs.snapshot.resources.get(TYPE_URL.endpoint)?.get(name);
  const published = publishedHealth(cla?.json);
  const instances = [...(inputs.services.get(name)?.values() ?? [])]
    .sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0))
    .map((instance): InstanceView => {
      const probe = inputs.probesByKey.get(instance.key);
      const publishedAs = published.get(endpointKey(instance.address, instance.port));
      const rejection = inputs.rejectedByKey.get(instance.key);
      return {
        instanceId: instance.instanceId,
        key: instance.key,
        address: instance.address,
        port: instance.port,
        weight: instance.weight,
        priority: instance.priority,
        locality: instance.locality,
        status: instance.status,
        health: publishedAs ?? expectedHealth(instance, probe?.verdict),
        healthPublished: publishedAs !== undefined,
        format: instance.format,
        lease: instance.lease,
        leaseHex: leaseHex(instance.lease),
        modRevision: instance.modRevision,
        metadata: instance.metadata,
        healthCheck: instance.healthCheck ?? null,
        probe: probeView(probe),
        rejectedUpdate: rejection ? rejection.reason : null,
      };
    });
  const rejected = (inputs.rejectedByService.get(name) ?? [])
    .map(rejectedView)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const versions = Object.fromEntries(
    RESOURCE_KINDS.map((kind) => [kind, inputs.snapshot.resources.get(TYPE_URL[kind])?.get(name)?.version ?? null]),
  ) as Record<ResourceKind, string | null>;
  const countHealth = (health: EndpointHealth): number => instances.filter((i) => i.health === health).length;
  return {
    name,
    instances,
    rejected,
    counts: {
      instances: instances.length,
      healthy: countHealth('HEALTHY'),
      draining: countHealth('DRAINING'),
      unhealthy: countHealth('UNHEALTHY'),
      rejected: rejected.length,
    },
    subscribers: subscriberCount(inputs.streams, name, resourceExistsIn(inputs.snapshot)),
    versions,
  };
}

export function servicesView(state: AdminState): ServicesResponse {
  const inputs = readInputs(state);
  return {
    revision: inputs.revision,
    ready: state.ready(),
    watch: state.watch(),
    snapshotVersion: inputs.snapshot.version,
    services: serviceNames(inputs).map((name) => buildServiceView(inputs, name)),
  };
}

/** One service, or undefined when no source knows it. */
export function serviceView(state: AdminState, name: string): ServiceView | undefined {
  const inputs = readInputs(state);
  return serviceNames(inputs).includes(name) ? buildServiceView(inputs, name) : undefined;
}

/**
 * The nodes watching a service, grouped per resource type. A name nobody registered still answers when some
 * node asks for it (a typo in an Envoy config shows up here); undefined when neither is the case.
 */
export function subscribersView(state: AdminState, name: string): SubscribersResponse | undefined {
  const inputs = readInputs(state);
  const exists = resourceExistsIn(inputs.snapshot);
  const count = subscriberCount(inputs.streams, name, exists);
  if (count === 0 && !serviceNames(inputs).includes(name)) return undefined;
  return { service: name, count, byType: subscribersOf(inputs.streams, name, exists) };
}
