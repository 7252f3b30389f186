// Configuration objects as the config prefix holds them, fed by put/delete events (or a full re-list) and read as
// immutable views. Pure and synchronous: the etcd watch that feeds it lives elsewhere. The registry's rules hold
// here too: a rejected value never affects other objects, and a key that held a good value and receives a bad
// one keeps serving the last good value, listed as rejected with its reasons until fixed or deleted.
import type { Logger } from 'pino';
import { CONFIG_KINDS, MAX_CONFIG_VALUE_BYTES, parseConfigKey } from './kinds.js';
import type { ConfigError } from './schema.js';
import type { ConfigChange, ConfigKindName, ConfigObject, ConfigRejection, ConfigView, Gateway, ServicePolicy } from './types.js';

const PREVIEW_CHARS = 200;
/** A rejection lists this many errors at most, each cut to MAX_MESSAGE_CHARS: a value can be made of mistakes. */
const MAX_ERRORS = 20;
const MAX_MESSAGE_CHARS = 300;

export interface ConfigStoreOptions {
  prefix: string;
  logger?: Logger;
}

export interface ConfigKeyValue {
  key: string;
  value: Buffer | string;
  modRevision: string;
}

type AnyObject = ConfigObject<ServicePolicy> | ConfigObject<Gateway>;

interface ConfigState {
  objects: Map<string, AnyObject>;
  rejected: Map<string, ConfigRejection>;
}

function previewOf(value: Buffer | string): string {
  const text = typeof value === 'string' ? value : value.subarray(0, PREVIEW_CHARS * 4).toString('utf8');
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

function maxRevision(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b;
}

function byKey<V>(entries: Iterable<[string, V]>): Map<string, V> {
  return new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every error as one line: `path: message; path: message`. */
export function formatErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
}

/** Reads one stored value as its kind: JSON text, bounded, then the kind's parse. */
export function parseConfigValue(kind: ConfigKindName, value: Buffer | string): { ok: true; spec: unknown } | { ok: false; errors: ConfigError[] } {
  const size = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (size > MAX_CONFIG_VALUE_BYTES) return { ok: false, errors: [{ path: '', message: `value is ${size} bytes, more than ${MAX_CONFIG_VALUE_BYTES}` }] };
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `not JSON: ${(err as Error).message}` }] };
  }
  return CONFIG_KINDS[kind].parse(json);
}

export class ConfigStore {
  private readonly prefix: string;
  private readonly logger: Logger | undefined;
  private state: ConfigState = { objects: new Map(), rejected: new Map() };
  private revision = '0';
  private cachedView: ConfigView | undefined;

  constructor(options: ConfigStoreOptions) {
    this.prefix = options.prefix;
    this.logger = options.logger;
  }

  /** Applies a put. Returns the object whose served configuration changed, or undefined (a rejection keeps it). */
  applyPut(key: string, value: Buffer | string, modRevision: string): ConfigChange | undefined {
    const change = this.putInto(this.state, this.state, { key, value, modRevision });
    this.revision = maxRevision(this.revision, modRevision);
    this.cachedView = undefined;
    return change;
  }

  /** Applies a delete: the object and any rejection of its key go away. Returns the object removed, if any. */
  applyDelete(key: string, modRevision: string): ConfigChange | undefined {
    const removed = this.state.objects.get(key);
    this.state.objects.delete(key);
    this.state.rejected.delete(key);
    this.revision = maxRevision(this.revision, modRevision);
    this.cachedView = undefined;
    return removed ? { kind: removed.kind, name: removed.name } : undefined;
  }

  /** A full re-list at `revision`, swapped in at once; returns every object whose served value differs. */
  replaceAll(kvs: readonly ConfigKeyValue[], revision: string): ConfigChange[] {
    const previous = this.state;
    const next: ConfigState = { objects: new Map(), rejected: new Map() };
    for (const kv of kvs) this.putInto(next, previous, kv);
    const changes: ConfigChange[] = [];
    for (const [key, before] of previous.objects) {
      const after = next.objects.get(key);
      if (after !== before) changes.push({ kind: before.kind, name: before.name });
    }
    for (const [key, after] of next.objects) if (!previous.objects.has(key)) changes.push({ kind: after.kind, name: after.name });
    this.state = next;
    this.revision = revision;
    this.cachedView = undefined;
    return changes;
  }

  /** The current view; the same object until something changes. */
  view(): ConfigView {
    if (this.cachedView) return this.cachedView;
    const policies = new Map<string, ConfigObject<ServicePolicy>>();
    const gateways = new Map<string, ConfigObject<Gateway>>();
    for (const object of byKey(this.state.objects).values()) {
      if (object.kind === 'ServicePolicy') policies.set(object.name, object as ConfigObject<ServicePolicy>);
      else gateways.set(object.name, object as ConfigObject<Gateway>);
    }
    this.cachedView = Object.freeze({ policies, gateways, rejected: byKey(this.state.rejected), revision: this.revision });
    return this.cachedView;
  }

  /** Puts one key/value into `target`, taking the last good value and an earlier rejection from `previous`. */
  private putInto(target: ConfigState, previous: ConfigState, kv: ConfigKeyValue): ConfigChange | undefined {
    const lastGood = previous.objects.get(kv.key);
    const lastRejection = previous.rejected.get(kv.key);
    if (lastGood && lastGood.modRevision === kv.modRevision && !lastRejection) {
      target.objects.set(kv.key, lastGood); // unchanged since the last list: no parse, no change
      return undefined;
    }
    if (lastRejection && lastRejection.modRevision === kv.modRevision) {
      if (lastGood) target.objects.set(kv.key, lastGood);
      target.rejected.set(kv.key, lastRejection);
      return undefined;
    }
    const parsedKey = parseConfigKey(this.prefix, kv.key);
    const result = parsedKey.ok ? parseConfigValue(parsedKey.kind, kv.value) : { ok: false as const, errors: [{ path: '', message: parsedKey.reason }] };
    if (parsedKey.ok && result.ok) {
      const object = Object.freeze({ kind: parsedKey.kind, name: parsedKey.name, key: kv.key, spec: result.spec, modRevision: kv.modRevision }) as AnyObject;
      target.objects.set(kv.key, object);
      target.rejected.delete(kv.key);
      return { kind: parsedKey.kind, name: parsedKey.name };
    }
    const all = result.ok ? [] : result.errors;
    const errors = all.slice(0, MAX_ERRORS).map((e) => ({ path: e.path.slice(0, MAX_MESSAGE_CHARS), message: e.message.slice(0, MAX_MESSAGE_CHARS) }));
    if (all.length > MAX_ERRORS) errors.push({ path: '', message: `… and ${all.length - MAX_ERRORS} more errors` });
    const rejection: ConfigRejection = Object.freeze({
      kind: parsedKey.kind,
      name: parsedKey.name,
      key: kv.key,
      reason: formatErrors(errors),
      errors,
      valuePreview: previewOf(kv.value),
      modRevision: kv.modRevision,
      keepsLastGood: lastGood !== undefined,
    });
    this.logger?.warn({ key: kv.key, reason: rejection.reason, modRevision: kv.modRevision, keepsLastGood: rejection.keepsLastGood }, 'configuration rejected');
    if (lastGood) target.objects.set(kv.key, lastGood);
    target.rejected.set(kv.key, rejection);
    return undefined;
  }
}
