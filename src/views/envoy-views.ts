// Envoy views: what a group of Envoy nodes receives, derived from the default (proxyless) snapshot. Clusters and
// assignments are the same resources in every view (shared objects; an unscoped view shares the whole maps);
// each view has its own socket listeners and one RouteConfiguration. A view is built when the first node of its
// group connects and kept up to date from then on; only views a change reaches are touched, and a view's
// listeners and routes are rebuilt only when the set of services it routes to, a policy or a gateway changed.
// (That rebuild covers every service in the view's routes: one RouteConfiguration per view is the named exception
// to "cost follows the change".)
import type { ConfigChange, ConfigView } from '../config/types.js';
import { viewAffectedBy, viewIncludesService } from './affected.js';
import { serviceOfClusterName } from '../config/service-policy.js';
import { combineDigest, encodeResource, setVersionOf } from '../snapshot/encode.js';
import { draftOf, emptySortedMap, seal } from '../sorted-map.js';
import { PUSH_ORDER, TYPE_URL, type EncodedResource, type ResourceMap, type Snapshot, type SnapshotDiff, type TypeUrl, type ViewUpdate } from '../snapshot/types.js';
import { envoyFront, envoyScope, type EnvoyScope } from './view-resources.js';
import type { ViewSpec } from './node-view.js';

interface EnvoyView {
  spec: ViewSpec;
  scope: EnvoyScope;
  /** scope.clusterServices as a set, for the per-change membership tests. */
  clusterServices: ReadonlySet<string>;
  /** Whether the view holds every service's clusters (then it shares the default view's maps). */
  everything: boolean;
  snapshot: Snapshot;
  /** Each type's set sum (see encode.ts), kept up to date from the changes alone. */
  sums: Map<TypeUrl, bigint>;
}

/** A view's next state and the names that changed in it, per type. */
interface BuiltView {
  view: EnvoyView;
  changed: Map<TypeUrl, Set<string>>;
}

function sumOf(map: ResourceMap): bigint {
  let sum = 0n;
  for (const resource of map.values()) sum = combineDigest(sum, resource.digest);
  return sum;
}

function encodedMap(typeUrl: TypeUrl, messages: ReadonlyMap<string, object>): ResourceMap {
  const draft = emptySortedMap<EncodedResource>();
  for (const [name, message] of messages) draft.set(name, encodeResource(typeUrl, name, message));
  return seal(draft);
}

/** Names whose version differs between two maps of one type (both whole: only for small maps or a rescope). */
function changedNames(before: ResourceMap | undefined, after: ResourceMap): Set<string> {
  const names = new Set<string>();
  for (const [name, resource] of after) if (before?.get(name)?.version !== resource.version) names.add(name);
  for (const name of before?.keys() ?? []) if (!after.has(name)) names.add(name);
  return names;
}

export interface EnvoyViewsOptions {
  config: () => ConfigView;
  /** The names of a service's clusters (its own and its subsets') in the default snapshot. */
  clusterNamesOf: (service: string) => Iterable<string>;
}

export class EnvoyViews {
  private readonly views = new Map<string, EnvoyView>();

  constructor(private readonly options: EnvoyViewsOptions) {}

  /** The view's snapshot, built now if no node of its group was seen before. */
  snapshotOf(key: string, spec: ViewSpec, global: Snapshot): Snapshot {
    let view = this.views.get(key);
    if (!view) {
      view = this.build(spec, global, undefined).view;
      this.views.set(key, view);
    }
    return view.snapshot;
  }

  /** No stream holds the view any more: forget its resources (built again if a node of its group returns). */
  drop(key: string): void {
    this.views.delete(key);
  }

  /**
   * Follows a new default snapshot: each view the change reaches gets its next snapshot and diff. A view's
   * listeners and routes are rebuilt when a service it routes to came or went, or a configuration object it
   * depends on changed (`configChanges`).
   */
  update(global: Snapshot, diff: SnapshotDiff, configChanges: readonly ConfigChange[]): Map<string, ViewUpdate> {
    const updates = new Map<string, ViewUpdate>();
    const config = this.options.config();
    // The set of services changed exactly when a proxyless listener (one per service) came or went.
    const servicesCameOrWent = [...(diff.get(TYPE_URL.listener) ?? [])];
    for (const [key, view] of this.views) {
      const rescope =
        servicesCameOrWent.some((service) => viewIncludesService(view.spec, service, config)) ||
        configChanges.some((change) => viewAffectedBy(view.spec, change, config));
      if (!rescope && !this.reaches(view, diff)) continue;
      const { view: next, changed } = this.build(view.spec, global, view, rescope, diff);
      this.views.set(key, next);
      const viewDiff = new Map([...changed].filter(([, names]) => names.size > 0));
      if (viewDiff.size > 0) updates.set(key, { snapshot: next.snapshot, diff: viewDiff });
    }
    return updates;
  }

  private reaches(view: EnvoyView, diff: SnapshotDiff): boolean {
    if (view.everything) return diff.has(TYPE_URL.cluster) || diff.has(TYPE_URL.endpoint);
    for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.endpoint]) {
      for (const name of diff.get(typeUrl) ?? []) if (view.clusterServices.has(serviceOfClusterName(name))) return true;
    }
    return false;
  }

  /**
   * The view's next snapshot. Clusters and assignments: the default view's maps when the view holds everything;
   * after a rescope, the scope's resources picked afresh; otherwise the previous maps with only the changed names of
   * the scope's services replaced, and their sums adjusted, so a change costs what it touches whatever the scope's
   * size. Listeners and the RouteConfiguration are rebuilt on a rescope only.
   */
  private build(spec: ViewSpec, global: Snapshot, previous: EnvoyView | undefined, rescope = true, diff?: SnapshotDiff): BuiltView {
    const config = this.options.config();
    const services = global.resources.get(TYPE_URL.listener)!;
    const fresh = rescope || !previous;
    const scope = fresh ? envoyScope(spec, config, (s) => services.has(s), () => services.keys()) : previous.scope;
    const clusterServices = fresh ? new Set(scope.clusterServices) : previous.clusterServices;
    const everything = scope.clusterServices.length === services.size && scope.extraSubsets.size === 0;
    const resources = new Map<TypeUrl, ResourceMap>();
    const sums = new Map<TypeUrl, bigint>();
    const changed = new Map<TypeUrl, Set<string>>();
    for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.endpoint]) {
      const source = global.resources.get(typeUrl)!;
      const before = previous?.snapshot.resources.get(typeUrl);
      if (everything) {
        resources.set(typeUrl, source);
        sums.set(typeUrl, BigInt(`0x${global.typeVersions.get(typeUrl)}`));
        changed.set(typeUrl, previous?.everything ? new Set(diff?.get(typeUrl) ?? []) : changedNames(before, source));
        continue;
      }
      if (fresh || previous.everything || !diff) {
        const draft = emptySortedMap<EncodedResource>();
        for (const service of scope.clusterServices) {
          for (const name of this.options.clusterNamesOf(service)) {
            const resource = source.get(name);
            if (resource) draft.set(name, resource);
          }
        }
        const map = seal(draft);
        resources.set(typeUrl, map);
        sums.set(typeUrl, sumOf(map));
        changed.set(typeUrl, changedNames(before, map));
        continue;
      }
      const draft = draftOf(before!);
      let sum = previous.sums.get(typeUrl)!;
      const names = new Set<string>();
      for (const name of diff.get(typeUrl) ?? []) {
        if (!clusterServices.has(serviceOfClusterName(name))) continue;
        const old = draft.get(name);
        const next = source.get(name);
        if (old?.version === next?.version) continue;
        if (old) sum = combineDigest(sum, old.digest, -1n);
        if (next) {
          sum = combineDigest(sum, next.digest);
          draft.set(name, next);
        } else draft.delete(name);
        names.add(name);
      }
      resources.set(typeUrl, names.size > 0 ? seal(draft) : before!);
      sums.set(typeUrl, sum);
      changed.set(typeUrl, names);
    }
    const front = fresh ? envoyFront(spec, scope, config) : undefined;
    for (const typeUrl of [TYPE_URL.listener, TYPE_URL.route]) {
      const before = previous?.snapshot.resources.get(typeUrl);
      if (!front) {
        resources.set(typeUrl, before!);
        sums.set(typeUrl, previous!.sums.get(typeUrl)!);
        continue;
      }
      const map = encodedMap(typeUrl, typeUrl === TYPE_URL.listener ? front.listeners : front.routes);
      const names = changedNames(before, map);
      // Keep the previous map object where nothing changed.
      resources.set(typeUrl, before && names.size === 0 ? before : map);
      sums.set(typeUrl, sumOf(map));
      changed.set(typeUrl, names);
    }
    let total = 0n;
    const typeVersions = new Map<TypeUrl, string>();
    for (const typeUrl of PUSH_ORDER) {
      typeVersions.set(typeUrl, setVersionOf(sums.get(typeUrl)!));
      total = combineDigest(total, sums.get(typeUrl)!);
    }
    const snapshot: Snapshot = {
      version: setVersionOf(total),
      resources,
      typeVersions,
      builtAt: global.builtAt,
      ...(global.changeSeenAt !== undefined ? { changeSeenAt: global.changeSeenAt } : {}),
    };
    return { view: { spec, scope, clusterServices, everything, snapshot, sums }, changed };
  }
}
