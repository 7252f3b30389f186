// Which services the admin views list, in which order, and in which state. A service is every name the registry
// knows (valid instances or rejected entries) or the snapshot still serves (an emptied service during its grace
// period). The same definition feeds the page, /debug/services, the CLI's count and the etcd_xds_services metric.
import type { RegistryView } from '../registry/types.js';
import { TYPE_URL, type ResourceMap, type Snapshot } from '../snapshot/types.js';
import { compareNames } from './paging.js';

/**
 * live: at least one valid instance. empty: no valid instance, but its resources are still served (an empty
 * assignment until --service-gc removes them). rejected-only: only rejected entries, nothing served.
 */
export type ServiceState = 'live' | 'empty' | 'rejected-only';
export const SERVICE_STATES: readonly ServiceState[] = ['live', 'empty', 'rejected-only'];

/** Services served by the snapshot: a ClusterLoadAssignment is named after each. */
function servedNames(snapshot: Snapshot): ResourceMap | undefined {
  return snapshot.resources.get(TYPE_URL.endpoint);
}

/** Names outside the registry's services map: rejected-only services and emptied ones still served. */
function namesBeyondRegistry(registry: RegistryView, snapshot: Snapshot): Set<string> {
  const extra = new Set<string>();
  for (const entry of registry.rejected.values()) if (!registry.services.has(entry.service)) extra.add(entry.service);
  for (const name of servedNames(snapshot)?.keys() ?? []) if (!registry.services.has(name)) extra.add(name);
  return extra;
}

function merge(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && compareNames(a[i]!, b[j]!) <= 0)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/**
 * Every service name in code-unit order. One pass over the registry's (already ordered) services and one over
 * the served assignments; only the few names beyond the registry are sorted.
 */
export function sortedServiceNames(registry: RegistryView, snapshot: Snapshot): string[] {
  const names: string[] = [];
  let ordered = true;
  for (const name of registry.services.keys()) {
    if (ordered && names.length > 0 && compareNames(names[names.length - 1]!, name) > 0) ordered = false;
    names.push(name);
  }
  if (!ordered) names.sort(compareNames);
  const extra = namesBeyondRegistry(registry, snapshot);
  return extra.size === 0 ? names : merge(names, [...extra].sort(compareNames));
}

export function serviceState(name: string, registry: RegistryView, snapshot: Snapshot): ServiceState | undefined {
  if ((registry.services.get(name)?.size ?? 0) > 0) return 'live';
  if (servedNames(snapshot)?.has(name)) return 'empty';
  if (registry.services.has(name)) return 'empty';
  for (const entry of registry.rejected.values()) if (entry.service === name) return 'rejected-only';
  return undefined;
}

/** How many services are in each state, without ordering anything. */
export function countServices(registry: RegistryView, snapshot: Snapshot): Record<ServiceState, number> {
  const counts: Record<ServiceState, number> = { live: 0, empty: 0, 'rejected-only': 0 };
  for (const instances of registry.services.values()) counts[instances.size > 0 ? 'live' : 'empty'] += 1;
  const served = servedNames(snapshot);
  for (const name of namesBeyondRegistry(registry, snapshot)) counts[served?.has(name) ? 'empty' : 'rejected-only'] += 1;
  return counts;
}
