// Strict proto3-JSON reading of configuration values against proto/etcdxds/v1/config.proto.
// The structural check (unknown fields, enum names, scalar ranges, duration forms, oneof conflicts) is the same
// walker that validates Envoy configs; `structuralErrors` is the only place that calls it, so the walker can be
// swapped for the shared one without touching the kinds. `normalize` then turns the checked value into plain
// objects keyed by JSON name, which the kinds' semantic rules and builders read.
import path from 'node:path';
import protobuf from 'protobufjs';
import { findEnvoyType } from '../protos/envoy-protos.js';
import { PROJECT_PROTO_DIR } from '../protos/project-protos.js';
import { formatPath } from '../envoy/validate.js';
import { checkProto3Json, type PathSegment } from '../protos/proto3-json.js';

export const CONFIG_PROTO_FILE = path.join(PROJECT_PROTO_DIR, 'etcdxds/v1/config.proto');

/** One thing wrong with a configuration value: where (`routes[2].split[0].weight`) and why. */
export interface ConfigError {
  path: string;
  message: string;
}

let cachedRoot: protobuf.Root | undefined;

function configRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const root = new protobuf.Root().loadSync(CONFIG_PROTO_FILE, { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** A message type of config.proto, e.g. `etcdxds.v1.ServicePolicy`. */
export function configType(fullName: string): protobuf.Type {
  return configRoot().lookupType(fullName);
}

/** The structural proto3-JSON check, with paths as segments. */
export function structuralErrors(type: protobuf.Type, value: unknown): { path: PathSegment[]; message: string }[] {
  return checkProto3Json(type, value, { findType: findEnvoyType }).map(({ path, message }) => ({ path, message }));
}

/** Joins path segments the way every error of the project reads: `a.b[0]["key.with.dots"]`. */
export function joinPath(segments: readonly PathSegment[]): string {
  return formatPath(segments);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonName(field: protobuf.Field): string {
  const option = field.options?.['json_name'];
  if (typeof option === 'string') return option;
  return field.name.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/_/g, '');
}

function fieldsByAnyName(type: protobuf.Type): Map<string, protobuf.Field> {
  const index = new Map<string, protobuf.Field>();
  for (const field of type.fieldsArray) {
    index.set(field.name, field);
    index.set(jsonName(field), field);
  }
  return index;
}

function normalizeSingle(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string') return value;
    return resolved.valuesById[Number(value)] ?? String(value);
  }
  if (resolved instanceof protobuf.Type) {
    // Durations keep their proto3 JSON text ("1.5s"): builders turn it into Envoy's {seconds, nanos}.
    if (resolved.fullName === '.google.protobuf.Duration') return value;
    return normalize(resolved, value);
  }
  if (['uint32', 'int32', 'double', 'float'].includes(field.type)) return Number(value);
  return value;
}

/**
 * A structurally valid value as plain data: every field under its JSON name, enums as names, 32-bit integers as
 * numbers, durations as their text. Absent (and null) fields stay absent. Call only after structuralErrors is empty.
 */
export function normalize(type: protobuf.Type, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isRecord(value)) return out;
  const index = fieldsByAnyName(type);
  for (const [key, raw] of Object.entries(value)) {
    const field = index.get(key);
    if (!field || raw === null || raw === undefined) continue;
    if (field.map && isRecord(raw)) {
      out[jsonName(field)] = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, normalizeSingle(field, v)]));
    } else if (field.repeated && Array.isArray(raw)) {
      out[jsonName(field)] = raw.map((item) => normalizeSingle(field, item));
    } else {
      out[jsonName(field)] = normalizeSingle(field, raw);
    }
  }
  return out;
}

/** Nanoseconds of a duration text that the structural check accepted ("1.5s" → 1_500_000_000n). */
export function durationNanos(text: string): bigint {
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) throw new Error(`not a checked duration: ${text}`);
  const total = BigInt(match[2]!) * 1_000_000_000n + BigInt((match[3] ?? '').padEnd(9, '0'));
  return match[1] ? -total : total;
}
