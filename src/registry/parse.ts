// Turns one etcd key/value under the prefix into an Instance, or into the reason it is refused.
// Three value formats are accepted (DESIGN.md "etcd key schema"): the native JSON object (etcdxds.v1.Registration
// in proto3 JSON), the record etcd's Go naming package writes ({"Op":0,"Addr":"host:port","Metadata":...}),
// and a bare host:port. Nothing here throws: a bad value must never take the server down.
import { readRegistrationJson } from './registration-schema.js';
import {
  addressOnlyRegistration,
  checkNativeRegistration,
  parseHostPort,
  type RegistrationFields,
  type RuleResult,
} from './registration-rules.js';
import type { Instance, RegistrationFormat } from './types.js';

export const MAX_VALUE_BYTES = 65_536;
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const SERVICE_NAME_RULE = '1 to 128 characters of A-Z, a-z, 0-9, ".", "_" or "-", and not "." or ".."';

/** The key schema's service names. "." and ".." are refused: URL paths (the admin API's among them) collapse them. */
export function isValidServiceName(name: string): boolean {
  return SERVICE_NAME_PATTERN.test(name) && name !== '.' && name !== '..';
}
const EXPECTED_FORMATS = 'a JSON registration object, an etcd naming record ({"Op":0,"Addr":"ip:port"}) or ip:port';
const GO_NAMING_FIELDS = new Set(['Op', 'Addr', 'Metadata']);

export type KeyParseResult =
  | { ok: true; service: string; instanceId: string }
  | { ok: false; service?: string; reason: string };

export type RegistrationParseResult = { ok: true; instance: Instance } | { ok: false; service?: string; reason: string };

export interface RegistrationInput {
  prefix: string;
  key: string;
  value: Buffer | string;
  /** etcd lease id as a decimal string; '0' for none. */
  lease: string;
  modRevision: string;
}

/** Splits `<prefix><service>/<instance-id>`; the service is the first segment, the instance id all the rest. */
export function parseKey(prefix: string, key: string): KeyParseResult {
  if (!key.startsWith(prefix)) return { ok: false, reason: `key "${key}" is not under the prefix "${prefix}"` };
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf('/');
  const service = slash < 0 ? rest : rest.slice(0, slash);
  const instanceId = slash < 0 ? '' : rest.slice(slash + 1);
  if (!isValidServiceName(service)) {
    const reason =
      service === ''
        ? `key "${key}" has an empty service name: expected ${prefix}<service>/<instance-id>`
        : `service name "${service}" in key "${key}" is invalid: use ${SERVICE_NAME_RULE}`;
    return { ok: false, service, reason };
  }
  if (instanceId === '') {
    return { ok: false, service, reason: `key "${key}" has no instance id: expected ${prefix}${service}/<instance-id>` };
  }
  return { ok: true, service, instanceId };
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

function fromGoNamingRecord(record: Record<string, unknown>): RuleResult<RegistrationFields> {
  for (const field of Object.keys(record)) {
    if (!GO_NAMING_FIELDS.has(field)) {
      return { ok: false, reason: `unknown field "${field}" in an etcd naming record (it has Op, Addr and Metadata)` };
    }
  }
  const op = record['Op'];
  if (op !== undefined && op !== 0) {
    const reason =
      op === 1
        ? 'Op is 1 (Delete): only Add (0) naming records register an instance'
        : `Op must be 0 (Add) in an etcd naming record, got ${JSON.stringify(op)}`;
    return { ok: false, reason };
  }
  const addr = record['Addr'];
  if (typeof addr !== 'string') {
    return { ok: false, reason: `Addr must be a "ip:port" string in an etcd naming record, got ${describeJson(addr)}` };
  }
  const hostPort = parseHostPort(addr, 'Addr');
  if (!hostPort.ok) return hostPort;
  // Go writes Metadata as any JSON value; only an object's string entries can become Envoy metadata.
  const metadata: Record<string, string> = {};
  const rawMetadata = record['Metadata'];
  if (typeof rawMetadata === 'object' && rawMetadata !== null && !Array.isArray(rawMetadata)) {
    for (const [name, value] of Object.entries(rawMetadata)) {
      if (typeof value === 'string') metadata[name] = value;
    }
  }
  return { ok: true, value: addressOnlyRegistration(hostPort.value.address, hostPort.value.port, metadata) };
}

function fromJsonObject(record: Record<string, unknown>): RuleResult<{ format: RegistrationFormat; fields: RegistrationFields }> {
  const isGoNaming = 'Addr' in record || 'Op' in record;
  if (isGoNaming) {
    const result = fromGoNamingRecord(record);
    return result.ok ? { ok: true, value: { format: 'go-naming', fields: result.value } } : result;
  }
  const schema = readRegistrationJson(record);
  if (!schema.ok) return schema;
  const result = checkNativeRegistration(schema.fields);
  return result.ok ? { ok: true, value: { format: 'json', fields: result.value } } : result;
}

function fromValueText(text: string): RuleResult<{ format: RegistrationFormat; fields: RegistrationFields }> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: `value is empty: expected ${EXPECTED_FORMATS}` };
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
    }
    return fromJsonObject(parsed as Record<string, unknown>);
  }
  if (trimmed.startsWith('"') || (trimmed.startsWith('[') && !/^\[[^\]]*\]:/.test(trimmed))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
    }
    return { ok: false, reason: `value is ${describeJson(parsed)}, not an object: expected ${EXPECTED_FORMATS}` };
  }
  const hostPort = parseHostPort(trimmed, 'value');
  if (!hostPort.ok) return hostPort;
  return { ok: true, value: { format: 'host-port', fields: addressOnlyRegistration(hostPort.value.address, hostPort.value.port, {}) } };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function freezeInstance(instance: Instance): Instance {
  Object.freeze(instance.locality);
  Object.freeze(instance.metadata);
  if (instance.healthCheck) Object.freeze(instance.healthCheck);
  return Object.freeze(instance);
}

/** Parses and validates one registration. Never throws; a refusal carries a sentence naming the field. */
export function parseRegistration(input: RegistrationInput): RegistrationParseResult {
  const key = parseKey(input.prefix, input.key);
  if (!key.ok) return key;
  try {
    const size = typeof input.value === 'string' ? Buffer.byteLength(input.value, 'utf8') : input.value.length;
    if (size > MAX_VALUE_BYTES) {
      return { ok: false, service: key.service, reason: `oversized value: ${size} bytes > ${MAX_VALUE_BYTES}` };
    }
    let text: string;
    if (typeof input.value === 'string') text = input.value;
    else {
      try {
        text = utf8.decode(input.value);
      } catch {
        return { ok: false, service: key.service, reason: 'value is not valid UTF-8 text' };
      }
    }
    const parsed = fromValueText(text);
    if (!parsed.ok) return { ok: false, service: key.service, reason: parsed.reason };
    const { format, fields } = parsed.value;
    // Written out rather than spread (this runs once per registration at cold start), in the usual key order.
    const instance = {
      service: key.service,
      instanceId: key.instanceId,
      key: input.key,
      format,
      address: fields.address,
      port: fields.port,
      weight: fields.weight,
      status: fields.status,
      priority: fields.priority,
      locality: fields.locality,
      metadata: fields.metadata,
    } as Instance;
    if (fields.healthCheck) instance.healthCheck = fields.healthCheck;
    instance.lease = input.lease;
    instance.modRevision = input.modRevision;
    return { ok: true, instance: freezeInstance(instance) };
  } catch (err) {
    // Defensive: a bug in a rule must refuse this one value, not crash the watcher.
    return { ok: false, service: key.service, reason: `internal error while validating the value: ${String(err)}` };
  }
}
