// What the admin API reads. The admin layer sees the rest of the control plane only through these two small
// interfaces, so the debug views show exactly the state the pushes use, and wiring is a handful of closures.
import type { ConfigView } from '../config/types.js';
import type { ProbeState } from '../health/types.js';
import type { RegistryView, WatchState } from '../registry/types.js';
import type { Snapshot } from '../snapshot/types.js';
import type { StreamInfo, XdsServerEvents } from '../xds/types.js';

export interface WatchStatus {
  state: WatchState;
  reconnects: number;
  resyncs: number;
  /** Why etcd cannot be read or watched, and since when (ISO), while that lasts. */
  lastError?: string;
  failingSince?: string;
}

/** Read-only accessors, called on every request and scrape: each must return the current state cheaply. */
export interface AdminState {
  /** Services, rejected entries and the etcd revision they reflect. */
  registry(): RegistryView;
  /** The snapshot the xDS server currently serves to a view (the proxyless default view when none is named). */
  snapshot(view?: string): Snapshot;
  /** The configuration objects served (service policies, gateways) and the values rejected, with their reasons. */
  config(): ConfigView;
  /** Every connected xDS stream. */
  streams(): readonly StreamInfo[];
  /** Active health-check state; an empty list when the checker is off. */
  probes(): readonly ProbeState[];
  /** True once the first full etcd sync is done. */
  ready(): boolean;
  watch(): WatchStatus;
}

/** Event sources that feed counters and histograms (gauges are read from AdminState at scrape time). */
export interface MetricsSources {
  onXdsEvent<K extends keyof XdsServerEvents>(event: K, listener: (...args: XdsServerEvents[K]) => void): void;
  /**
   * Called after each snapshot is built; `buildMs` is how long building took. Snapshot.changeSeenAt and the
   * `changeSeenAt` of responseSent are epoch milliseconds (Date.now()).
   */
  onSnapshotBuilt(listener: (snapshot: Snapshot, buildMs: number) => void): void;
}
