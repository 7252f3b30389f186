// ClusterLoadAssignment for one service: instances grouped by (priority, locality), as DESIGN.md maps them.
import type { ClusterLoadAssignment } from '../../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { LbEndpoint } from '../../generated/envoy/config/endpoint/v3/LbEndpoint.js';
import type { LocalityLbEndpoints } from '../../generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
import type { Metadata } from '../../generated/envoy/config/core/v3/Metadata.js';
import type { Instance } from '../../registry/types.js';
import { sortedRecord } from '../encode.js';

export type HealthVerdict = 'healthy' | 'unhealthy';
export type EnvoyHealthStatus = 'HEALTHY' | 'DRAINING' | 'UNHEALTHY';

/**
 * The health Envoy sees: draining (by status or weight 0) wins, since the instance is leaving anyway; then a
 * registered `unhealthy` or a failing active probe; otherwise HEALTHY.
 */
export function effectiveHealth(instance: Instance, verdict: HealthVerdict | undefined): EnvoyHealthStatus {
  if (instance.status === 'draining' || instance.weight === 0) return 'DRAINING';
  if (instance.status === 'unhealthy' || verdict === 'unhealthy') return 'UNHEALTHY';
  return 'HEALTHY';
}

function localityKey(instance: Instance): string {
  const { region = '', zone = '', subZone = '' } = instance.locality;
  return JSON.stringify([region, zone, subZone]);
}

function compareInstances(a: Instance, b: Instance): number {
  return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
}

function metadataStruct(metadata: Record<string, string>): Metadata | undefined {
  const entries = Object.keys(metadata);
  if (entries.length === 0) return undefined;
  const fields = sortedRecord(Object.fromEntries(entries.map((k) => [k, { stringValue: metadata[k] }])));
  return { filter_metadata: { 'envoy.lb': { fields } } };
}

function lbEndpoint(instance: Instance, health: EnvoyHealthStatus): LbEndpoint {
  const endpoint: LbEndpoint = {
    endpoint: { address: { socket_address: { address: instance.address, port_value: instance.port } } },
    health_status: health,
    // Envoy requires weights ≥ 1; weight 0 is expressed as DRAINING above.
    load_balancing_weight: { value: Math.max(1, instance.weight) },
  };
  const metadata = metadataStruct(instance.metadata);
  if (metadata) endpoint.metadata = metadata;
  return endpoint;
}

const HEALTH_PREFERENCE: Record<EnvoyHealthStatus, number> = { HEALTHY: 0, UNHEALTHY: 1, DRAINING: 2 };

interface RankedInstance {
  instance: Instance;
  health: EnvoyHealthStatus;
}

/** Each instance with its health, computed once (the sort and the grouping below both need it). */
function withHealth(instances: Iterable<Instance>, verdictOf: (key: string) => HealthVerdict | undefined): RankedInstance[] {
  const ranked: RankedInstance[] = [];
  for (const instance of instances) ranked.push({ instance, health: effectiveHealth(instance, verdictOf(instance.key)) });
  return ranked;
}

/**
 * One endpoint per address:port. gRPC clients NACK a whole assignment that repeats an address, which happens when a
 * restarted instance registers under a new id while its old key waits for its lease to expire. The entry kept is
 * the healthiest, then the lowest instance id, so every replica picks the same one.
 */
function uniqueRanked(ranked: RankedInstance[]): RankedInstance[] {
  ranked.sort((a, b) => HEALTH_PREFERENCE[a.health] - HEALTH_PREFERENCE[b.health] || compareInstances(a.instance, b.instance));
  const seen = new Set<string>();
  return ranked.filter(({ instance }) => {
    const address = `${instance.address}|${instance.port}`;
    if (seen.has(address)) return false;
    seen.add(address);
    return true;
  });
}

/**
 * Builds the ClusterLoadAssignment message. Priorities are renumbered densely from 0 in their registered order,
 * because gRPC clients reject an assignment whose priorities skip a level.
 */
export function clusterLoadAssignment(
  service: string,
  instances: Iterable<Instance>,
  verdictOf: (key: string) => HealthVerdict | undefined,
): ClusterLoadAssignment {
  const groups = new Map<string, { priority: number; locality: Instance['locality']; members: RankedInstance[] }>();
  for (const ranked of uniqueRanked(withHealth(instances, verdictOf))) {
    const key = `${ranked.instance.priority}|${localityKey(ranked.instance)}`;
    let group = groups.get(key);
    if (!group) {
      group = { priority: ranked.instance.priority, locality: ranked.instance.locality, members: [] };
      groups.set(key, group);
    }
    group.members.push(ranked);
  }
  const densePriority = new Map([...new Set([...groups.values()].map((g) => g.priority))].sort((a, b) => a - b).map((p, i) => [p, i]));
  const ordered = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);

  const endpoints = ordered.map((group): LocalityLbEndpoints => {
    const members = group.members.sort((a, b) => compareInstances(a.instance, b.instance));
    const weight = members.reduce((sum, m) => (m.health === 'DRAINING' ? sum : sum + Math.max(1, m.instance.weight)), 0);
    const { region, zone, subZone } = group.locality;
    return {
      // Both Envoy and gRPC clients need a locality (empty is fine) and a locality weight on every group.
      locality: { ...(region ? { region } : {}), ...(zone ? { zone } : {}), ...(subZone ? { sub_zone: subZone } : {}) },
      lb_endpoints: members.map((m) => lbEndpoint(m.instance, m.health)),
      load_balancing_weight: { value: Math.max(1, weight) },
      priority: densePriority.get(group.priority) ?? 0,
    };
  });
  return { cluster_name: service, endpoints };
}
