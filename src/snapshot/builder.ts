// Registry view (+ health verdicts) → Snapshot. Each service's resources are re-encoded only when its inputs
// change, so a change to one service costs one service's encoding, not the fleet's.
import type { Instance } from '../registry/types.js';
import { contentVersion, encodeResource } from './encode.js';
import { cluster } from './resources/cluster.js';
import { clusterLoadAssignment, effectiveHealth, type HealthVerdict } from './resources/endpoint.js';
import { apiListener } from './resources/listener.js';
import { routeConfiguration } from './resources/route.js';
import { PUSH_ORDER, TYPE_URL, type EncodedResource, type Snapshot, type SnapshotDiff, type TypeUrl } from './types.js';

export interface SnapshotInput {
  /** service → its instances; an empty list keeps the service with an empty assignment (DESIGN.md). */
  services: ReadonlyMap<string, readonly Instance[]>;
  verdictOf(key: string): HealthVerdict | undefined;
  changeSeenAt?: number;
}

interface ServiceResources {
  fingerprint: string;
  endpoint: EncodedResource;
  cluster: EncodedResource;
  listener: EncodedResource;
  route: EncodedResource;
}

/** Everything in an instance that reaches a resource, plus the health Envoy will see. */
function fingerprint(instances: readonly Instance[], verdictOf: SnapshotInput['verdictOf']): string {
  return JSON.stringify(
    instances.map((i) => [
      i.instanceId,
      i.address,
      i.port,
      i.weight,
      i.priority,
      i.locality,
      i.metadata,
      effectiveHealth(i, verdictOf(i.key)),
    ]),
  );
}

export class SnapshotBuilder {
  private readonly byService = new Map<string, ServiceResources>();

  build(input: SnapshotInput): Snapshot {
    const resources = new Map<TypeUrl, Map<string, EncodedResource>>(PUSH_ORDER.map((t) => [t, new Map()]));
    const names = [...input.services.keys()].sort();
    for (const service of names) {
      const instances = [...input.services.get(service)!].sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
      const built = this.serviceResources(service, instances, input.verdictOf);
      resources.get(TYPE_URL.cluster)!.set(service, built.cluster);
      resources.get(TYPE_URL.endpoint)!.set(service, built.endpoint);
      resources.get(TYPE_URL.listener)!.set(service, built.listener);
      resources.get(TYPE_URL.route)!.set(service, built.route);
    }
    for (const service of this.byService.keys()) if (!input.services.has(service)) this.byService.delete(service);

    const versionInput = PUSH_ORDER.map((t) => [...resources.get(t)!.values()].map((r) => `${t}|${r.name}|${r.version}`).join('\n')).join('\n');
    return {
      version: contentVersion(versionInput),
      resources,
      builtAt: new Date(),
      ...(input.changeSeenAt !== undefined ? { changeSeenAt: input.changeSeenAt } : {}),
    };
  }

  private serviceResources(service: string, instances: Instance[], verdictOf: SnapshotInput['verdictOf']): ServiceResources {
    const print = fingerprint(instances, verdictOf);
    const cached = this.byService.get(service);
    if (cached?.fingerprint === print) return cached;
    const built: ServiceResources = {
      fingerprint: print,
      endpoint: encodeResource(TYPE_URL.endpoint, service, clusterLoadAssignment(service, instances, verdictOf)),
      cluster: encodeResource(TYPE_URL.cluster, service, cluster(service, instances)),
      // Listener and route depend on the name alone: reuse them across changes.
      listener: cached?.listener ?? encodeResource(TYPE_URL.listener, service, apiListener(service)),
      route: cached?.route ?? encodeResource(TYPE_URL.route, service, routeConfiguration(service)),
    };
    this.byService.set(service, built);
    return built;
  }
}

/** Names whose resource was added, changed or removed between two snapshots, per type. */
export function diffSnapshots(previous: Snapshot | undefined, next: Snapshot): SnapshotDiff {
  const diff = new Map<TypeUrl, Set<string>>();
  for (const typeUrl of PUSH_ORDER) {
    const before = previous?.resources.get(typeUrl) ?? new Map<string, EncodedResource>();
    const after = next.resources.get(typeUrl) ?? new Map<string, EncodedResource>();
    const changed = new Set<string>();
    for (const [name, resource] of after) if (before.get(name)?.version !== resource.version) changed.add(name);
    for (const name of before.keys()) if (!after.has(name)) changed.add(name);
    if (changed.size > 0) diff.set(typeUrl, changed);
  }
  return diff;
}
