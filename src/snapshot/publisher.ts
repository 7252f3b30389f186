// Turns a stream of registry/health changes into published snapshots: coalesces bursts (quiet window capped by a
// maximum wait), keeps services without instances for a grace period (empty assignment), and tells subscribers
// what changed.
import type { Logger } from '../logger.js';
import type { Instance, RegistryView } from '../registry/types.js';
import { SnapshotBuilder, diffSnapshots } from './builder.js';
import type { HealthVerdict } from './resources/endpoint.js';
import type { Snapshot, SnapshotDiff, SnapshotSource } from './types.js';

export interface PublisherOptions {
  registry: () => RegistryView;
  verdictOf: (key: string) => HealthVerdict | undefined;
  logger: Logger;
  /** Quiet window: publish once no change arrived for this long. */
  quietMs?: number;
  /** Upper bound on how long a change may wait for the quiet window. */
  maxWaitMs?: number;
  /** How long a service without instances keeps its Cluster/Listener/Route (with an empty assignment). */
  serviceGcMs?: number;
}

type SnapshotListener = (snapshot: Snapshot, diff: SnapshotDiff) => void;
type BuiltListener = (snapshot: Snapshot, buildMs: number) => void;

export class SnapshotPublisher implements SnapshotSource {
  private readonly builder = new SnapshotBuilder();
  private readonly listeners = new Set<SnapshotListener>();
  private readonly builtListeners = new Set<BuiltListener>();
  /** service → when it was last seen with no instance. */
  private readonly emptySince = new Map<string, number>();
  private snapshot: Snapshot;
  private quietTimer: NodeJS.Timeout | undefined;
  private maxWaitTimer: NodeJS.Timeout | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  private pendingSince: number | undefined;
  private stopped = false;
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private readonly serviceGcMs: number;

  constructor(private readonly options: PublisherOptions) {
    this.quietMs = options.quietMs ?? 10;
    this.maxWaitMs = options.maxWaitMs ?? 100;
    this.serviceGcMs = options.serviceGcMs ?? 10 * 60_000;
    this.snapshot = this.build(undefined);
  }

  current(): Snapshot {
    return this.snapshot;
  }

  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onBuilt(listener: BuiltListener): () => void {
    this.builtListeners.add(listener);
    return () => this.builtListeners.delete(listener);
  }

  /** Something changed (registry or health): publish after the quiet window, or at the latest after maxWaitMs. */
  schedule(changeSeenAt: number = Date.now()): void {
    if (this.stopped) return;
    this.pendingSince = Math.min(this.pendingSince ?? changeSeenAt, changeSeenAt);
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.publish(), this.quietMs);
    this.maxWaitTimer ??= setTimeout(() => this.publish(), this.maxWaitMs);
  }

  /** Builds and publishes now (also used for the first snapshot after the initial sync). */
  publish(): void {
    if (this.stopped) return;
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxWaitTimer);
    this.quietTimer = this.maxWaitTimer = undefined;
    const changeSeenAt = this.pendingSince;
    this.pendingSince = undefined;
    const previous = this.snapshot;
    const next = this.build(changeSeenAt);
    const diff = diffSnapshots(previous, next);
    if (diff.size === 0) return;
    this.snapshot = next;
    this.options.logger.debug({ version: next.version, changedTypes: diff.size }, 'snapshot published');
    for (const listener of this.listeners) listener(next, diff);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxWaitTimer);
    clearTimeout(this.gcTimer);
  }

  private build(changeSeenAt: number | undefined): Snapshot {
    const started = performance.now();
    const services = this.servicesToPublish(this.options.registry(), Date.now());
    const snapshot = this.builder.build({
      services,
      verdictOf: this.options.verdictOf,
      ...(changeSeenAt !== undefined ? { changeSeenAt } : {}),
    });
    const buildMs = performance.now() - started;
    for (const listener of this.builtListeners) listener(snapshot, buildMs);
    return snapshot;
  }

  /** Live services, plus recently emptied ones (until their grace period ends). */
  private servicesToPublish(view: RegistryView, now: number): Map<string, readonly Instance[]> {
    const services = new Map<string, readonly Instance[]>();
    for (const [service, instances] of view.services) {
      if (instances.size === 0) continue;
      services.set(service, [...instances.values()]);
      this.emptySince.delete(service);
    }
    const previouslyPublished = this.snapshot ? [...this.snapshot.resources.values()][0]?.keys() ?? [] : [];
    for (const service of previouslyPublished) {
      if (services.has(service)) continue;
      const since = this.emptySince.get(service) ?? now;
      this.emptySince.set(service, since);
      if (now - since < this.serviceGcMs) services.set(service, []);
    }
    for (const service of this.emptySince.keys()) if (!services.has(service)) this.emptySince.delete(service);
    this.scheduleGc(now);
    return services;
  }

  private scheduleGc(now: number): void {
    clearTimeout(this.gcTimer);
    this.gcTimer = undefined;
    if (this.emptySince.size === 0 || this.stopped) return;
    const nextExpiry = Math.min(...this.emptySince.values()) + this.serviceGcMs;
    this.gcTimer = setTimeout(() => this.publish(), Math.max(0, nextExpiry - now) + 1);
    this.gcTimer.unref();
  }
}
