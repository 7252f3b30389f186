// Turns registry and health changes into published snapshots. Only the services named by a change are re-derived.
//
// Coalescing is a throttle, not a quiet window: an isolated change is published at once (on the next turn of the
// event loop, so that the events of one etcd response and the work they trigger land in one snapshot); changes that
// arrive sooner than `quietMs` after the last publish wait for that spacing to pass and go out together. The
// spacing grows with the cost of a publish (twice its build and fan-out time), up to `maxWaitMs`, so a storm of
// changes over a large fleet cannot keep the event loop busy publishing, while no change ever waits longer than
// `maxWaitMs`. A service whose last instance left keeps its Cluster/Listener/Route with an empty assignment for
// `serviceGcMs`, then is removed.
import type { Logger } from '../logger.js';
import type { RegistryView } from '../registry/types.js';
import type { ConfigChange, ConfigView } from '../config/types.js';
import { EnvoyViews } from '../views/envoy-views.js';
import { nodeView, type ViewSpec } from '../views/node-view.js';
import { gatewaySubsets } from '../views/view-resources.js';
import { SnapshotBuilder, type PolicyLookup, type SnapshotDraft } from './builder.js';
import type { ClusterOptions } from './resources/cluster.js';
import type { HealthVerdict } from './resources/endpoint.js';
import { DEFAULT_VIEW, TYPE_URL, type Snapshot, type SnapshotListener, type SnapshotSource, type ViewNode, type ViewUpdate } from './types.js';

/** A service whose last instance left: since when, and the Cluster options it had then. */
export interface EmptyServiceRecord {
  since: number;
  cluster: ClusterOptions;
}

/**
 * Where grace periods outlive this process (the control plane's state in etcd), so that every replica and every
 * restart keeps an emptied service for the same period with the same Cluster. Without it, they live in memory.
 */
export interface GraceRecords {
  emptyRecord(service: string): EmptyServiceRecord | undefined;
  emptyServices(): Iterable<string>;
  /** Record that `service` is empty since `since` (the first record written stands). */
  markEmpty(service: string, since: number, cluster: ClusterOptions): void;
  /** The service has instances again, or its grace period ended. */
  markGone(service: string): void;
}

export interface PublisherOptions {
  registry: () => RegistryView;
  verdictOf: (key: string) => HealthVerdict | undefined;
  logger: Logger;
  /** Least spacing between publishes: changes arriving sooner after a publish go out together at its end. */
  quietMs?: number;
  /** Most spacing between publishes, however costly they are: no change waits longer. */
  maxWaitMs?: number;
  /** How long a service without instances keeps its Cluster/Listener/Route (with an empty assignment). */
  serviceGcMs?: number;
  /** Services re-derived between yields to the event loop while building the first snapshot. */
  initialChunk?: number;
  grace?: GraceRecords;
  /** Configuration objects (service policies, gateways); none when absent. */
  config?: () => ConfigView;
  /** The port of an Envoy's default listener when its node metadata names none. */
  envoyListenerPort?: number;
}

type BuiltListener = (snapshot: Snapshot, buildMs: number, changedServices: number) => void;

export interface PublisherStats {
  /** Snapshots published (a build that changed nothing is not one). */
  published: number;
  /** Services re-derived in all (a change to one service adds one). */
  servicesRebuilt: number;
}

const EMPTY_CONFIG: ConfigView = { policies: new Map(), gateways: new Map(), rejected: new Map(), revision: '0' };

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class SnapshotPublisher implements SnapshotSource {
  readonly builder = new SnapshotBuilder();
  private readonly listeners = new Set<SnapshotListener>();
  private readonly builtListeners = new Set<BuiltListener>();
  /** Services to re-derive at the next publish. */
  private readonly dirty = new Set<string>();
  /** service → since when it has had no instance (from the grace records when they hold it). */
  private readonly emptySince = new Map<string, number>();
  private snapshot: Snapshot;
  private immediate: NodeJS.Immediate | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  private gcAt: number | undefined;
  private pendingSince: number | undefined;
  private lastPublishAt = Number.NEGATIVE_INFINITY;
  /** Time until the next publish may start: quietMs, or more after a costly publish (never above maxWaitMs). */
  private spacingMs: number;
  private initialDone = false;
  private stopped = false;
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private readonly serviceGcMs: number;
  private readonly initialChunk: number;
  readonly stats: PublisherStats = { published: 0, servicesRebuilt: 0 };
  private readonly views: EnvoyViews;
  /** Envoy view key → the spec its nodes share and how many streams hold it (dropped at zero). */
  private readonly viewMembers = new Map<string, { spec: ViewSpec; streams: number }>();
  /** Configuration objects changed since the last publish: the Envoy views they reach look at their routes again. */
  private configChanges: ConfigChange[] = [];
  private readonly policies: PolicyLookup;
  private extraSubsets: { config: ConfigView; byService: Map<string, string[]> } | undefined;

  constructor(private readonly options: PublisherOptions) {
    this.quietMs = options.quietMs ?? 10;
    this.maxWaitMs = options.maxWaitMs ?? 100;
    this.serviceGcMs = options.serviceGcMs ?? 10 * 60_000;
    this.initialChunk = options.initialChunk ?? 250;
    this.spacingMs = this.quietMs;
    this.snapshot = this.builder.empty();
    const config = options.config;
    this.policies = {
      policyOf: (service) => config?.().policies.get(service)?.spec,
      extraSubsetsOf: (service) => (config ? this.gatewaySubsetsOf(config(), service) : []),
    };
    this.views = new EnvoyViews({ config: () => config?.() ?? EMPTY_CONFIG, clusterNamesOf: (service) => this.builder.clusterNamesOf(service) });
  }

  /** A stream of `node` receives its view from now on: the default (proxyless) view, or an Envoy view of its group. */
  enterView(node: ViewNode): string {
    const view = nodeView({ ...node, metadata: node.metadata ?? {} }, this.options.config?.() ?? EMPTY_CONFIG, {
      ...(this.options.envoyListenerPort ? { defaultPort: this.options.envoyListenerPort } : {}),
    });
    if (view.spec.client === 'grpc') return DEFAULT_VIEW;
    const members = this.viewMembers.get(view.key);
    if (members) members.streams += 1;
    else this.viewMembers.set(view.key, { spec: view.spec, streams: 1 });
    return view.key;
  }

  /** The Envoy views some stream holds, with how many streams hold each (tests and diagnostics). */
  envoyViews(): Map<string, number> {
    return new Map([...this.viewMembers].map(([key, members]) => [key, members.streams]));
  }

  /** A stream left `view` (it closed, or moved to another view): the last one out drops the view's resources. */
  leaveView(view: string): void {
    const members = this.viewMembers.get(view);
    if (!members || --members.streams > 0) return;
    this.viewMembers.delete(view);
    this.views.drop(view);
  }

  /**
   * Configuration objects changed: a policy re-derives its service; a gateway reaches the Envoy views, and the
   * services whose subsets its routes name (before or after the change).
   */
  configChanged(changes: ReadonlyArray<ConfigChange>): void {
    this.configChanges.push(...changes);
    const services = new Set<string>();
    const subsetServices = () => [...(this.extraSubsets?.byService.keys() ?? [])];
    for (const change of changes) if (change.kind === 'ServicePolicy') services.add(change.name);
    if (changes.some((c) => c.kind === 'Gateway')) {
      for (const name of subsetServices()) services.add(name);
      if (this.options.config) this.gatewaySubsetsOf(this.options.config(), '');
      for (const name of subsetServices()) services.add(name);
    }
    this.markChanged(services);
    if (this.initialDone) this.schedule();
  }

  private gatewaySubsetsOf(config: ConfigView, service: string): string[] {
    if (this.extraSubsets?.config !== config) {
      const byService = new Map<string, Set<string>>();
      for (const gateway of config.gateways.values()) {
        for (const [name, values] of gatewaySubsets(gateway.spec)) {
          const set = byService.get(name) ?? new Set<string>();
          for (const value of values) set.add(value);
          byService.set(name, set);
        }
      }
      this.extraSubsets = { config, byService: new Map([...byService].map(([name, set]) => [name, [...set].sort()])) };
    }
    return this.extraSubsets.byService.get(service) ?? [];
  }

  current(view?: string): Snapshot {
    if (view === undefined || view === DEFAULT_VIEW) return this.snapshot;
    const members = this.viewMembers.get(view);
    return members ? this.views.snapshotOf(view, members.spec, this.snapshot) : this.snapshot;
  }

  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onBuilt(listener: BuiltListener): () => void {
    this.builtListeners.add(listener);
    return () => this.builtListeners.delete(listener);
  }

  /**
   * Builds the first snapshot from every service of the registry, yielding to the event loop between chunks so that
   * /healthz and the admin API keep answering while a large fleet is encoded. Each resource is encoded once.
   */
  async publishInitial(): Promise<void> {
    const started = performance.now();
    const draft = this.builder.draft(this.snapshot, this.options.verdictOf, this.policies);
    const names = [...new Set([...this.options.registry().services.keys(), ...(this.options.grace?.emptyServices() ?? [])])];
    for (let i = 0; i < names.length; i += this.initialChunk) {
      if (this.stopped) return;
      const view = this.options.registry();
      for (const service of names.slice(i, i + this.initialChunk)) {
        this.dirty.delete(service);
        this.derive(draft, view, service, Date.now());
      }
      if (i + this.initialChunk < names.length) await yieldToEventLoop();
    }
    this.initialDone = true;
    this.commit(draft, undefined, names.length, started);
    // Changes that arrived while the first snapshot was being built.
    if (this.dirty.size > 0) this.publish();
  }

  /** These services changed (registry or health): publish them at once, or with the others of their burst. */
  markChanged(services: Iterable<string>, changeSeenAt: number = Date.now()): void {
    if (this.stopped) return;
    let any = false;
    for (const service of services) {
      this.dirty.add(service);
      any = true;
    }
    if (!any || !this.initialDone) return;
    this.pendingSince = Math.min(this.pendingSince ?? changeSeenAt, changeSeenAt);
    this.schedule();
  }

  /** Re-derives the changed services and publishes now. */
  publish(): void {
    if (this.stopped || !this.initialDone) return;
    this.cancelScheduled();
    if (this.dirty.size === 0 && this.configChanges.length === 0) return;
    const started = performance.now();
    const changeSeenAt = this.pendingSince;
    this.pendingSince = undefined;
    const draft = this.builder.draft(this.snapshot, this.options.verdictOf, this.policies);
    const view = this.options.registry();
    const now = Date.now();
    const count = this.dirty.size;
    for (const service of this.dirty) this.derive(draft, view, service, now);
    this.dirty.clear();
    this.commit(draft, changeSeenAt, count, started);
    // Building and fanning out are both done by now (the listeners push synchronously): space the next by its cost.
    const cost = performance.now() - started;
    this.spacingMs = Math.min(this.maxWaitMs, Math.max(this.quietMs, 2 * cost));
  }

  stop(): void {
    this.stopped = true;
    this.cancelScheduled();
    clearTimeout(this.gcTimer);
  }

  private schedule(): void {
    if (this.immediate || this.batchTimer) return; // the publish already planned takes these changes too
    const wait = this.lastPublishAt + this.spacingMs - Date.now();
    if (wait <= 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.publish();
      });
      return;
    }
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      this.publish();
    }, wait);
  }

  private cancelScheduled(): void {
    if (this.immediate) clearImmediate(this.immediate);
    clearTimeout(this.batchTimer);
    this.immediate = this.batchTimer = undefined;
  }

  /** One service's next state: live, empty within its grace period, or removed. */
  private derive(draft: SnapshotDraft, view: RegistryView, service: string, now: number): void {
    this.stats.servicesRebuilt += 1;
    const grace = this.options.grace;
    const instances = view.services.get(service);
    if (instances && instances.size > 0) {
      this.emptySince.delete(service);
      grace?.markGone(service);
      draft.set(service, [...instances.values()]);
      return;
    }
    const record = grace?.emptyRecord(service);
    const published = this.snapshot.resources.get(TYPE_URL.cluster)?.has(service) ?? false;
    if (!published && !record) {
      this.emptySince.delete(service);
      return;
    }
    const since = record?.since ?? this.emptySince.get(service) ?? now;
    if (now - since >= this.serviceGcMs) {
      this.emptySince.delete(service);
      grace?.markGone(service);
      draft.set(service, undefined);
      return;
    }
    this.emptySince.set(service, since);
    const cluster = record?.cluster ?? this.builder.clusterOptionsOf(service) ?? { http2: false };
    if (!record) grace?.markEmpty(service, since, cluster);
    draft.set(service, [], cluster);
  }

  private commit(draft: SnapshotDraft, changeSeenAt: number | undefined, changedServices: number, started: number): void {
    const { snapshot, diff } = draft.finish(changeSeenAt);
    this.lastPublishAt = Date.now();
    this.armGc();
    const configChanges = this.configChanges;
    this.configChanges = [];
    // After a Gateway change a node may match another gateway: the streams ask for their view again.
    const regroup = configChanges.some((change) => change.kind === 'Gateway');
    const next = diff.size > 0 ? snapshot : this.snapshot;
    const views = diff.size > 0 || configChanges.length > 0 ? this.views.update(next, diff, configChanges) : new Map<string, ViewUpdate>();
    const buildMs = performance.now() - started;
    for (const listener of this.builtListeners) listener(next, buildMs, changedServices);
    if (diff.size === 0 && views.size === 0 && !regroup) return;
    this.snapshot = next;
    if (diff.size > 0 || views.size > 0) this.stats.published += 1;
    this.options.logger.debug({ version: next.version, changedTypes: diff.size, changedServices, views: views.size, regroup }, 'snapshot published');
    for (const listener of this.listeners) listener(next, diff, views, regroup);
  }

  /** One timer for the earliest grace period to end; only emptied services are looked at, never the fleet. */
  private armGc(): void {
    let earliest: number | undefined;
    for (const since of this.emptySince.values()) if (earliest === undefined || since < earliest) earliest = since;
    const at = earliest === undefined ? undefined : earliest + this.serviceGcMs;
    if (at === this.gcAt || this.stopped) return;
    clearTimeout(this.gcTimer);
    this.gcTimer = undefined;
    this.gcAt = at;
    if (at === undefined) return;
    this.gcTimer = setTimeout(() => {
      this.gcTimer = this.gcAt = undefined;
      const now = Date.now();
      const expired = [...this.emptySince].filter(([, since]) => now - since >= this.serviceGcMs).map(([service]) => service);
      // The publish that removes them re-arms the timer for the next one.
      if (expired.length > 0) this.markChanged(expired);
      else this.armGc();
    }, Math.max(0, at - Date.now()) + 1);
    this.gcTimer.unref();
  }
}
