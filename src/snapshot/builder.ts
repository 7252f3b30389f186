// Registry (+ health verdicts) → Snapshot, incrementally. A build names the services whose inputs changed; only
// those are re-derived, and each of their resources is re-encoded only when its own inputs changed. The next
// snapshot is a copy-on-write edit of the previous one's persistent maps, its diff lists the changed names, and
// its versions are updated from the changed resources alone: nothing here touches every service.
import type { Instance } from '../registry/types.js';
import { draftOf, emptySortedMap, seal, type SortedMapDraft } from '../sorted-map.js';
import { combineDigest, encodeResource, setVersionOf } from './encode.js';
import { cluster, clusterOptions, type ClusterOptions } from './resources/cluster.js';
import { clusterLoadAssignment, effectiveHealth, type EnvoyHealthStatus, type HealthVerdict } from './resources/endpoint.js';
import { apiListener } from './resources/listener.js';
import { routeConfiguration } from './resources/route.js';
import { PUSH_ORDER, TYPE_URL, type EncodedResource, type ResourceMap, type Snapshot, type SnapshotDiff, type TypeUrl } from './types.js';

export type VerdictOf = (key: string) => HealthVerdict | undefined;

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
  /** What the Cluster is derived from; kept while the service is empty, so the Cluster does not change then. */
  clusterOptions: ClusterOptions;
  endpoint: EncodedResource;
  cluster: EncodedResource;
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
  ) {
    this.sums = new Map(builder.sumsOf(previous));
  }

  /**
   * `instances`: the service's instances now; an empty list keeps the service with an empty assignment (its grace
   * period), undefined removes all of its resources.
   */
  set(service: string, instances: readonly Instance[] | undefined, emptyCluster?: ClusterOptions): void {
    const built = instances === undefined ? undefined : this.builder.serviceResources(service, instances, this.verdictOf, emptyCluster);
    if (!built) this.builder.drop(service);
    for (const typeUrl of PUSH_ORDER) this.put(typeUrl, service, built && resourceOf(built, typeUrl));
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

function resourceOf(built: ServiceResources, typeUrl: TypeUrl): EncodedResource {
  switch (typeUrl) {
    case TYPE_URL.cluster:
      return built.cluster;
    case TYPE_URL.endpoint:
      return built.endpoint;
    case TYPE_URL.listener:
      return built.listener;
    case TYPE_URL.route:
      return built.route;
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
  draft(previous: Snapshot, verdictOf: VerdictOf): SnapshotDraft {
    return new SnapshotDraft(this, previous, verdictOf);
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
  serviceResources(service: string, instances: readonly Instance[], verdictOf: VerdictOf, emptyCluster?: ClusterOptions): ServiceResources {
    const sorted = [...instances].sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
    const inputs: EndpointInputs = { instances: sorted, health: sorted.map((i) => effectiveHealth(i, verdictOf(i.key))) };
    const cached = this.byService.get(service);
    if (sameInputs(cached?.endpointInputs, inputs)) return cached!;
    // An emptied service keeps its Cluster as it was: re-deriving it from no instances would drop options (HTTP/2)
    // and make every wildcard-CDS client re-warm it twice around a restart.
    const options = sorted.length === 0 ? (emptyCluster ?? cached?.clusterOptions ?? clusterOptions(sorted)) : clusterOptions(sorted);
    const sameCluster = cached !== undefined && cached.clusterOptions.http2 === options.http2;
    const built: ServiceResources = {
      endpointInputs: inputs,
      clusterOptions: options,
      endpoint: this.encode(TYPE_URL.endpoint, service, clusterLoadAssignment(service, sorted, verdictOf)),
      cluster: sameCluster ? cached.cluster : this.encode(TYPE_URL.cluster, service, cluster(service, options)),
      // Listener and route depend on the name alone: reuse them across changes.
      listener: cached?.listener ?? this.encode(TYPE_URL.listener, service, apiListener(service)),
      route: cached?.route ?? this.encode(TYPE_URL.route, service, routeConfiguration(service)),
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
