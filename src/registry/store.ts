// The registry's current state, fed by etcd puts/deletes (or a full re-list), read as immutable views.
// Rules from DESIGN.md: a rejected value never affects other instances; a key that held a good value and
// receives a bad one keeps serving the last good value and is listed as rejected until fixed or deleted.
//
// Cost follows the change: events mark the services they touch, and commit() derives the next view from the
// previous one by replacing only those services in persistent maps. Only a full re-list (start, or after etcd
// compacted the watch's revision) looks at every key, and it is parsed page by page as the pages arrive.
import type { Logger } from 'pino';
import { draftOf, emptySortedMap, seal } from '../sorted-map.js';
import { parseKey, parseRegistration } from './parse.js';
import type { Instance, RegistrationFormat, RegistryChange, RegistryView, RejectedEntry, ServiceInstances } from './types.js';

/** One key/value as read from etcd. */
export interface StoredKeyValue {
  key: string;
  value: Buffer | string;
  /** Lease id as a decimal string; '0' for none. */
  lease: string;
  modRevision: string;
}

/**
 * Where last good values outlive this process (the control plane's state in etcd), so that a replica started after
 * a key turned bad serves the same last good value as one that saw it happen.
 */
export interface LastGoodRecords {
  /** The last good value recorded for a key that now holds a bad one, and the format it was written in. */
  lastGood(key: string): { kv: StoredKeyValue; format: RegistrationFormat } | undefined;
  /** A key that held `instance` received a bad value: record `instance` as its last good value. */
  keepLastGood(key: string, instance: Instance): void;
  /** The key holds a good value again, or is gone: its record is no longer needed. */
  settled(key: string): void;
}

export interface RegistryStoreOptions {
  prefix: string;
  logger: Logger;
  lastGood?: LastGoodRecords;
}

const PREVIEW_CHARS = 200;
/** Up to this many instance events in one commit are logged one line each; a larger burst gets one summary line. */
const EVENTS_LOGGED_ONE_BY_ONE = 5;

/** Instances by service then instance id, and rejections by key: the mutable state behind the views. */
interface RegistryState {
  instances: Map<string, Map<string, Instance>>;
  rejected: Map<string, RejectedEntry>;
}

type InstanceEvent = { kind: 'registered' | 'updated' | 'removed'; instance: Instance };

function previewOf(value: Buffer | string): string {
  const text = typeof value === 'string' ? value : value.subarray(0, PREVIEW_CHARS * 4).toString('utf8');
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

function maxRevision(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameInstances(a: ReadonlyMap<string, Instance> | undefined, b: ReadonlyMap<string, Instance> | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  for (const [id, instance] of a ?? []) if (b?.get(id) !== instance) return false;
  return true;
}

const EMPTY_VIEW: RegistryView = Object.freeze({
  services: seal(emptySortedMap<ServiceInstances>()),
  rejected: seal(emptySortedMap<RejectedEntry>()),
  revision: '0',
});

/** A full listing being read page by page; swapped in by RegistryStore.finishReplacement(). */
export interface Replacement {
  readonly next: RegistryState;
  keys: number;
}

export class RegistryStore {
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly records: LastGoodRecords | undefined;
  private state: RegistryState = { instances: new Map(), rejected: new Map() };
  private revision = '0';
  private committed: RegistryView = EMPTY_VIEW;
  /** Services and rejection keys touched since the last commit. */
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyRejections = new Set<string>();
  private events: InstanceEvent[] = [];
  private eventCounts = { registered: 0, updated: 0, removed: 0 };
  private eventCount = 0;

  constructor(options: RegistryStoreOptions) {
    this.prefix = options.prefix;
    this.logger = options.logger;
    this.records = options.lastGood;
  }

  /** Applies a put event. */
  applyPut(key: string, value: Buffer | string, lease: string, modRevision: string): void {
    this.putInto(this.state, this.state, { key, value, lease, modRevision }, true);
    this.revision = maxRevision(this.revision, modRevision);
  }

  /** Applies a delete event: the instance and any rejection of that key go away. False if the key was unknown. */
  applyDelete(key: string, modRevision: string): boolean {
    let changed = false;
    const parsed = parseKey(this.prefix, key);
    if (parsed.ok) {
      const byId = this.state.instances.get(parsed.service);
      const removed = byId?.get(parsed.instanceId);
      if (byId && removed) {
        byId.delete(parsed.instanceId);
        if (byId.size === 0) this.state.instances.delete(parsed.service);
        this.dirtyServices.add(parsed.service);
        this.noteEvent('removed', removed);
        changed = true;
      }
    }
    if (this.state.rejected.delete(key)) {
      this.dirtyRejections.add(key);
      changed = true;
    }
    this.records?.settled(key);
    this.revision = maxRevision(this.revision, modRevision);
    return changed;
  }

  /**
   * Starts a full resync: pages of the complete key set are added with addPage() and swapped in with
   * finishReplacement(), so readers never see an empty or half-built registry. Values unchanged since the current
   * state (same key and mod revision) keep their Instance objects and are not parsed or logged again.
   */
  beginReplacement(): Replacement {
    return { next: { instances: new Map(), rejected: new Map() }, keys: 0 };
  }

  addPage(replacement: Replacement, kvs: readonly StoredKeyValue[]): void {
    for (const kv of kvs) this.putInto(replacement.next, this.state, kv, false);
    replacement.keys += kvs.length;
  }

  /** Swaps the listing in; only services whose instances differ from the current state are marked changed. */
  finishReplacement(replacement: Replacement, revision: string): void {
    const previous = this.state;
    const { next } = replacement;
    for (const service of previous.instances.keys()) {
      if (!sameInstances(previous.instances.get(service), next.instances.get(service))) this.dirtyServices.add(service);
    }
    for (const service of next.instances.keys()) if (!previous.instances.has(service)) this.dirtyServices.add(service);
    for (const key of previous.rejected.keys()) if (next.rejected.get(key) !== previous.rejected.get(key)) this.dirtyRejections.add(key);
    for (const key of next.rejected.keys()) if (!previous.rejected.has(key)) this.dirtyRejections.add(key);
    this.state = next;
    this.revision = revision;
  }

  /** Convenience for a listing already in memory (tests, small prefixes). */
  replaceAll(kvs: readonly StoredKeyValue[], revision: string): void {
    const replacement = this.beginReplacement();
    this.addPage(replacement, kvs);
    this.finishReplacement(replacement, revision);
  }

  /**
   * Publishes what changed since the last commit as a new view that shares every untouched service with the
   * previous one, and says which services changed.
   */
  commit(changeSeenAt: number): RegistryChange {
    const changedServices = new Set(this.dirtyServices);
    const rejectedChanged = this.dirtyRejections.size > 0;
    if (changedServices.size > 0 || rejectedChanged || this.revision !== this.committed.revision) {
      const services = draftOf(this.committed.services);
      for (const service of this.dirtyServices) {
        const current = this.state.instances.get(service);
        if (!current || current.size === 0) services.delete(service);
        else services.set(service, new Map([...current].sort(([a], [b]) => byCodeUnits(a, b))));
      }
      let rejected = this.committed.rejected;
      if (rejectedChanged) {
        const draft = draftOf(rejected);
        for (const key of this.dirtyRejections) {
          const entry = this.state.rejected.get(key);
          if (entry) draft.set(key, entry);
          else draft.delete(key);
        }
        rejected = seal(draft);
      }
      this.committed = Object.freeze({ services: seal(services), rejected, revision: this.revision });
    }
    this.dirtyServices.clear();
    this.dirtyRejections.clear();
    this.logEvents();
    return { view: this.committed, changedServices, rejectedChanged, changeSeenAt };
  }

  /** The last committed view. */
  view(): RegistryView {
    return this.committed;
  }

  /**
   * Puts one key/value into `target`, taking the last good value and earlier rejections from `previous`.
   * `live`: an event from the watch (logged as a join or an update), not a line of a full listing.
   */
  private putInto(target: RegistryState, previous: RegistryState, kv: StoredKeyValue, live: boolean): void {
    const parsedKey = parseKey(this.prefix, kv.key);
    const known = parsedKey.ok ? previous.instances.get(parsedKey.service)?.get(parsedKey.instanceId) : undefined;
    const lastRejection = previous.rejected.get(kv.key);
    let lastGood = known;

    if (lastGood && lastGood.modRevision === kv.modRevision && !lastRejection) {
      this.setInstance(target, lastGood); // same value as before (re-list): reuse, no parse
      return;
    }
    if (lastRejection && lastRejection.modRevision === kv.modRevision) {
      if (lastGood) this.setInstance(target, lastGood);
      this.setRejection(target, lastRejection);
      return;
    }

    const result = parseRegistration({ prefix: this.prefix, ...kv });
    if (result.ok) {
      this.setInstance(target, result.instance);
      if (target.rejected.delete(kv.key)) this.dirtyRejections.add(kv.key);
      this.records?.settled(kv.key);
      if (live) this.noteEvent(lastGood ? 'updated' : 'registered', result.instance);
      return;
    }
    // Not seen good by this process (it started after the key turned bad): another replica may have recorded it.
    lastGood ??= this.recordedLastGood(kv.key);
    if (lastGood) this.records?.keepLastGood(kv.key, lastGood);
    const rejection: RejectedEntry = Object.freeze({
      service: result.service ?? '',
      key: kv.key,
      reason: result.reason,
      valuePreview: previewOf(kv.value),
      modRevision: kv.modRevision,
      keepsLastGood: lastGood !== undefined,
    });
    // A rejection is logged once per (key, mod revision): a re-list of the same bad value stays quiet.
    this.logger.warn(
      { key: kv.key, reason: result.reason, modRevision: kv.modRevision, keepsLastGood: rejection.keepsLastGood },
      'registration rejected',
    );
    if (lastGood) this.setInstance(target, lastGood);
    this.setRejection(target, rejection);
  }

  private recordedLastGood(key: string): Instance | undefined {
    const recorded = this.records?.lastGood(key);
    if (!recorded) return undefined;
    const parsed = parseRegistration({ prefix: this.prefix, ...recorded.kv });
    return parsed.ok ? Object.freeze({ ...parsed.instance, format: recorded.format }) : undefined;
  }

  private setInstance(target: RegistryState, instance: Instance): void {
    let byId = target.instances.get(instance.service);
    if (!byId) {
      byId = new Map();
      target.instances.set(instance.service, byId);
    }
    if (byId.get(instance.instanceId) === instance) return;
    byId.set(instance.instanceId, instance);
    if (target === this.state) this.dirtyServices.add(instance.service);
  }

  private setRejection(target: RegistryState, rejection: RejectedEntry): void {
    target.rejected.set(rejection.key, rejection);
    if (target === this.state) this.dirtyRejections.add(rejection.key);
  }

  private noteEvent(kind: InstanceEvent['kind'], instance: Instance): void {
    this.eventCount += 1;
    this.eventCounts[kind] += 1;
    if (this.events.length < EVENTS_LOGGED_ONE_BY_ONE + 1) this.events.push({ kind, instance });
  }

  /** One line per instance event, or one summary line for a burst. */
  private logEvents(): void {
    if (this.eventCount === 0) return;
    if (this.eventCount <= EVENTS_LOGGED_ONE_BY_ONE) {
      for (const { kind, instance } of this.events) {
        this.logger.info(
          { service: instance.service, instance: instance.instanceId, address: `${instance.address}:${instance.port}`, status: instance.status },
          `instance ${kind}`,
        );
      }
    } else {
      const { registered, updated, removed } = this.eventCounts;
      this.logger.info({ registered, updated, removed }, `registry changed: ${registered} registered, ${updated} updated, ${removed} removed`);
    }
    this.events = [];
    this.eventCount = 0;
    this.eventCounts = { registered: 0, updated: 0, removed: 0 };
  }
}
