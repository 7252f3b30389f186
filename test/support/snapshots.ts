// Builds real snapshots (real Envoy encodings) from instance lists, for tests that need no etcd.
import type { Instance } from '../../src/registry/types.js';
import { SnapshotBuilder } from '../../src/snapshot/builder.js';
import type { HealthVerdict } from '../../src/snapshot/resources/endpoint.js';
import type { Snapshot, SnapshotDiff } from '../../src/snapshot/types.js';

export function instance(service: string, instanceId: string, port: number, overrides: Partial<Instance> = {}): Instance {
  return {
    service,
    instanceId,
    key: `/services/${service}/${instanceId}`,
    format: 'json',
    address: '127.0.0.1',
    port,
    weight: 1,
    status: 'serving',
    priority: 0,
    locality: {},
    metadata: {},
    lease: '0',
    modRevision: '1',
    ...overrides,
  };
}

/**
 * Successive snapshots from a builder, each from the complete set of services (absent ones are removed), with the
 * diff against the previous one.
 */
export class SnapshotSequence {
  readonly builder = new SnapshotBuilder();
  private last: Snapshot = this.builder.empty();
  private names = new Set<string>();

  next(services: Record<string, Instance[]>, verdictOf: (key: string) => HealthVerdict | undefined = () => undefined): { snapshot: Snapshot; diff: SnapshotDiff } {
    const draft = this.builder.draft(this.last, verdictOf);
    for (const [name, instances] of Object.entries(services)) draft.set(name, instances);
    for (const name of this.names) if (!(name in services)) draft.set(name, undefined);
    const built = draft.finish();
    this.last = built.snapshot;
    this.names = new Set(Object.keys(services));
    return built;
  }
}

/** One snapshot of these services from a fresh builder. */
export function snapshotOf(services: Record<string, Instance[]>): Snapshot {
  return new SnapshotSequence().next(services).snapshot;
}
