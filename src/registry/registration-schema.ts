// Strict proto3-JSON reading of a native registration against etcdxds.v1.Registration.
// protobufjs's fromObject() silently drops unknown or misspelt fields and coerces wrong types, so the JSON
// object is walked with the message's reflection instead: every key must name a field (by its JSON name or its
// proto name, as proto3 JSON allows), and every value must have the field's JSON form. The result is keyed by
// proto field name; semantic rules (ranges, allowed strings) come after, in registration-rules.ts.
import protobuf from 'protobufjs';
import { projectType } from '../protos/project-protos.js';

export const REGISTRATION_TYPE_NAME = 'etcdxds.v1.Registration';

/** A message read from JSON: proto field name → value (nested messages as ProtoFields, maps as records). */
export interface ProtoFields {
  [protoFieldName: string]: ProtoValue;
}
export type ProtoValue = string | number | boolean | ProtoFields | Record<string, string | number | boolean>;

export type SchemaResult = { ok: true; fields: ProtoFields } | { ok: false; reason: string };

let cachedType: protobuf.Type | undefined;

/** The Registration message type, loaded once from proto/ (the same file users generate writers from). */
export function registrationType(): protobuf.Type {
  cachedType ??= projectType(REGISTRATION_TYPE_NAME);
  return cachedType;
}

/** The field's proto3 JSON name: the json_name option, else lowerCamelCase of the proto name. */
export function jsonNameOf(field: protobuf.Field): string {
  const option = field.options?.['json_name'];
  if (typeof option === 'string') return option;
  return field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class SchemaError extends Error {}

const UINT32_MAX = 4_294_967_295;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

// Only the scalar kinds the registration schema uses are accepted; anything else in the .proto is a
// programming error caught by the tests, not a user error.
function readScalar(protoType: string, value: unknown, where: string): string | number | boolean {
  switch (protoType) {
    case 'string':
      if (typeof value !== 'string') throw new SchemaError(`${where} must be a string, got ${describe(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new SchemaError(`${where} must be true or false, got ${describe(value)}`);
      return value;
    case 'uint32':
    case 'int32': {
      // proto3 JSON writes 32-bit integers as numbers and also accepts decimal strings.
      const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isInteger(number)) {
        throw new SchemaError(`${where} must be an integer, got ${describe(value)}`);
      }
      const [min, max] = protoType === 'uint32' ? [0, UINT32_MAX] : [INT32_MIN, INT32_MAX];
      if (number < min || number > max) {
        throw new SchemaError(`${where} must be an integer from ${min} to ${max}, got ${number}`);
      }
      return number;
    }
    default:
      throw new Error(`registration schema uses unsupported scalar type ${protoType} (${where})`);
  }
}

function readMap(field: protobuf.Field, value: unknown, where: string): Record<string, string | number | boolean> {
  if (!isPlainObject(value)) throw new SchemaError(`${where} must be a JSON object, got ${describe(value)}`);
  const out: Record<string, string | number | boolean> = {};
  for (const [key, entry] of Object.entries(value)) {
    out[key] = readScalar(field.type, entry, `${where}.${key}`);
  }
  return out;
}

function readMessage(type: protobuf.Type, value: unknown, where: string): ProtoFields {
  if (!isPlainObject(value)) {
    throw new SchemaError(`${where || 'the value'} must be a JSON object, got ${describe(value)}`);
  }
  const byName = new Map<string, protobuf.Field>();
  for (const field of type.fieldsArray) {
    byName.set(jsonNameOf(field), field);
    byName.set(field.name, field);
  }
  const out: ProtoFields = {};
  for (const [key, raw] of Object.entries(value)) {
    const fieldPath = where ? `${where}.${key}` : key;
    const field = byName.get(key);
    if (!field) {
      const known = type.fieldsArray.map(jsonNameOf).join(', ');
      throw new SchemaError(`unknown field "${fieldPath}" (${type.name} has: ${known})`);
    }
    if (field.name in out) {
      throw new SchemaError(`field "${fieldPath}" is given twice (as "${jsonNameOf(field)}" and "${field.name}")`);
    }
    if (raw === null) continue; // proto3 JSON: null means the field is absent
    if (field.repeated) throw new Error(`registration schema uses unsupported repeated field ${field.name}`);
    if (field.map) out[field.name] = readMap(field, raw, fieldPath);
    else if (field.resolvedType instanceof protobuf.Type) {
      out[field.name] = readMessage(field.resolvedType, raw, fieldPath);
    } else if (field.resolvedType) {
      throw new Error(`registration schema uses unsupported enum field ${field.name}`);
    } else out[field.name] = readScalar(field.type, raw, fieldPath);
  }
  return out;
}

/** Reads a parsed JSON value as an etcdxds.v1.Registration under proto3 JSON rules, refusing unknown fields. */
export function readRegistrationJson(value: unknown): SchemaResult {
  try {
    return { ok: true, fields: readMessage(registrationType(), value, '') };
  } catch (err) {
    if (err instanceof SchemaError) return { ok: false, reason: err.message };
    throw err;
  }
}
