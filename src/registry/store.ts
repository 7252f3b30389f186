// The registry's current state, fed by etcd puts/deletes (or a full re-list), read as immutable views.
// Rules from DESIGN.md: a rejected value never affects other instances; a key that held a good value and
// receives a bad one keeps serving the last good value and is listed as rejected until fixed or deleted.
import type { Logger } from 'pino';
import { parseKey, parseRegistration } from './parse.js';
import type { Instance, RegistryView, RejectedEntry } from './types.js';

/** One key/value as read from etcd. */
export interface StoredKeyValue {
  key: string;
  value: Buffer | string;
  /** Lease id as a decimal string; '0' for none. */
  lease: string;
  modRevision: string;
}

export interface RegistryStoreOptions {
  prefix: string;
  logger: Logger;
}

const PREVIEW_CHARS = 200;

/** Instances by service then instance id, and rejections by key: the mutable state behind the views. */
interface RegistryState {
  instances: Map<string, Map<string, Instance>>;
  rejected: Map<string, RejectedEntry>;
}

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

function sameInstances(a: ReadonlyMap<string, Instance>, b: ReadonlyMap<string, Instance>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, instance] of a) if (b.get(id) !== instance) return false;
  return true;
}

export class RegistryStore {
  private readonly prefix: string;
  private readonly logger: Logger;
  private state: RegistryState = { instances: new Map(), rejected: new Map() };
  private revision = '0';
  /** Per-service maps already handed out in views; an unchanged service keeps the same map object. */
  private readonly published = new Map<string, ReadonlyMap<string, Instance>>();
  private publishedRejected: ReadonlyMap<string, RejectedEntry> = new Map();
  private readonly dirtyServices = new Set<string>();
  private rejectedDirty = false;
  private cachedView: RegistryView | undefined;

  constructor(options: RegistryStoreOptions) {
    this.prefix = options.prefix;
    this.logger = options.logger;
  }

  /** Applies a put event. A put always changes the view (at least the instance's mod revision). */
  applyPut(key: string, value: Buffer | string, lease: string, modRevision: string): boolean {
    this.putInto(this.state, this.state, { key, value, lease, modRevision });
    this.revision = maxRevision(this.revision, modRevision);
    this.cachedView = undefined;
    return true;
  }

  /** Applies a delete event: the instance and any rejection of that key go away. False if the key was unknown. */
  applyDelete(key: string, modRevision: string): boolean {
    let changed = false;
    const parsed = parseKey(this.prefix, key);
    if (parsed.ok) {
      const byId = this.state.instances.get(parsed.service);
      if (byId?.delete(parsed.instanceId)) {
        changed = true;
        this.dirtyServices.add(parsed.service);
        if (byId.size === 0) this.state.instances.delete(parsed.service);
      }
    }
    if (this.state.rejected.delete(key)) {
      changed = true;
      this.rejectedDirty = true;
    }
    this.revision = maxRevision(this.revision, modRevision);
    this.cachedView = undefined;
    return changed;
  }

  /**
   * Full resync: the complete set of keys at `revision`. The new state is built aside from the current one and
   * swapped in one step, so readers never see an empty or half-built registry. Values unchanged since the
   * previous state (same key and mod revision) keep their Instance objects and are not re-logged.
   */
  replaceAll(kvs: readonly StoredKeyValue[], revision: string): void {
    const previous = this.state;
    const next: RegistryState = { instances: new Map(), rejected: new Map() };
    for (const kv of kvs) this.putInto(next, previous, kv);
    for (const service of previous.instances.keys()) this.dirtyServices.add(service);
    for (const service of next.instances.keys()) this.dirtyServices.add(service);
    this.state = next;
    this.rejectedDirty = true;
    this.revision = revision;
    this.cachedView = undefined;
  }

  /** The current view. The same object is returned until something changes. */
  view(): RegistryView {
    if (this.cachedView) return this.cachedView;
    for (const service of this.dirtyServices) {
      const current = this.state.instances.get(service);
      if (!current || current.size === 0) {
        this.published.delete(service);
        continue;
      }
      const sorted = new Map([...current].sort(([a], [b]) => byCodeUnits(a, b)));
      const before = this.published.get(service);
      if (!before || !sameInstances(before, sorted)) this.published.set(service, sorted);
    }
    this.dirtyServices.clear();
    if (this.rejectedDirty) {
      this.publishedRejected = new Map([...this.state.rejected].sort(([a], [b]) => byCodeUnits(a, b)));
      this.rejectedDirty = false;
    }
    this.cachedView = Object.freeze({
      services: new Map([...this.published].sort(([a], [b]) => byCodeUnits(a, b))),
      rejected: this.publishedRejected,
      revision: this.revision,
    });
    return this.cachedView;
  }

  /** Puts one key/value into `target`, taking the last good value and earlier rejections from `previous`. */
  private putInto(target: RegistryState, previous: RegistryState, kv: StoredKeyValue): void {
    const parsedKey = parseKey(this.prefix, kv.key);
    const lastGood = parsedKey.ok ? previous.instances.get(parsedKey.service)?.get(parsedKey.instanceId) : undefined;
    const lastRejection = previous.rejected.get(kv.key);

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
      if (target.rejected.delete(kv.key)) this.rejectedDirty = true;
      return;
    }
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

  private setInstance(target: RegistryState, instance: Instance): void {
    let byId = target.instances.get(instance.service);
    if (!byId) {
      byId = new Map();
      target.instances.set(instance.service, byId);
    }
    byId.set(instance.instanceId, instance);
    this.dirtyServices.add(instance.service);
  }

  private setRejection(target: RegistryState, rejection: RejectedEntry): void {
    target.rejected.set(rejection.key, rejection);
    this.rejectedDirty = true;
  }
}
