// The control plane's own small state in etcd, under a prefix of its own (default `/etcd-xds/state<registration
// prefix>`, e.g. `/etcd-xds/state/services/`), so that
// decisions that outlive one process are the same on every replica and after every restart:
//   <state>empty/<service>          a service whose last instance left: when (epoch ms) and the Cluster options it
//                                    had, so every replica keeps the same Cluster for the same grace period
//   <state>last-good/<registry key> the last good value of a key that now holds a bad one
//   <state>last-good-config/<config key>  the same for a configuration key
// Both are written with a create-if-absent transaction, so replicas racing to write agree on the first value.
// An empty-service marker carries a lease a little longer than the grace period; a last-good record carries the
// registration's own lease, so neither outlives what it describes when no replica is running to delete it.
// Configuration keys have no lease: their records go when the key holds a good value again or is deleted, and a
// full listing of the configuration forgets the records of keys that are gone.
// Without write access (etcd auth), this logs once and the decisions fall back to this process's memory.
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../logger.js';
import { PrefixWatcher } from '../registry/watcher.js';
import type { StoredKeyValue } from '../registry/store.js';
import type { LastGoodRecords } from '../registry/store.js';
import type { ConfigLastGoodRecords } from '../config/store.js';
import type { Instance, RegistrationFormat, RegistrationRecord } from '../registry/types.js';
import type { EmptyServiceRecord, GraceRecords } from '../snapshot/publisher.js';
import type { ClusterOptions } from '../snapshot/resources/cluster.js';

const STATE_ROOT = '/etcd-xds/state';

/** The state prefix that goes with a registration prefix: `/services/` → `/etcd-xds/state/services/`. */
export function defaultStatePrefix(registrationPrefix: string): string {
  const withSlashes = `${registrationPrefix.startsWith('/') ? '' : '/'}${registrationPrefix}${registrationPrefix.endsWith('/') ? '' : '/'}`;
  return STATE_ROOT + withSlashes;
}
/** The marker outlives the grace period by this much, so a late replica still reads it before etcd drops it. */
const MARKER_LEASE_SLACK_S = 60;
const MAX_STATE_VALUE_BYTES = 65_536;

export interface StateChange {
  /** Services whose empty-service marker appeared, changed or went. */
  changedServices: ReadonlySet<string>;
  changeSeenAt: number;
}

interface LastGoodValue {
  record: RegistrationRecord;
  format: RegistrationFormat;
  modRevision: string;
  lease: string;
}

interface LastGoodConfigValue {
  value: string;
  modRevision: string;
}

interface StateMaps {
  empty: Map<string, EmptyServiceRecord>;
  lastGood: Map<string, LastGoodValue>;
  lastGoodConfig: Map<string, LastGoodConfigValue>;
}

function emptyMaps(): StateMaps {
  return { empty: new Map(), lastGood: new Map(), lastGoodConfig: new Map() };
}

/** etcd refused for lack of rights (auth enabled, no role on the prefix). */
export function isPermissionDenied(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /permission denied|not capable|user name is empty|invalid auth token/i.test(message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The state prefix as a store the generic prefix watcher keeps in step with etcd. */
export class StateStore {
  private maps: StateMaps = emptyMaps();
  private readonly changed = new Set<string>();

  constructor(
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  emptyRecord(service: string): EmptyServiceRecord | undefined {
    return this.maps.empty.get(service);
  }

  emptyServices(): IterableIterator<string> {
    return this.maps.empty.keys();
  }

  lastGood(key: string): LastGoodValue | undefined {
    return this.maps.lastGood.get(key);
  }

  lastGoodConfig(key: string): LastGoodConfigValue | undefined {
    return this.maps.lastGoodConfig.get(key);
  }

  configKeys(): IterableIterator<string> {
    return this.maps.lastGoodConfig.keys();
  }

  applyPut(key: string, value: Buffer | string): void {
    this.putInto(this.maps, key, value);
  }

  applyDelete(key: string): void {
    const rest = key.slice(this.prefix.length);
    if (rest.startsWith('empty/')) {
      const service = rest.slice('empty/'.length);
      if (this.maps.empty.delete(service)) this.changed.add(service);
    } else if (rest.startsWith('last-good/')) {
      this.maps.lastGood.delete(rest.slice('last-good/'.length));
    } else if (rest.startsWith('last-good-config/')) {
      this.maps.lastGoodConfig.delete(rest.slice('last-good-config/'.length));
    }
  }

  beginReplacement(): StateMaps {
    return emptyMaps();
  }

  addPage(next: StateMaps, kvs: readonly StoredKeyValue[]): void {
    for (const kv of kvs) this.putInto(next, kv.key, kv.value);
  }

  finishReplacement(next: StateMaps): void {
    for (const service of new Set([...this.maps.empty.keys(), ...next.empty.keys()])) {
      const before = this.maps.empty.get(service);
      const after = next.empty.get(service);
      if (before?.since !== after?.since || before?.cluster.http2 !== after?.cluster.http2) this.changed.add(service);
    }
    this.maps = next;
  }

  commit(changeSeenAt: number): StateChange {
    const changedServices = new Set(this.changed);
    this.changed.clear();
    return { changedServices, changeSeenAt };
  }

  private putInto(maps: StateMaps, key: string, raw: Buffer | string): void {
    const rest = key.slice(this.prefix.length);
    const text = typeof raw === 'string' ? raw : raw.toString('utf8');
    let value: unknown;
    try {
      value = text.length <= MAX_STATE_VALUE_BYTES ? JSON.parse(text) : undefined;
    } catch {
      value = undefined;
    }
    if (rest.startsWith('empty/') && isObject(value) && typeof value.since === 'number' && isObject(value.cluster)) {
      const service = rest.slice('empty/'.length);
      maps.empty.set(service, { since: value.since, cluster: { http2: value.cluster.http2 === true } });
      if (maps === this.maps) this.changed.add(service);
      return;
    }
    if (rest.startsWith('last-good/') && isObject(value) && isObject(value.record) && typeof value.format === 'string') {
      maps.lastGood.set(rest.slice('last-good/'.length), {
        record: value.record as unknown as RegistrationRecord,
        format: value.format as RegistrationFormat,
        modRevision: String(value.modRevision ?? '0'),
        lease: String(value.lease ?? '0'),
      });
      return;
    }
    if (rest.startsWith('last-good-config/') && isObject(value) && typeof value.value === 'string') {
      maps.lastGoodConfig.set(rest.slice('last-good-config/'.length), { value: value.value, modRevision: String(value.modRevision ?? '0') });
      return;
    }
    this.logger.warn({ key, preview: text.slice(0, 120) }, 'ignoring an unreadable control-plane state entry');
  }
}

/** The native record an instance was published from, as stored in a last-good entry. */
function recordOf(instance: Instance): RegistrationRecord {
  const { address, port, weight, status, priority, locality, metadata, healthCheck } = instance;
  return { address, port, weight, status, priority, locality, metadata, ...(healthCheck ? { healthCheck } : {}) };
}

export interface ControlPlaneStateOptions {
  client: Etcd3;
  prefix: string;
  /** The grace period the empty-service markers stand for (their lease is a minute longer). */
  serviceGcMs: number;
  logger: Logger;
}

/**
 * The etcd-backed state: watched like the registry, written on the decisions the publisher and the registry store
 * make. Implements the two small interfaces those stages see, so they know nothing of etcd.
 */
export class ControlPlaneState implements GraceRecords, LastGoodRecords, ConfigLastGoodRecords {
  readonly prefix: string;
  readonly store: StateStore;
  readonly watcher: PrefixWatcher<StateChange, StateMaps>;
  private readonly client: Etcd3;
  private readonly logger: Logger;
  private readonly serviceGcMs: number;
  /** Set after a write was refused: decisions stay in memory from then on (logged once). */
  private writeRefused: string | undefined;
  private disabled = false;
  /** Writes in flight per state key, so a decision is not written twice while the first write is on its way. */
  private readonly writing = new Set<string>();

  constructor(options: ControlPlaneStateOptions) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.logger = options.logger;
    this.serviceGcMs = options.serviceGcMs;
    this.store = new StateStore(this.prefix, this.logger);
    this.watcher = new PrefixWatcher<StateChange, StateMaps>({ client: this.client, prefix: this.prefix, logger: this.logger }, {
      applyPut: (key, value) => this.store.applyPut(key, value),
      applyDelete: (key) => this.store.applyDelete(key),
      beginReplacement: () => this.store.beginReplacement(),
      addPage: (next, kvs) => this.store.addPage(next, kvs),
      finishReplacement: (next) => this.store.finishReplacement(next),
      commit: (at) => this.store.commit(at),
    });
  }

  /** Reading the state was refused: forget it and keep every decision in memory. */
  disable(reason: string): void {
    this.writeRefused = reason;
    this.disabled = true;
  }

  /** Why writes are off, when they are (for the admin API). */
  get writesRefused(): string | undefined {
    return this.writeRefused;
  }

  // GraceRecords (the publisher's side)

  emptyRecord(service: string): EmptyServiceRecord | undefined {
    return this.disabled ? undefined : this.store.emptyRecord(service);
  }

  emptyServices(): Iterable<string> {
    return this.disabled ? [] : this.store.emptyServices();
  }

  markEmpty(service: string, since: number, cluster: ClusterOptions): void {
    if (this.store.emptyRecord(service)) return;
    const value = JSON.stringify({ since, cluster });
    this.write(`${this.prefix}empty/${service}`, value, async () => {
      const lease = await this.client.leaseClient.leaseGrant({ TTL: Math.ceil(this.serviceGcMs / 1000) + MARKER_LEASE_SLACK_S });
      return String(lease.ID);
    });
  }

  markGone(service: string): void {
    if (!this.store.emptyRecord(service)) return;
    this.remove(`${this.prefix}empty/${service}`);
  }

  // LastGoodRecords (the registry store's side)

  lastGood(key: string): { kv: StoredKeyValue; format: RegistrationFormat } | undefined {
    const stored = this.disabled ? undefined : this.store.lastGood(key);
    if (!stored) return undefined;
    return { kv: { key, value: JSON.stringify(stored.record), lease: stored.lease, modRevision: stored.modRevision }, format: stored.format };
  }

  keepLastGood(key: string, instance: Instance): void {
    if (this.store.lastGood(key)) return;
    const value = JSON.stringify({ record: recordOf(instance), format: instance.format, modRevision: instance.modRevision, lease: instance.lease });
    this.write(`${this.prefix}last-good/${key}`, value, async () => instance.lease);
  }

  settled(key: string): void {
    if (!this.store.lastGood(key)) return;
    this.remove(`${this.prefix}last-good/${key}`);
  }

  // ConfigLastGoodRecords (the configuration store's side)

  lastGoodConfig(key: string): { value: string; modRevision: string } | undefined {
    return this.disabled ? undefined : this.store.lastGoodConfig(key);
  }

  keepLastGoodConfig(key: string, value: string, modRevision: string): void {
    if (this.store.lastGoodConfig(key)) return;
    this.write(`${this.prefix}last-good-config/${key}`, JSON.stringify({ value, modRevision }), async () => '0');
  }

  configSettled(key: string): void {
    if (!this.store.lastGoodConfig(key)) return;
    this.remove(`${this.prefix}last-good-config/${key}`);
  }

  configKeysRecorded(): Iterable<string> {
    return this.disabled ? [] : this.store.configKeys();
  }

  private write(stateKey: string, value: string, leaseOf: () => Promise<string>): void {
    if (this.writeRefused !== undefined || this.writing.has(stateKey)) return;
    this.writing.add(stateKey);
    void (async () => {
      try {
        const lease = await leaseOf();
        const put = this.client.put(stateKey).value(value);
        if (lease !== '0') put.lease(lease);
        // Create-if-absent: the first replica's decision stands, the others read it back through the watch.
        await this.client.if(stateKey, 'Create', '==', 0).then(put).commit();
      } catch (err) {
        this.noteWriteFailure(err, stateKey);
      } finally {
        this.writing.delete(stateKey);
      }
    })();
  }

  private remove(stateKey: string): void {
    if (this.writeRefused !== undefined) return;
    this.client
      .delete()
      .key(stateKey)
      .exec()
      .catch((err: unknown) => this.noteWriteFailure(err, stateKey));
  }

  private noteWriteFailure(err: unknown, stateKey: string): void {
    const message = err instanceof Error ? err.message : String(err);
    if (isPermissionDenied(err)) {
      if (this.writeRefused === undefined) {
        this.writeRefused = message;
        this.logger.warn(
          { prefix: this.prefix, err: message },
          'cannot write the control-plane state in etcd: grace periods and last good values stay in this process only (grant readwrite on the state prefix to share them across replicas and restarts)',
        );
      }
      return;
    }
    // A lost lease (the registration expired meanwhile) or an etcd outage: the in-memory decision still holds.
    this.logger.debug({ key: stateKey, err: message }, 'control-plane state write failed');
  }
}
