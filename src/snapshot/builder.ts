// Registry (+ health verdicts) → Snapshot, incrementally. A build names the services whose inputs changed; only
// those are re-derived, and each of their resources is re-encoded only when its own inputs changed. The next
// snapshot is a copy-on-write edit of the previous one's persistent maps, its diff lists the changed names, and
// its versions are updated from the changed resources alone: nothing here touches every service.
import type { Instance } from '../registry/types.js';
import { draftOf, emptySortedMap, seal, type SortedMapDraft } from '../sorted-map.js';
import { combineDigest, encodeResource, setVersionOf } from './encode.js';
import type { ServicePolicy } from '../config/types.js';
import { clusterOptions, type ClusterOptions } from './resources/cluster.js';
import { policyCluster } from './resources/cluster-policy.js';
import { clusterLoadAssignment, effectiveHealth, type EnvoyHealthStatus, type HealthVerdict } from './resources/endpoint.js';
import { apiListener } from './resources/listener.js';
import { subsetResources } from './resources/subsets.js';
import { proxylessRouteConfiguration } from './resources/virtual-hosts.js';
import { PUSH_ORDER, TYPE_URL, type EncodedResource, type ResourceMap, type Snapshot, type SnapshotDiff, type TypeUrl } from './types.js';

export type VerdictOf = (key: string) => HealthVerdict | undefined;

/** The traffic policy of each service, from the configuration objects in etcd. */
export interface PolicyLookup {
  policyOf(service: string): ServicePolicy | undefined;
  /** Subset values that gateway routes name for the service, beyond its policy's own. */
  extraSubsetsOf(service: string): readonly string[];
}

const NO_POLICIES: PolicyLookup = { policyOf: () => undefined, extraSubsetsOf: () => [] };

/** Resources re-encoded so far, per type (tests and metrics read it to prove a change cost only itself). */
export type EncodeCounts = Record<TypeUrl, number>;

/**
 * What the assignment was built from: the instances (the registry hands out the same Instance object while a key's
 * value is unchanged) and the health Envoy sees for each. Compared by identity, so checking costs no encoding.
 */
interface EndpointInputs {
  instances: readonly Instance[];
  health: readonly EnvoyHealthStatus[];
}

function sameInputs(a: EndpointInputs | undefined, b: EndpointInputs): boolean {
  if (!a || a.instances.length !== b.instances.length) return false;
  for (let i = 0; i < b.instances.length; i++) if (a.instances[i] !== b.instances[i] || a.health[i] !== b.health[i]) return false;
  return true;
}

interface ServiceResources {
  endpointInputs: EndpointInputs;
  /** What the Clusters are derived from; kept while the service is empty, so its Clusters do not change then. */
  clusterOptions: ClusterOptions;
  policy: ServicePolicy | undefined;
  extraSubsets: string;
  /** The service's Cluster and assignment under its own name, and one of each per subset (`<svc>~<key>=<value>`). */
  clusters: ReadonlyMap<string, EncodedResource>;
  endpoints: ReadonlyMap<string, EncodedResource>;
  listener: EncodedResource;
  route: EncodedResource;
}

export interface SnapshotBuild {
  readonly snapshot: Snapshot;
  readonly diff: SnapshotDiff;
}

/** One snapshot being derived from the previous one: set() each changed service, then finish(). */
export class SnapshotDraft {
  private readonly maps = new Map<TypeUrl, SortedMapDraft<EncodedResource>>();
  private readonly sums: Map<TypeUrl, bigint>;
  private readonly changed = new Map<TypeUrl, Set<string>>();

  constructor(
    private readonly builder: SnapshotBuilder,
    private readonly previous: Snapshot,
    private readonly verdictOf: VerdictOf,
    private readonly policies: PolicyLookup,
  ) {
    this.sums = new Map(builder.sumsOf(previous));
  }

  /**
   * `instances`: the service's instances now; an empty list keeps the service with an empty assignment (its grace
   * period), undefined removes all of its resources.
   */
  set(service: string, instances: readonly Instance[] | undefined, emptyCluster?: ClusterOptions): void {
    const before = this.builder.cached(service);
    const built = instances === undefined ? undefined : this.builder.serviceResources(service, instances, this.verdictOf, this.policies, emptyCluster);
    if (!built) this.builder.drop(service);
    this.putAll(TYPE_URL.cluster, before?.clusters, built?.clusters);
    this.putAll(TYPE_URL.endpoint, before?.endpoints, built?.endpoints);
    this.put(TYPE_URL.listener, service, built?.listener);
    this.put(TYPE_URL.route, service, built?.route);
  }

  /** Puts a service's named resources of one type, removing those it no longer has (a subset dropped). */
  private putAll(typeUrl: TypeUrl, before: ReadonlyMap<string, EncodedResource> | undefined, after: ReadonlyMap<string, EncodedResource> | undefined): void {
    for (const name of before?.keys() ?? []) if (!after?.has(name)) this.put(typeUrl, name, undefined);
    for (const [name, resource] of after ?? []) this.put(typeUrl, name, resource);
  }

  finish(changeSeenAt?: number): SnapshotBuild {
    const resources = new Map<TypeUrl, ResourceMap>();
    const typeVersions = new Map<TypeUrl, string>();
    let total = 0n;
    for (const typeUrl of PUSH_ORDER) {
      const draft = this.maps.get(typeUrl);
      resources.set(typeUrl, draft ? seal(draft) : this.previous.resources.get(typeUrl)!);
      const sum = this.sums.get(typeUrl) ?? 0n;
      typeVersions.set(typeUrl, setVersionOf(sum));
      total = combineDigest(total, sum);
    }
    const snapshot: Snapshot = {
      version: setVersionOf(total),
      resources,
      typeVersions,
      builtAt: new Date(),
      ...(changeSeenAt !== undefined ? { changeSeenAt } : {}),
    };
    this.builder.remember(snapshot, this.sums);
    return { snapshot, diff: this.changed };
  }

  private put(typeUrl: TypeUrl, name: string, resource: EncodedResource | undefined): void {
    const before = this.previous.resources.get(typeUrl)?.get(name);
    if (before === resource || (before && resource && before.version === resource.version)) return;
    let draft = this.maps.get(typeUrl);
    if (!draft) {
      draft = draftOf(this.previous.resources.get(typeUrl)!);
      this.maps.set(typeUrl, draft);
    }
    let sum = this.sums.get(typeUrl) ?? 0n;
    if (before) sum = combineDigest(sum, before.digest, -1n);
    if (resource) {
      draft.set(name, resource);
      sum = combineDigest(sum, resource.digest);
    } else {
      draft.delete(name);
    }
    this.sums.set(typeUrl, sum);
    let names = this.changed.get(typeUrl);
    if (!names) this.changed.set(typeUrl, (names = new Set()));
    names.add(name);
  }
}

export class SnapshotBuilder {
  private readonly byService = new Map<string, ServiceResources>();
  /** Per-type digest sums of the snapshots this builder made, so the next one is updated, never recounted. */
  private readonly sums = new WeakMap<Snapshot, ReadonlyMap<TypeUrl, bigint>>();
  readonly encoded: EncodeCounts = { [TYPE_URL.cluster]: 0, [TYPE_URL.endpoint]: 0, [TYPE_URL.listener]: 0, [TYPE_URL.route]: 0 };

  /** A snapshot with no resources, to derive the first real one from. */
  empty(): Snapshot {
    const snapshot: Snapshot = {
      version: setVersionOf(0n),
      resources: new Map(PUSH_ORDER.map((t) => [t, seal(emptySortedMap<EncodedResource>())])),
      typeVersions: new Map(PUSH_ORDER.map((t) => [t, setVersionOf(0n)])),
      builtAt: new Date(),
    };
    this.sums.set(snapshot, new Map(PUSH_ORDER.map((t) => [t, 0n])));
    return snapshot;
  }

  /** Starts the next snapshot from `previous` (one this builder made). */
  draft(previous: Snapshot, verdictOf: VerdictOf, policies: PolicyLookup = NO_POLICIES): SnapshotDraft {
    return new SnapshotDraft(this, previous, verdictOf, policies);
  }

  /** @internal what a service was last built into. */
  cached(service: string): ServiceResources | undefined {
    return this.byService.get(service);
  }

  /** The names of a service's Clusters (its own and its subsets'), as last built. */
  clusterNamesOf(service: string): Iterable<string> {
    return this.byService.get(service)?.clusters.keys() ?? [];
  }

  /** @internal the draft's view of a previous snapshot's sums. */
  sumsOf(snapshot: Snapshot): ReadonlyMap<TypeUrl, bigint> {
    const sums = this.sums.get(snapshot);
    if (!sums) throw new Error('snapshot was not made by this builder');
    return sums;
  }

  /** @internal */
  remember(snapshot: Snapshot, sums: ReadonlyMap<TypeUrl, bigint>): void {
    this.sums.set(snapshot, sums);
  }

  /** The Cluster options a service was last built with. */
  clusterOptionsOf(service: string): ClusterOptions | undefined {
    return this.byService.get(service)?.clusterOptions;
  }

  /**
   * @internal the service's resources for these instances, re-encoding only what changed. An empty service keeps
   * the Cluster options it had (`emptyCluster` when this process never saw it live).
   */
  serviceResources(service: string, instances: readonly Instance[], verdictOf: VerdictOf, policies: PolicyLookup, emptyCluster?: ClusterOptions): ServiceResources {
    const sorted = [...instances].sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
    const inputs: EndpointInputs = { instances: sorted, health: sorted.map((i) => effectiveHealth(i, verdictOf(i.key))) };
    const policy = policies.policyOf(service);
    const extraValues = policies.extraSubsetsOf(service);
    const extraSubsets = extraValues.join('\n');
    const cached = this.byService.get(service);
    const samePolicy = cached !== undefined && cached.policy === policy && cached.extraSubsets === extraSubsets;
    if (samePolicy && sameInputs(cached.endpointInputs, inputs)) return cached;
    // An emptied service keeps its Cluster as it was: re-deriving it from no instances would drop options (HTTP/2)
    // and make every wildcard-CDS client re-warm it twice around a restart.
    const options = sorted.length === 0 ? (emptyCluster ?? cached?.clusterOptions ?? clusterOptions(sorted)) : clusterOptions(sorted);
    const sameClusters = samePolicy && cached.clusterOptions.http2 === options.http2;
    const subsets = subsetResources(service, sorted, policy, verdictOf, extraValues);
    const endpoints = new Map<string, EncodedResource>([[service, this.encode(TYPE_URL.endpoint, service, clusterLoadAssignment(service, sorted, verdictOf))]]);
    for (const subset of subsets) endpoints.set(subset.name, this.encode(TYPE_URL.endpoint, subset.name, subset.assignment));
    let clusters = cached?.clusters;
    if (!sameClusters || !clusters) {
      const built = new Map<string, EncodedResource>([[service, this.encode(TYPE_URL.cluster, service, policyCluster(service, options, policy))]]);
      for (const subset of subsets) built.set(subset.name, this.encode(TYPE_URL.cluster, subset.name, policyCluster(subset.name, options, policy)));
      clusters = built;
    }
    const built: ServiceResources = {
      endpointInputs: inputs,
      clusterOptions: options,
      policy,
      extraSubsets,
      clusters,
      endpoints,
      // The listener depends on the name alone; the route on the name and the policy.
      listener: cached?.listener ?? this.encode(TYPE_URL.listener, service, apiListener(service)),
      route: samePolicy ? cached.route : this.encode(TYPE_URL.route, service, proxylessRouteConfiguration(service, policy)),
    };
    this.byService.set(service, built);
    return built;
  }

  /** Forgets a removed service's cached resources. */
  drop(service: string): void {
    this.byService.delete(service);
  }

  private encode(typeUrl: TypeUrl, name: string, message: object): EncodedResource {
    this.encoded[typeUrl] += 1;
    return encodeResource(typeUrl, name, message);
  }
}
