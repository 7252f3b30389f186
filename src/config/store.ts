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

/**
 * Where the last good value of a configuration key outlives this process (the control plane's state in etcd), so a
 * replica or a restart that only ever saw the bad value still serves the good one, like every other replica.
 */
export interface ConfigLastGoodRecords {
  /** The last good value recorded for a key that now holds a bad one. */
  lastGoodConfig(key: string): { value: string; modRevision: string } | undefined;
  /** A key that held `value` (good, at `modRevision`) received a bad one: record it (the first record stands). */
  keepLastGoodConfig(key: string, value: string, modRevision: string): void;
  /** The key holds a good value again, or is gone: its record is no longer needed. */
  configSettled(key: string): void;
  /** Keys with a record (to forget those whose key went while no replica was running). */
  configKeysRecorded(): Iterable<string>;
}

export interface ConfigStoreOptions {
  prefix: string;
  logger?: Logger;
  lastGood?: ConfigLastGoodRecords;
}

export interface ConfigKeyValue {
  key: string;
  value: Buffer | string;
  modRevision: string;
}

type AnyObject = ConfigObject<ServicePolicy> | ConfigObject<Gateway>;

interface ConfigState {
  objects: Map<string, AnyObject>;
  /** The stored text of each object served, for the durable last-good record. */
  texts: Map<string, string>;
  rejected: Map<string, ConfigRejection>;
}

function emptyState(): ConfigState {
  return { objects: new Map(), texts: new Map(), rejected: new Map() };
}

function textOf(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
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
  private readonly records: ConfigLastGoodRecords | undefined;
  private state: ConfigState = emptyState();
  private revision = '0';
  private cachedView: ConfigView | undefined;

  constructor(options: ConfigStoreOptions) {
    this.prefix = options.prefix;
    this.logger = options.logger;
    this.records = options.lastGood;
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
    this.state.texts.delete(key);
    this.state.rejected.delete(key);
    this.records?.configSettled(key);
    this.revision = maxRevision(this.revision, modRevision);
    this.cachedView = undefined;
    return removed ? { kind: removed.kind, name: removed.name } : undefined;
  }

  /** A full re-list at `revision`, swapped in at once; returns every object whose served value differs. */
  replaceAll(kvs: readonly ConfigKeyValue[], revision: string): ConfigChange[] {
    const previous = this.state;
    const next = emptyState();
    for (const kv of kvs) this.putInto(next, previous, kv);
    // Records of keys deleted while no replica was running would otherwise bring the old value back one day.
    const listed = new Set(kvs.map((kv) => kv.key));
    for (const key of [...(this.records?.configKeysRecorded() ?? [])]) if (!listed.has(key)) this.records?.configSettled(key);
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
    const lastGoodText = previous.texts.get(kv.key);
    const keep = (object: AnyObject, text: string) => {
      target.objects.set(kv.key, object);
      target.texts.set(kv.key, text);
    };
    const lastRejection = previous.rejected.get(kv.key);
    if (lastGood && lastGood.modRevision === kv.modRevision && !lastRejection) {
      keep(lastGood, lastGoodText!); // unchanged since the last list: no parse, no change
      return undefined;
    }
    if (lastRejection && lastRejection.modRevision === kv.modRevision) {
      if (lastGood) keep(lastGood, lastGoodText!);
      target.rejected.set(kv.key, lastRejection);
      return undefined;
    }
    const parsed = this.parse(kv.key, kv.value, kv.modRevision);
    if (parsed.ok) {
      keep(parsed.object, textOf(kv.value));
      target.rejected.delete(kv.key);
      this.records?.configSettled(kv.key);
      return { kind: parsed.object.kind, name: parsed.object.name };
    }
    // A bad value: the last good one serves, from this process's memory or from the record another replica (or an
    // earlier run) left; this process records the one it saw for the others.
    let serving: { object: AnyObject; text: string } | undefined = lastGood ? { object: lastGood, text: lastGoodText! } : undefined;
    if (serving) this.records?.keepLastGoodConfig(kv.key, serving.text, serving.object.modRevision);
    else serving = this.recordedLastGood(kv.key);
    const all = parsed.errors;
    const errors = all.slice(0, MAX_ERRORS).map((e) => ({ path: e.path.slice(0, MAX_MESSAGE_CHARS), message: e.message.slice(0, MAX_MESSAGE_CHARS) }));
    if (all.length > MAX_ERRORS) errors.push({ path: '', message: `… and ${all.length - MAX_ERRORS} more errors` });
    const rejection: ConfigRejection = Object.freeze({
      kind: parsed.kind,
      name: parsed.name,
      key: kv.key,
      reason: formatErrors(errors),
      errors,
      valuePreview: previewOf(kv.value),
      modRevision: kv.modRevision,
      keepsLastGood: serving !== undefined,
    });
    this.logger?.warn({ key: kv.key, reason: rejection.reason, modRevision: kv.modRevision, keepsLastGood: rejection.keepsLastGood }, 'configuration rejected');
    if (serving) keep(serving.object, serving.text);
    target.rejected.set(kv.key, rejection);
    // Serving the recorded value where nothing served before is a change of what is served.
    return serving && !lastGood ? { kind: serving.object.kind, name: serving.object.name } : undefined;
  }

  private recordedLastGood(key: string): { object: AnyObject; text: string } | undefined {
    const record = this.records?.lastGoodConfig(key);
    if (!record) return undefined;
    const parsed = this.parse(key, record.value, record.modRevision);
    if (parsed.ok) return { object: parsed.object, text: record.value };
    this.logger?.warn({ key, reason: formatErrors(parsed.errors) }, 'ignoring a recorded last good configuration value that does not validate');
    return undefined;
  }

  private parse(
    key: string,
    value: Buffer | string,
    modRevision: string,
  ): { ok: true; object: AnyObject } | { ok: false; kind: ConfigKindName | undefined; name: string; errors: ConfigError[] } {
    const parsedKey = parseConfigKey(this.prefix, key);
    if (!parsedKey.ok) return { ok: false, kind: parsedKey.kind, name: parsedKey.name, errors: [{ path: '', message: parsedKey.reason }] };
    const result = parseConfigValue(parsedKey.kind, value);
    if (!result.ok) return { ok: false, kind: parsedKey.kind, name: parsedKey.name, errors: result.errors };
    const object = Object.freeze({ kind: parsedKey.kind, name: parsedKey.name, key, spec: result.spec, modRevision }) as AnyObject;
    return { ok: true, object };
  }
}
