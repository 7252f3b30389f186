// A fleet-sized AdminState held in memory: `services` services of `perService` instances each, every service's
// ClusterLoadAssignment encoded for real, so the admin views face the sizes of issue 9 without etcd.
import type { AdminState, WatchStatus } from '../../src/admin/state.js';
import type { ConfigView } from '../../src/config/types.js';
import type { ProbeState } from '../../src/health/types.js';
import type { Instance, RegistryView } from '../../src/registry/types.js';
import { TYPE_URL, type EncodedResource, type Snapshot, type TypeUrl } from '../../src/snapshot/types.js';
import type { StreamInfo } from '../../src/xds/types.js';
import { contentSetVersion } from '../../src/snapshot/encode.js';
import { encode, instance, lbEndpoint } from './fixtures.js';

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}`;
}

export class FleetState implements AdminState {
  readonly view: RegistryView;
  readonly snap: Snapshot;
  connected: StreamInfo[] = [];
  readonly configView: ConfigView = { policies: new Map(), gateways: new Map(), rejected: new Map(), revision: '0' };

  constructor(services: number, perService: number) {
    const byService = new Map<string, Map<string, Instance>>();
    const assignments = new Map<string, EncodedResource>();
    for (let s = 0; s < services; s += 1) {
      const name = serviceName(s);
      const instances = new Map<string, Instance>();
      for (let i = 0; i < perService; i += 1) {
        const id = `i-${i}`;
        instances.set(id, instance(name, id, { address: `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`, port: 8080 }));
      }
      byService.set(name, instances);
      const endpoints = [{ locality: {}, lb_endpoints: [...instances.values()].map((i) => lbEndpoint(i, 'HEALTHY')) }];
      assignments.set(name, encode(TYPE_URL.endpoint, name, { cluster_name: name, endpoints }));
    }
    this.view = { services: byService, rejected: new Map(), revision: String(services * perService) };
    this.snap = {
      version: 'fleet',
      resources: new Map<TypeUrl, Map<string, EncodedResource>>([[TYPE_URL.endpoint, assignments]]),
      typeVersions: new Map([[TYPE_URL.endpoint, contentSetVersion(assignments.values())]]),
      builtAt: new Date(),
    };
  }

  registry(): RegistryView {
    return this.view;
  }
  snapshot(): Snapshot {
    return this.snap;
  }
  config(): ConfigView {
    return this.configView;
  }
  streams(): readonly StreamInfo[] {
    return this.connected;
  }
  probes(): readonly ProbeState[] {
    return [];
  }
  ready(): boolean {
    return true;
  }
  watch(): WatchStatus {
    return { state: 'watching', reconnects: 0, resyncs: 0 };
  }
}
