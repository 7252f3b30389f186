// The registry's model: what one etcd key under the prefix says about one service instance.
import type { SortedMapView } from '../sorted-map.js';

export type InstanceStatus = 'serving' | 'draining' | 'unhealthy';

export interface Locality {
  region?: string;
  zone?: string;
  subZone?: string;
}

export type HealthCheckSpec =
  | { type: 'tcp'; intervalMs?: number; timeoutMs?: number; healthyThreshold?: number; unhealthyThreshold?: number; port?: number }
  | {
      type: 'http';
      path?: string;
      expectedStatus?: number;
      intervalMs?: number;
      timeoutMs?: number;
      healthyThreshold?: number;
      unhealthyThreshold?: number;
      port?: number;
    }
  | {
      type: 'grpc';
      /** grpc.health.v1 service name; empty string = the server as a whole. */
      service?: string;
      intervalMs?: number;
      timeoutMs?: number;
      healthyThreshold?: number;
      unhealthyThreshold?: number;
      port?: number;
    };

/** Which of the three value formats of the key schema a registration was written in. */
export type RegistrationFormat = 'json' | 'go-naming' | 'host-port';

/** What a registration value says about an instance: the native JSON record of the key schema, once validated. */
export interface RegistrationRecord {
  address: string;
  port: number;
  /** ≥ 0; 0 means draining (DESIGN.md). */
  weight: number;
  status: InstanceStatus;
  priority: number;
  locality: Locality;
  metadata: Record<string, string>;
  healthCheck?: HealthCheckSpec;
}

/** A validated registration: one instance of one service. */
export interface Instance extends RegistrationRecord {
  service: string;
  /** The rest of the key after `<prefix><service>/`. */
  instanceId: string;
  /** Full etcd key, as operators see it. */
  key: string;
  format: RegistrationFormat;
  /** etcd lease id (decimal string), '0' when the key has no lease. */
  lease: string;
  /** etcd mod_revision of the value this instance was built from. */
  modRevision: string;
}

/** A key whose value failed to parse or validate. */
export interface RejectedEntry {
  service: string;
  key: string;
  reason: string;
  /** The raw value, truncated for display. */
  valuePreview: string;
  modRevision: string;
  /** True when an earlier good value of this key keeps serving (DESIGN.md: bad writes never drop good data). */
  keepsLastGood: boolean;
}

/** One service's instances by instance id, in id order. Replaced as a whole when any of them changes. */
export type ServiceInstances = ReadonlyMap<string, Instance>;

/**
 * A point-in-time, immutable view of the registry. Consecutive views share every service that did not change
 * (persistent maps), so taking one after a single event costs that event, not the fleet.
 */
export interface RegistryView {
  /** service → its instances; a service is present while it has at least one valid instance. */
  services: SortedMapView<string, ServiceInstances>;
  /** full key → rejection */
  rejected: SortedMapView<string, RejectedEntry>;
  /** etcd revision this view reflects. */
  revision: string;
}

/** What one batch of etcd events (or a full listing) changed. */
export interface RegistryChange {
  view: RegistryView;
  /** Services whose instance set or any instance's value changed (added, updated or gone). */
  changedServices: ReadonlySet<string>;
  /** True when the set of rejected entries changed. */
  rejectedChanged: boolean;
  /** Date.now() when the first etcd response behind this change arrived (for end-to-end latency metrics). */
  changeSeenAt: number;
}

export type WatchState = 'starting' | 'syncing' | 'watching' | 'reconnecting' | 'resyncing' | 'stopped';
