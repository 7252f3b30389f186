// A MetricsSources for tests: they emit the events the metrics subscribe to through the interface.
import { EventEmitter } from 'node:events';
import type { Snapshot } from '../../src/snapshot/types.js';
import type { XdsServerEvents } from '../../src/xds/types.js';
import type { MetricsSources } from '../../src/admin/state.js';

export class MetricsEventHub implements MetricsSources {
  private readonly emitter = new EventEmitter();

  onXdsEvent<K extends keyof XdsServerEvents>(event: K, listener: (...args: XdsServerEvents[K]) => void): void {
    this.emitter.on(`xds:${event}`, listener as (...args: unknown[]) => void);
  }

  onSnapshotBuilt(listener: (snapshot: Snapshot, buildMs: number) => void): void {
    this.emitter.on('snapshotBuilt', listener);
  }

  emitXdsEvent<K extends keyof XdsServerEvents>(event: K, ...args: XdsServerEvents[K]): void {
    this.emitter.emit(`xds:${event}`, ...args);
  }

  emitSnapshotBuilt(snapshot: Snapshot, buildMs: number): void {
    this.emitter.emit('snapshotBuilt', snapshot, buildMs);
  }
}
