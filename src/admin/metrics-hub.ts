// A ready-made MetricsSources: whoever owns the events calls emit*, the metrics subscribe through the interface.
// Handy when the event owners are not EventEmitters themselves, or when several must feed one set of metrics.
import { EventEmitter } from 'node:events';
import type { Snapshot } from '../snapshot/types.js';
import type { XdsServerEvents } from '../xds/types.js';
import type { MetricsSources } from './state.js';

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
