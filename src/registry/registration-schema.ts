// Strict proto3-JSON reading of a native registration against etcdxds.v1.Registration (proto/, the file users
// generate writers from). What the JSON may hold is decided by the shared walker (src/protos/proto3-json.ts):
// every key names a field by its JSON or proto name, every value has the field's JSON form. This module words the
// walker's first problem as the sentence operators read, and hands back the fields keyed by JSON name; semantic
// rules (address, ranges, allowed strings) come after, in registration-rules.ts.
import type protobuf from 'protobufjs';
import { projectType } from '../protos/project-protos.js';
import { jsonNameOf, type PathSegment, type Proto3JsonProblem } from '../protos/proto3-json.js';
import { proto3JsonReader, type Proto3JsonReadResult } from '../protos/proto3-json-reader.js';
import { describeValue } from '../protos/proto3-json-scalars.js';

export const REGISTRATION_TYPE_NAME = 'etcdxds.v1.Registration';

/**
 * etcdxds.v1.Registration as the reader hands it back: JSON names, unset fields absent, integers as numbers.
 * Kept in step with proto/etcdxds/v1/registration.proto (test/registry/parse.test.ts reads every field).
 */
export interface RegistrationJson {
  address?: string;
  port?: number;
  weight?: number;
  status?: string;
  priority?: number;
  locality?: { region?: string; zone?: string; subZone?: string };
  metadata?: Record<string, string>;
  healthCheck?: HealthCheckJson;
}

export interface HealthCheckJson {
  type?: string;
  path?: string;
  expectedStatus?: number;
  service?: string;
  port?: number;
  intervalMs?: number;
  timeoutMs?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

export type SchemaResult = { ok: true; fields: RegistrationJson } | { ok: false; reason: string };

let cachedType: protobuf.Type | undefined;
let cachedReader: ((value: unknown) => Proto3JsonReadResult) | undefined;

/** The Registration message type, loaded once from proto/. */
export function registrationType(): protobuf.Type {
  cachedType ??= projectType(REGISTRATION_TYPE_NAME);
  return cachedType;
}

/** How each JSON form the registration uses is named in a refusal ("port must be an integer, got ..."). */
const FORM_NAMES: Record<string, string> = {
  string: 'a string',
  bool: 'true or false',
  uint32: 'an integer',
  int32: 'an integer',
  message: 'a JSON object',
  map: 'a JSON object',
};

function dotted(path: readonly PathSegment[]): string {
  return path.join('.');
}

/** One problem as the sentence logs and /debug/services show, naming the field by its path as written. */
function reasonOf(problem: Proto3JsonProblem): string {
  const where = dotted(problem.path);
  switch (problem.kind) {
    case 'unknown-field':
      return `unknown field "${where}" (${problem.messageType.name} has: ${problem.messageType.fieldsArray.map(jsonNameOf).join(', ')})`;
    case 'duplicate-field':
      return `field "${where}" is given twice (as "${jsonNameOf(problem.field)}" and "${problem.field.name}")`;
    case 'wrong-form':
      return `${where || 'the value'} must be ${FORM_NAMES[problem.expected] ?? problem.expected}, got ${describeValue(problem.value)}`;
    case 'out-of-range':
      return `${where} must be an integer from ${problem.range.min} to ${problem.range.max}, got ${problem.range.value}`;
    default:
      return where ? `${where}: ${problem.message}` : problem.message;
  }
}

/** Reads a parsed JSON value as an etcdxds.v1.Registration under proto3 JSON rules, refusing unknown fields. */
export function readRegistrationJson(value: unknown): SchemaResult {
  cachedReader ??= proto3JsonReader(registrationType());
  const result = cachedReader(value);
  // The reader checked the value against the .proto, whose fields RegistrationJson restates.
  return result.ok ? { ok: true, fields: result.fields as RegistrationJson } : { ok: false, reason: reasonOf(result.problems[0]!) };
}
