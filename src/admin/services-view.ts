// /debug/services and /debug/services/<name>[/subscribers]: each service as registered and as published.
import { DEFAULT_HEALTH_CHECK, type ProbeState } from '../health/types.js';
import type { HealthCheckSpec, Instance, Locality, RegistrationFormat, RegistryView, RejectedEntry } from '../registry/types.js';
import { TYPE_URL, type Snapshot } from '../snapshot/types.js';
import { endpointKey, expectedHealth, publishedHealth, type EndpointHealth } from './published-health.js';
import { RESOURCE_KINDS, type ResourceKind } from './resource-types.js';
import { compareNames, takePage, type PageRequest } from './paging.js';
import { serviceState, sortedServiceNames } from './service-names.js';
import type { AdminState, WatchStatus } from './state.js';
import { StreamViews } from './stream-views.js';
import { subscriberCounts, subscribersOf, type SubscriberView } from './subscriptions.js';
import { VIEW_MESSAGE_LIMIT, capText } from './view-limits.js';

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
  /** Consecutive results that flip the verdict (from the registration's healthCheck, else the checker's default). */
  healthyThreshold: number;
  unhealthyThreshold: number;
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
  /** Services matching the filter (`q`, `service`), over every page. */
  total: number;
  /** This page, in name order. */
  services: ServiceView[];
  /** The last name of this page when more follow (pass it back as `?cursor=`); null on the last page. */
  nextCursor: string | null;
}

export interface ServicesQuery {
  /** Exactly this service (a list of one, or none). */
  service?: string;
  /** Names containing this text, ignoring case. */
  q?: string;
  page: PageRequest;
}

export interface SubscribersResponse {
  service: string;
  /** False when no registration and no served resource has this name: the nodes listed wait for it (NOT_FOUND). */
  known: boolean;
  count: number;
  byType: Record<ResourceKind, SubscriberView[]>;
}

function probeView(probe: ProbeState | undefined, spec: HealthCheckSpec | undefined): ProbeView | null {
  if (!probe) return null;
  return {
    type: probe.type,
    target: probe.target,
    verdict: probe.verdict,
    consecutiveSuccesses: probe.consecutiveSuccesses,
    consecutiveFailures: probe.consecutiveFailures,
    lastProbeAt: probe.lastProbeAt,
    lastResult: probe.lastResult,
    lastError: probe.lastError !== undefined ? capText(probe.lastError, VIEW_MESSAGE_LIMIT) : null,
    lastLatencyMs: probe.lastLatencyMs,
    totalProbes: probe.totalProbes,
    healthyThreshold: spec?.healthyThreshold ?? DEFAULT_HEALTH_CHECK.healthyThreshold,
    unhealthyThreshold: spec?.unhealthyThreshold ?? DEFAULT_HEALTH_CHECK.unhealthyThreshold,
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

/**
 * What the views of a set of services need, read once per request so they are described from the same state.
 * Only the services asked for are looked at: one pass over probes and rejected entries, none over instances.
 */
interface ViewInputs {
  registry: RegistryView;
  rejectedByService: Map<string, RejectedEntry[]>;
  probesByKey: Map<string, ProbeState>;
  subscribers: Map<string, number>;
  snapshot: Snapshot;
}

function readInputs(state: AdminState, names: ReadonlySet<string>): ViewInputs {
  const registry = state.registry();
  const snapshot = state.snapshot();
  const rejectedByService = new Map<string, RejectedEntry[]>();
  for (const entry of registry.rejected.values()) {
    if (!names.has(entry.service)) continue;
    const entries = rejectedByService.get(entry.service) ?? [];
    entries.push(entry);
    rejectedByService.set(entry.service, entries);
  }
  const probesByKey = new Map<string, ProbeState>();
  for (const probe of state.probes()) if (names.has(probe.service)) probesByKey.set(probe.key, probe);
  const views = new StreamViews(state);
  const subscribers = subscriberCounts(state.streams(), names, views.existsFor);
  return { registry, rejectedByService, probesByKey, subscribers, snapshot };
}

function instanceView(inputs: ViewInputs, instance: Instance, published: Map<string, EndpointHealth>): InstanceView {
  const probe = inputs.probesByKey.get(instance.key);
  const publishedAs = published.get(endpointKey(instance.address, instance.port));
  const rejection = inputs.registry.rejected.get(instance.key);
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
    probe: probeView(probe, instance.healthCheck),
    rejectedUpdate: rejection ? rejection.reason : null,
  };
}

function buildServiceView(inputs: ViewInputs, name: string): ServiceView {
  const cla = inputs.snapshot.resources.get(TYPE_URL.endpoint)?.get(name);
  const published = publishedHealth(cla?.json);
  const instances = [...(inputs.registry.services.get(name)?.values() ?? [])]
    .sort((a, b) => compareNames(a.instanceId, b.instanceId))
    .map((instance) => instanceView(inputs, instance, published));
  const rejected = (inputs.rejectedByService.get(name) ?? []).map(rejectedView).sort((a, b) => compareNames(a.key, b.key));
  const versions = Object.fromEntries(
    RESOURCE_KINDS.map((kind) => [kind, inputs.snapshot.resources.get(TYPE_URL[kind])?.get(name)?.version ?? null]),
  ) as Record<ResourceKind, string | null>;
  const counts = { instances: instances.length, healthy: 0, draining: 0, unhealthy: 0, rejected: rejected.length };
  for (const instance of instances) {
    if (instance.health === 'HEALTHY') counts.healthy += 1;
    else if (instance.health === 'DRAINING') counts.draining += 1;
    else counts.unhealthy += 1;
  }
  return { name, instances, rejected, counts, subscribers: inputs.subscribers.get(name) ?? 0, versions };
}

function matches(name: string, query: ServicesQuery, needle: string | undefined): boolean {
  if (query.service !== undefined && name !== query.service) return false;
  return needle === undefined || name.toLowerCase().includes(needle);
}

/**
 * One page of services. Ordering and filtering look at names only; views are built for the page alone, and
 * `services` is produced lazily so the server can write each one as it is built.
 */
export function servicesPage(
  state: AdminState,
  query: ServicesQuery,
): Omit<ServicesResponse, 'services'> & { names: string[]; services: () => Iterable<ServiceView> } {
  const registry = state.registry();
  const snapshot = state.snapshot();
  const needle = query.q ? query.q.toLowerCase() : undefined;
  let candidates: string[];
  if (query.service !== undefined) {
    const known = serviceState(query.service, registry, snapshot) !== undefined;
    candidates = known && matches(query.service, query, needle) ? [query.service] : [];
  } else {
    candidates = sortedServiceNames(registry, snapshot).filter((name) => matches(name, query, needle));
  }
  const page = takePage(candidates, (name) => name, query.page);
  return {
    revision: registry.revision,
    ready: state.ready(),
    watch: state.watch(),
    snapshotVersion: snapshot.version,
    total: candidates.length,
    names: page.items,
    nextCursor: page.nextCursor,
    services: function* () {
      const inputs = readInputs(state, new Set(page.items));
      for (const name of page.items) yield buildServiceView(inputs, name);
    },
  };
}

/** The whole response of a page, built at once (the page and tests; the server streams servicesPage instead). */
export function servicesView(state: AdminState, query: ServicesQuery): ServicesResponse {
  const { names: _names, services, ...rest } = servicesPage(state, query);
  return { ...rest, services: [...services()] };
}

/** One service, or undefined when no source knows it. */
export function serviceView(state: AdminState, name: string): ServiceView | undefined {
  if (!serviceState(name, state.registry(), state.snapshot())) return undefined;
  return buildServiceView(readInputs(state, new Set([name])), name);
}

/**
 * The nodes watching a service, grouped per resource type. A name nobody registered still answers when some
 * node asks for it (a typo in an Envoy config, or a client waiting for `xds:///nosuch`); undefined when neither
 * is the case.
 */
export function subscribersView(state: AdminState, name: string): SubscribersResponse | undefined {
  const existsFor = new StreamViews(state).existsFor;
  const streams = state.streams();
  const count = subscriberCounts(streams, new Set([name]), existsFor).get(name) ?? 0;
  const known = serviceState(name, state.registry(), state.snapshot()) !== undefined;
  if (count === 0 && !known) return undefined;
  return { service: name, known, count, byType: subscribersOf(streams, name, existsFor) };
}
