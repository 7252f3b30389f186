// Prometheus metrics: counters and histograms fed by xDS and snapshot events, gauges read from the admin state at
// scrape time (so they can never drift from what /debug shows).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WatchState } from '../registry/types.js';
import { TYPE_URL, type TypeUrl } from '../snapshot/types.js';
import type { XdsApi, XdsProtocol } from '../xds/types.js';
import { RESOURCE_KINDS, kindOf } from './resource-types.js';
import { SERVICE_STATES, countServices } from './service-names.js';
import type { AdminState, MetricsSources } from './state.js';
import { StreamViews } from './stream-views.js';
import { VIEW_SYNC_STATUSES, missingNames, typeSyncStatus } from './sync-status.js';

export interface AdminMetrics {
  readonly registry: Registry;
  /** Content-Type of `text()` (Prometheus text exposition format). */
  readonly contentType: string;
  text(): Promise<string>;
}

export interface AdminMetricsOptions {
  /** Include Node process metrics (CPU, memory, event loop lag, GC) under their standard names; default true. */
  processMetrics?: boolean;
}

// Records keyed by every member make these lists fail to compile when a union gains a member.
const WATCH_STATES = Object.keys({
  starting: 1,
  syncing: 1,
  watching: 1,
  reconnecting: 1,
  resyncing: 1,
  stopped: 1,
} satisfies Record<WatchState, 1>) as WatchState[];
const APIS = Object.keys({ ads: 1, eds: 1, cds: 1, lds: 1, rds: 1 } satisfies Record<XdsApi, 1>) as XdsApi[];
const PROTOCOLS = Object.keys({ sotw: 1, delta: 1 } satisfies Record<XdsProtocol, 1>) as XdsProtocol[];

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BUILD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** A Prometheus counter mirroring a monotonic count kept elsewhere; a smaller reading means the source restarted. */
function mirrorCount(counter: Counter, read: () => number): () => void {
  let last = 0;
  return () => {
    const value = read();
    if (value < last) {
      counter.reset();
      counter.inc(value);
    } else if (value > last) {
      counter.inc(value - last);
    }
    last = value;
  };
}

function typeLabel(typeUrl: TypeUrl): string {
  return kindOf(typeUrl);
}

/** Connected streams and their sync status per type, the same statuses /debug/clients shows. */
function streamGauges(registers: Registry[], state: AdminState): void {
  const connectedStreams = new Gauge({
    name: 'etcd_xds_connected_streams',
    help: 'Connected xDS streams by API (ads or a per-type service) and protocol (sotw or delta).',
    labelNames: ['api', 'protocol'] as const,
    registers,
    collect() {
      const counts = new Map<string, number>();
      for (const stream of state.streams()) {
        const key = `${stream.api}|${stream.protocol}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const api of APIS) {
        for (const protocol of PROTOCOLS) connectedStreams.set({ api, protocol }, counts.get(`${api}|${protocol}`) ?? 0);
      }
    },
  });
  const streamSyncStatus = new Gauge({
    name: 'etcd_xds_stream_sync_status',
    help: 'Streams per resource type and sync status (SYNCED, STALE, NACKED, NOT_FOUND: waiting for a resource that is not served, NOT_SENT).',
    labelNames: ['type', 'status'] as const,
    registers,
    collect() {
      streamSyncStatus.reset();
      for (const type of RESOURCE_KINDS) {
        for (const status of VIEW_SYNC_STATUSES) streamSyncStatus.set({ type, status }, 0);
      }
      const views = new StreamViews(state);
      for (const stream of state.streams()) {
        const exists = views.existsFor(stream);
        for (const info of stream.types.values()) {
          const status = typeSyncStatus(info, missingNames(info, exists).length);
          streamSyncStatus.inc({ type: typeLabel(info.typeUrl), status });
        }
      }
    },
  });
}

/** Counters and histograms of what the xDS server sends and hears back, and of snapshot builds. */
function trafficMetrics(registers: Registry[], sources: MetricsSources): void {
  const responsesSent = new Counter({
    name: 'etcd_xds_responses_sent_total',
    help: 'Discovery responses sent, by resource type.',
    labelNames: ['type'] as const,
    registers,
  });
  const resourcesSent = new Counter({
    name: 'etcd_xds_resources_sent_total',
    help: 'Resources carried by discovery responses, by resource type.',
    labelNames: ['type'] as const,
    registers,
  });
  const acks = new Counter({ name: 'etcd_xds_acks_total', help: 'ACKs received, by resource type.', labelNames: ['type'] as const, registers });
  const nacks = new Counter({ name: 'etcd_xds_nacks_total', help: 'NACKs received, by resource type.', labelNames: ['type'] as const, registers });
  const pushLatency = new Histogram({
    name: 'etcd_xds_push_latency_seconds',
    help: 'Time from a registry change being seen to a response carrying it being sent, by resource type.',
    labelNames: ['type'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  for (const type of RESOURCE_KINDS) {
    for (const counter of [responsesSent, resourcesSent, acks, nacks]) counter.inc({ type }, 0);
  }
  const snapshotBuild = new Histogram({
    name: 'etcd_xds_snapshot_build_seconds',
    help: 'Time to build and encode a snapshot.',
    buckets: BUILD_BUCKETS,
    registers,
  });

  sources.onXdsEvent('responseSent', (_info, typeUrl, resourceCount, changeSeenAt) => {
    const type = typeLabel(typeUrl);
    responsesSent.inc({ type });
    resourcesSent.inc({ type }, resourceCount);
    if (changeSeenAt !== undefined) {
      const seconds = (Date.now() - changeSeenAt) / 1000;
      // A negative age can only come from a clock step; it would corrupt the histogram's sum.
      if (seconds >= 0) pushLatency.observe({ type }, seconds);
    }
  });
  sources.onXdsEvent('ack', (_info, typeUrl) => acks.inc({ type: typeLabel(typeUrl) }));
  sources.onXdsEvent('nack', (_info, typeUrl) => nacks.inc({ type: typeLabel(typeUrl) }));
  sources.onSnapshotBuilt((_snapshot, buildMs) => snapshotBuild.observe(buildMs / 1000));
}

/** What the registry and the served snapshot hold, counted the way /debug/summary and `etcd-xds services` count. */
function registryGauges(registers: Registry[], state: AdminState): void {
  new Gauge({
    name: 'etcd_xds_snapshot_resources',
    help: 'Resources in the served snapshot, by resource type.',
    labelNames: ['type'] as const,
    registers,
    collect() {
      const snapshot = state.snapshot();
      for (const type of RESOURCE_KINDS) this.set({ type }, snapshot.resources.get(TYPE_URL[type])?.size ?? 0);
    },
  });
  new Gauge({
    name: 'etcd_xds_services',
    help: 'Services by state: live (at least one valid instance), empty (no valid instance, still served until --service-gc), rejected-only (only rejected entries). Their sum is the count etcd-xds services prints.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const counts = countServices(state.registry(), state.snapshot());
      for (const serviceState of SERVICE_STATES) this.set({ state: serviceState }, counts[serviceState]);
    },
  });
  new Gauge({
    name: 'etcd_xds_registry_services',
    help: 'Services with at least one valid registered instance (the same as etcd_xds_services{state="live"}).',
    registers,
    collect() {
      this.set(countServices(state.registry(), state.snapshot()).live);
    },
  });
  new Gauge({
    name: 'etcd_xds_registry_instances',
    help: 'Valid registered instances across all services.',
    registers,
    collect() {
      let total = 0;
      for (const instances of state.registry().services.values()) total += instances.size;
      this.set(total);
    },
  });
  new Gauge({
    name: 'etcd_xds_rejected_registrations',
    help: 'etcd keys whose value was rejected (see /debug/services for the reasons).',
    registers,
    collect() {
      this.set(state.registry().rejected.size);
    },
  });
  new Gauge({
    name: 'etcd_xds_probed_instances',
    help: 'Instances under active health checking, by verdict (unknown until the first verdict).',
    labelNames: ['verdict'] as const,
    registers,
    collect() {
      const counts = { healthy: 0, unhealthy: 0, unknown: 0 };
      for (const probe of state.probes()) counts[probe.verdict ?? 'unknown'] += 1;
      for (const [verdict, count] of Object.entries(counts)) this.set({ verdict }, count);
    },
  });
}

/** Readiness and the etcd watch. */
function watchMetrics(registers: Registry[], state: AdminState): void {
  new Gauge({
    name: 'etcd_xds_ready',
    help: '1 once the first full etcd sync is done.',
    registers,
    collect() {
      this.set(state.ready() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'etcd_xds_etcd_watch_state',
    help: 'State of the etcd watch: 1 for the current state, 0 for the others.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const current = state.watch().state;
      for (const watchState of WATCH_STATES) this.set({ state: watchState }, watchState === current ? 1 : 0);
    },
  });
  const reconnects: Counter = new Counter({
    name: 'etcd_xds_etcd_watch_reconnects_total',
    help: 'Times the etcd watch reconnected after losing etcd.',
    registers,
    collect: () => syncReconnects(),
  });
  const syncReconnects = mirrorCount(reconnects, () => state.watch().reconnects);
  const resyncs: Counter = new Counter({
    name: 'etcd_xds_etcd_watch_resyncs_total',
    help: 'Full re-reads of the prefix (after compaction or a long outage).',
    registers,
    collect: () => syncResyncs(),
  });
  const syncResyncs = mirrorCount(resyncs, () => state.watch().resyncs);
}

export function createAdminMetrics(
  sources: MetricsSources,
  state: AdminState,
  options: AdminMetricsOptions = {},
): AdminMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  streamGauges(registers, state);
  trafficMetrics(registers, sources);
  registryGauges(registers, state);
  watchMetrics(registers, state);
  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
  };
}
