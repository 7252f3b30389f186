// A snapshot source driven by the test: a large fleet, and one service added per step (a push per step).
import type { Snapshot, SnapshotDiff, SnapshotSource } from '../../src/snapshot/types.js';
import { SnapshotSequence, instance } from '../support/snapshots.js';

export class SteppedSource implements SnapshotSource {
  private readonly sequence = new SnapshotSequence();
  private readonly services: Record<string, ReturnType<typeof instance>[]> = {};
  private snapshot: Snapshot;
  private readonly listeners = new Set<(s: Snapshot, d: SnapshotDiff) => void>();

  constructor(initialServices: number) {
    for (let i = 0; i < initialServices; i++) this.services[`svc-${i}`] = [instance(`svc-${i}`, 'a', 1000 + i)];
    this.snapshot = this.sequence.next(this.services).snapshot;
  }
  current(): Snapshot {
    return this.snapshot;
  }
  onSnapshot(listener: (s: Snapshot, d: SnapshotDiff) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Publishes a snapshot with one more service; listeners (the server's push) run before this returns. */
  addService(name: string): void {
    this.services[name] = [instance(name, 'a', 9000)];
    const { snapshot, diff } = this.sequence.next(this.services);
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener(snapshot, diff);
  }
}
