// /debug/summary and the page's head: the fleet in a handful of numbers. Counting walks every instance once
// (a few milliseconds at 100,000) and builds nothing per instance.
import type { ConfigView } from '../config/types.js';
import { effectiveHealth } from '../snapshot/resources/endpoint.js';
import { streamStatus } from './clients-view.js';
import { countServices, type ServiceState } from './service-names.js';
import type { AdminState, WatchStatus } from './state.js';
import { StreamViews } from './stream-views.js';
import { emptyStatusCounts, type ViewSyncStatus } from './sync-status.js';

export interface SummaryResponse {
  revision: string;
  ready: boolean;
  watch: WatchStatus;
  snapshotVersion: string;
  /** `total` is what `etcd-xds services` counts and the sum of the etcd_xds_services metric's states. */
  services: { total: number } & Record<ServiceState, number>;
  /** Valid registrations by the health the snapshot stage gives them (registered status, weight, probe verdict). */
  instances: { total: number; healthy: number; draining: number; unhealthy: number };
  /** Rejected etcd keys (some keep a last good value serving). */
  rejected: number;
  /** Configuration objects serving (policies, gateways), and configuration keys whose value was rejected. */
  config: { objects: number; rejected: number };
  streams: { total: number; byStatus: Record<ViewSyncStatus, number> };
}

function countInstances(state: AdminState): SummaryResponse['instances'] {
  const registry = state.registry();
  const counts = { total: 0, healthy: 0, draining: 0, unhealthy: 0 };
  for (const instances of registry.services.values()) {
    for (const instance of instances.values()) {
      counts.total += 1;
      const health = effectiveHealth(instance, undefined);
      counts[health === 'HEALTHY' ? 'healthy' : health === 'DRAINING' ? 'draining' : 'unhealthy'] += 1;
    }
  }
  // A failing probe turns a healthy instance unhealthy; visiting the failing probes avoids a map of every probe.
  for (const probe of state.probes()) {
    if (probe.verdict !== 'unhealthy') continue;
    const instance = registry.services.get(probe.service)?.get(probe.instanceId);
    if (instance && effectiveHealth(instance, undefined) === 'HEALTHY') {
      counts.healthy -= 1;
      counts.unhealthy += 1;
    }
  }
  return counts;
}

function configCounts(config: ConfigView): SummaryResponse['config'] {
  return { objects: config.policies.size + config.gateways.size, rejected: config.rejected.size };
}

export function summaryView(state: AdminState): SummaryResponse {
  const registry = state.registry();
  const snapshot = state.snapshot();
  const services = countServices(registry, snapshot);
  const views = new StreamViews(state);
  const streams = state.streams();
  const byStatus = emptyStatusCounts();
  for (const stream of streams) byStatus[streamStatus(stream, views.existsFor(stream))] += 1;
  return {
    revision: registry.revision,
    ready: state.ready(),
    watch: state.watch(),
    snapshotVersion: snapshot.version,
    services: { total: services.live + services.empty + services['rejected-only'], ...services },
    instances: countInstances(state),
    rejected: registry.rejected.size,
    config: configCounts(state.config()),
    streams: { total: streams.length, byStatus },
  };
}
