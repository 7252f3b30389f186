// Envoy views: what a group of Envoy nodes receives, derived from the default (proxyless) snapshot. Clusters and
// assignments are the same resources in every view (shared objects; an unscoped view shares the whole maps);
// each view has its own socket listeners and one RouteConfiguration. A view is built when the first node of its
// group connects and kept up to date from then on; only views a change reaches are touched, and a view's
// listeners and routes are rebuilt only when the set of services it routes to, a policy or a gateway changed.
// (That rebuild covers every service in the view's routes: one RouteConfiguration per view is the named exception
// to "cost follows the change".)
import type { ConfigChange, ConfigView } from '../config/types.js';
import { viewAffectedBy, viewIncludesService } from './affected.js';
import { combineDigest, encodeResource, setVersionOf } from '../snapshot/encode.js';
import { draftOf, emptySortedMap, seal } from '../sorted-map.js';
import { PUSH_ORDER, TYPE_URL, type EncodedResource, type ResourceMap, type Snapshot, type SnapshotDiff, type TypeUrl, type ViewUpdate } from '../snapshot/types.js';
import { envoyFront, envoyScope, type EnvoyScope } from './view-resources.js';
import type { ViewSpec } from './node-view.js';

interface EnvoyView {
  spec: ViewSpec;
  scope: EnvoyScope;
  /** Whether the view holds every service's clusters (then it shares the default view's maps). */
  everything: boolean;
  snapshot: Snapshot;
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

/** Names whose version differs between two maps of one type. */
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
      view = this.build(spec, global, undefined);
      this.views.set(key, view);
    }
    return view.snapshot;
  }

  current(key: string): Snapshot | undefined {
    return this.views.get(key)?.snapshot;
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
      const next = this.build(view.spec, global, view, rescope);
      const viewDiff = new Map<TypeUrl, Set<string>>();
      for (const typeUrl of PUSH_ORDER) {
        const before = view.snapshot.resources.get(typeUrl);
        const after = next.snapshot.resources.get(typeUrl)!;
        if (before === after) continue;
        const names = next.everything && (typeUrl === TYPE_URL.cluster || typeUrl === TYPE_URL.endpoint) ? new Set(diff.get(typeUrl) ?? []) : changedNames(before, after);
        if (names.size > 0) viewDiff.set(typeUrl, names);
      }
      this.views.set(key, next);
      if (viewDiff.size > 0) updates.set(key, { snapshot: next.snapshot, diff: viewDiff });
    }
    return updates;
  }

  private reaches(view: EnvoyView, diff: SnapshotDiff): boolean {
    if (view.everything) return diff.has(TYPE_URL.cluster) || diff.has(TYPE_URL.endpoint);
    const names = new Set(view.scope.clusterServices.flatMap((s) => [...this.options.clusterNamesOf(s)]));
    for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.endpoint]) for (const name of diff.get(typeUrl) ?? []) if (names.has(name)) return true;
    return false;
  }

  private build(spec: ViewSpec, global: Snapshot, previous: EnvoyView | undefined, rescope = true): EnvoyView {
    const config = this.options.config();
    const services = global.resources.get(TYPE_URL.listener)!;
    const scope = rescope || !previous ? envoyScope(spec, config, (s) => services.has(s), () => services.keys()) : previous.scope;
    const everything = scope.clusterServices.length === services.size && scope.extraSubsets.size === 0;
    const resources = new Map<TypeUrl, ResourceMap>();
    if (everything) {
      resources.set(TYPE_URL.cluster, global.resources.get(TYPE_URL.cluster)!);
      resources.set(TYPE_URL.endpoint, global.resources.get(TYPE_URL.endpoint)!);
    } else {
      for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.endpoint]) {
        const source = global.resources.get(typeUrl)!;
        const draft = draftOf(seal(emptySortedMap<EncodedResource>()));
        for (const service of scope.clusterServices) {
          for (const name of this.options.clusterNamesOf(service)) {
            const resource = source.get(name);
            if (resource) draft.set(name, resource);
          }
        }
        resources.set(typeUrl, seal(draft));
      }
    }
    if (rescope || !previous) {
      const front = envoyFront(spec, scope, config);
      resources.set(TYPE_URL.listener, encodedMap(TYPE_URL.listener, front.listeners));
      resources.set(TYPE_URL.route, encodedMap(TYPE_URL.route, front.routes));
    } else {
      resources.set(TYPE_URL.listener, previous.snapshot.resources.get(TYPE_URL.listener)!);
      resources.set(TYPE_URL.route, previous.snapshot.resources.get(TYPE_URL.route)!);
    }
    // Keep the previous map objects where nothing changed, so the caller can tell untouched types apart.
    for (const typeUrl of [TYPE_URL.listener, TYPE_URL.route]) {
      const before = previous?.snapshot.resources.get(typeUrl);
      if (before && changedNames(before, resources.get(typeUrl)!).size === 0) resources.set(typeUrl, before);
    }
    const typeVersions = new Map<TypeUrl, string>();
    let total = 0n;
    for (const typeUrl of PUSH_ORDER) {
      const sum = everything && (typeUrl === TYPE_URL.cluster || typeUrl === TYPE_URL.endpoint)
        ? BigInt(`0x${global.typeVersions.get(typeUrl)}`)
        : sumOf(resources.get(typeUrl)!);
      typeVersions.set(typeUrl, setVersionOf(sum));
      total = combineDigest(total, sum);
    }
    const snapshot: Snapshot = {
      version: setVersionOf(total),
      resources,
      typeVersions,
      builtAt: global.builtAt,
      ...(global.changeSeenAt !== undefined ? { changeSeenAt: global.changeSeenAt } : {}),
    };
    return { spec, scope, everything, snapshot };
  }
}
