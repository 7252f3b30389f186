// Reads messages of one type from proto3 JSON into plain fields keyed by JSON name, for callers that use the
// values (registrations, configuration objects). What is valid is decided by checkProto3Json alone; the reader
// adds a fast pass that recognises the form a proto3 JSON writer emits (JSON names, numbers as numbers, no
// nulls) and hands such a value back as it is, without copying. Anything else — proto names, integers written
// as strings, nulls, and every error — goes through the full walk, then is normalised.
import protobuf from 'protobufjs';
import { checkProto3Json } from './proto3-json.js';
import { jsonNameOf, type Proto3JsonProblem } from './proto3-json-walk.js';
import { isCanonicalScalar, parseScalar } from './proto3-json-scalars.js';
import { fieldRules, isOneofRequired } from './validate-rules.js';

/** A message read from JSON: JSON field name → value (nested messages and maps as objects). */
export interface Proto3JsonFields {
  [jsonName: string]: Proto3JsonValue;
}
export type Proto3JsonValue = string | number | boolean | Proto3JsonFields;

export type Proto3JsonReadResult = { ok: true; fields: Proto3JsonFields } | { ok: false; problems: Proto3JsonProblem[] };

interface FieldPlan {
  readonly jsonName: string;
  /** Set for a scalar field, or for the values of a map field. */
  readonly scalar?: string;
  readonly map: boolean;
  readonly message?: MessagePlan;
}

interface MessagePlan {
  /** By JSON name only: the fast pass accepts nothing else. */
  readonly canonical: Map<string, FieldPlan>;
  /** By JSON and proto name, for normalising what the walk accepted. */
  readonly any: Map<string, FieldPlan>;
}

const UNSUPPORTED_SCALARS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bytes']);

function planMessage(type: protobuf.Type, seen: Set<protobuf.Type>): MessagePlan {
  const where = type.fullName.replace(/^\./, '');
  if (seen.has(type)) throw new Error(`proto3JsonReader: ${where} is recursive`);
  seen.add(type);
  for (const oneof of type.oneofsArray) {
    // proto3 `optional` makes a one-member oneof; a real oneof needs the walk's "at most one" check.
    if (oneof.fieldsArray.length > 1 || isOneofRequired(oneof)) throw new Error(`proto3JsonReader: ${where} has oneof ${oneof.name}`);
  }
  const canonical = new Map<string, FieldPlan>();
  const any = new Map<string, FieldPlan>();
  for (const field of type.fieldsArray) {
    field.resolve();
    const unsupported = (why: string): Error => new Error(`proto3JsonReader: ${where}.${field.name} is ${why}`);
    if (field.repeated) throw unsupported('repeated');
    if (fieldRules(field)) throw unsupported('constrained by protoc-gen-validate rules');
    let plan: FieldPlan;
    const resolved = field.resolvedType;
    if (field.map) {
      if (!(field instanceof protobuf.MapField) || field.keyType !== 'string' || resolved) throw unsupported('a map other than string to scalar');
      if (UNSUPPORTED_SCALARS.has(field.type)) throw unsupported(`a map of ${field.type}`);
      plan = { jsonName: jsonNameOf(field), scalar: field.type, map: true };
    } else if (resolved instanceof protobuf.Type) {
      if (resolved.fullName.startsWith('.google.protobuf.')) throw unsupported(`a well-known type (${resolved.name})`);
      plan = { jsonName: jsonNameOf(field), map: false, message: planMessage(resolved, seen) };
    } else if (resolved) {
      throw unsupported('an enum');
    } else {
      if (UNSUPPORTED_SCALARS.has(field.type)) throw unsupported(field.type);
      plan = { jsonName: jsonNameOf(field), scalar: field.type, map: false };
    }
    canonical.set(plan.jsonName, plan);
    any.set(plan.jsonName, plan);
    any.set(field.name, plan);
  }
  seen.delete(type);
  return { canonical, any };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` is valid in the writer's canonical form, so it can be used as it is. */
function isCanonical(plan: MessagePlan, value: unknown): value is Proto3JsonFields {
  if (!isRecord(value)) return false;
  for (const key in value) {
    const field = plan.canonical.get(key);
    if (field === undefined) return false;
    const item = value[key];
    if (field.message) {
      if (!isCanonical(field.message, item)) return false;
    } else if (field.map) {
      if (!isRecord(item)) return false;
      for (const entry in item) {
        // A "__proto__" key would become the prototype of a copy made by assignment: let the walk's copy drop it.
        if (entry === '__proto__' || !isCanonicalScalar(field.scalar!, item[entry])) return false;
      }
    } else if (!isCanonicalScalar(field.scalar!, item)) {
      return false;
    }
  }
  return true;
}

function normalScalar(protoType: string, raw: unknown): string | number | boolean {
  const parsed = parseScalar(protoType, raw);
  if (!parsed.ok) throw new Error(`proto3JsonReader: the walk accepted ${protoType} ${String(raw)}`);
  const { value } = parsed;
  return value.kind === 'int' ? Number(value.value) : (value.value as string | number | boolean);
}

/** Rewrites a value the walk accepted into the canonical form: JSON names, numbers as numbers, no nulls. */
function normalise(plan: MessagePlan, value: Record<string, unknown>): Proto3JsonFields {
  const out: Proto3JsonFields = {};
  for (const [key, item] of Object.entries(value)) {
    const field = plan.any.get(key)!;
    if (item === null) continue; // proto3 JSON: null means the field is not set
    if (field.message) out[field.jsonName] = normalise(field.message, item as Record<string, unknown>);
    else if (field.map) {
      const entries: Proto3JsonFields = {};
      for (const [entry, scalar] of Object.entries(item as Record<string, unknown>)) entries[entry] = normalScalar(field.scalar!, scalar);
      out[field.jsonName] = entries;
    } else out[field.jsonName] = normalScalar(field.scalar!, item);
  }
  return out;
}

/**
 * A reader for values of `type`: valid values come back as fields keyed by JSON name (32-bit integers as
 * numbers, unset fields absent), invalid ones as every problem checkProto3Json finds. The canonical form is
 * returned without copying, so the caller owns the value it passes in. Supports messages of singular scalars
 * (not 64-bit integers or bytes), nested such messages and maps from string to such scalars; throws at
 * creation for anything else.
 */
export function proto3JsonReader(type: protobuf.Type): (value: unknown) => Proto3JsonReadResult {
  const plan = planMessage(type, new Set());
  return (value) => {
    if (isCanonical(plan, value)) return { ok: true, fields: value };
    const problems = checkProto3Json(type, value);
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, fields: normalise(plan, value as Record<string, unknown>) };
  };
}
