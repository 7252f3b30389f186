// Builds real snapshots (real Envoy encodings) from instance lists, for tests that need no etcd.
import type { Instance } from '../../src/registry/types.js';
import { SnapshotBuilder, diffSnapshots } from '../../src/snapshot/builder.js';
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

/** Successive snapshots from a builder, with the diff against the previous one. */
export class SnapshotSequence {
  private readonly builder = new SnapshotBuilder();
  private last: Snapshot | undefined;

  next(services: Record<string, Instance[]>): { snapshot: Snapshot; diff: SnapshotDiff } {
    const snapshot = this.builder.build({ services: new Map(Object.entries(services)), verdictOf: () => undefined });
    const diff = diffSnapshots(this.last, snapshot);
    this.last = snapshot;
    return { snapshot, diff };
  }
}
