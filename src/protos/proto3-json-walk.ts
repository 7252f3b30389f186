// Walks a JSON/YAML value against a message type with protobufjs reflection, under the strict proto3 JSON rules
// Envoy's loader applies (unknown fields rejected, proto and lowerCamel names, enum names or numbers, Any by
// "@type"), then the protoc-gen-validate rules Envoy checks after parsing (a message without such options has
// none to check). protobufjs's own fromObject()/verify() are not used: they drop unknown fields and coerce bad
// values silently. The public face is checkProto3Json in proto3-json.ts.
import protobuf from 'protobufjs';
import {
  anyRuleViolations,
  durationRuleViolations,
  enumRuleViolations,
  fieldRules,
  isOneofRequired,
  isPresenceRequired,
  mapRuleViolations,
  nestedRules,
  repeatedRuleViolations,
  scalarRuleViolations,
  type Rules,
} from './validate-rules.js';
import { describeValue, parseDuration, parseScalar, parseTimestamp, type ScalarValue } from './proto3-json-scalars.js';

export type PathSegment = string | number;

/** A message type found by name, or why there is none (the "@type" of an Any names one). */
export type TypeLookup = { type: protobuf.Type } | { missing: string };

/**
 * One thing wrong with a value, at `path` (field names as written, list indexes, map keys). `message` is a
 * sentence without the path. `kind` tells callers that word their own sentences what went wrong:
 * - `unknown-field`: the last path segment names no field of `messageType`;
 * - `duplicate-field`: `field` is given under both its proto and its JSON name;
 * - `wrong-form`: `value` is not the JSON form of `expected` (a scalar type such as `uint32` or `string`, or
 *   `message`, `map`, `list`); null inside a list or map counts here too;
 * - `out-of-range`: an integer of the right form outside `range`;
 * - `invalid`: anything else (enum names, oneofs, well-known types, Any, protoc-gen-validate rules).
 */
export type Proto3JsonProblem = { path: PathSegment[]; message: string } & ProblemDetail;

type ProblemDetail =
  | { kind: 'unknown-field'; messageType: protobuf.Type }
  | { kind: 'duplicate-field'; field: protobuf.Field }
  | { kind: 'wrong-form'; expected: string; value: unknown }
  | { kind: 'out-of-range'; range: { min: bigint; max: bigint; value: bigint } }
  | { kind: 'invalid' };

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** Types whose JSON form is not an object of fields; inside an Any they travel as {"@type", "value"}. */
const SPECIAL_JSON_TYPES = new Set([
  ...Object.keys(WRAPPERS),
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
]);

const SCALAR_DEFAULTS: Record<string, ScalarValue> = {
  string: { kind: 'string', value: '' },
  bytes: { kind: 'bytes', value: Buffer.alloc(0) },
  bool: { kind: 'bool', value: false },
  double: { kind: 'float', value: 0 },
  float: { kind: 'float', value: 0 },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What one item of a repeated or map field must be: its scalar type, or `message` / `enum`. */
function itemForm(field: protobuf.Field): string {
  if (field.resolvedType instanceof protobuf.Type) return 'message';
  return field.resolvedType instanceof protobuf.Enum ? 'enum' : field.type;
}

function typeName(type: protobuf.Type | protobuf.Enum): string {
  return type.fullName.replace(/^\./, '');
}

/** protoc's json_name: drop underscores and capitalize the letter after each. */
function lowerCamel(name: string): string {
  return name.replace(/_+([a-zA-Z0-9])/g, (_, letter: string) => letter.toUpperCase()).replace(/_/g, '');
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

const fieldIndexes = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** The field's proto3 JSON name: its json_name option, else the lowerCamel form of its proto name. */
export function jsonNameOf(field: protobuf.Field): string {
  const jsonName = field.options?.['json_name'];
  return typeof jsonName === 'string' ? jsonName : lowerCamel(field.name);
}

/** Every name a field may be written under: its proto name and its JSON name. */
function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = fieldIndexes.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      index.set(jsonNameOf(field), field);
    }
    fieldIndexes.set(type, index);
  }
  return index;
}

const INVALID: ProblemDetail = { kind: 'invalid' };

export class MessageWalker {
  readonly problems: Proto3JsonProblem[] = [];

  /** `findType` resolves the "@type" of Anys; findEnvoyType loads Envoy's extension protos on demand. */
  constructor(private readonly findType: (fullName: string) => TypeLookup) {}

  private report(path: PathSegment[], message: string, detail: ProblemDetail = INVALID): void {
    this.problems.push({ path, message, ...detail });
  }

  private reportAll(path: PathSegment[], messages: string[]): void {
    for (const message of messages) this.report(path, message);
  }

  private reportWrongForm(path: PathSegment[], message: string, expected: string, value: unknown): void {
    this.report(path, message, { kind: 'wrong-form', expected, value });
  }

  private reportParseFailure(path: PathSegment[], failure: { message: string; range?: { min: bigint; max: bigint; value: bigint } }, expected: string, value: unknown): void {
    if (failure.range) this.report(path, failure.message, { kind: 'out-of-range', range: failure.range });
    else this.reportWrongForm(path, failure.message, expected, value);
  }

  /** Validates a value (already parsed from JSON/YAML) as the message `type`. */
  message(type: protobuf.Type, value: unknown, path: PathSegment[], rules?: Rules): void {
    if (this.wellKnown(type, value, path, rules)) return;
    if (!isRecord(value)) {
      this.reportWrongForm(path, `expected an object (${typeName(type)}), got ${describeValue(value)}`, 'message', value);
      return;
    }
    const index = fieldIndex(type);
    const present = new Map<protobuf.Field, string>();
    for (const [key, fieldValue] of Object.entries(value)) {
      const field = index.get(key);
      if (!field) {
        this.report([...path, key], this.unknownFieldMessage(type, key), { kind: 'unknown-field', messageType: type });
        continue;
      }
      const earlier = present.get(field);
      if (earlier !== undefined) {
        this.report([...path, key], `field "${field.name}" is given twice (as "${earlier}" and "${key}")`, { kind: 'duplicate-field', field });
        continue;
      }
      // proto3 JSON: null means "not set", except where null is itself a value (google.protobuf.Value).
      const nullIsValue = field.resolvedType?.fullName === '.google.protobuf.Value' || field.resolvedType?.fullName === '.google.protobuf.NullValue';
      if (fieldValue === null && !nullIsValue) continue;
      present.set(field, key);
      this.field(field, fieldValue, [...path, key]);
    }
    this.checkOneofs(type, present, path);
    for (const field of type.fieldsArray) if (!present.has(field)) this.absent(field, [...path, field.name]);
  }

  private unknownFieldMessage(type: protobuf.Type, key: string): string {
    let best: { name: string; distance: number } | undefined;
    for (const field of type.fieldsArray) {
      const distance = Math.min(editDistance(key, field.name), editDistance(key, lowerCamel(field.name)));
      if (!best || distance < best.distance) best = { name: field.name, distance };
    }
    const hint = best && best.distance <= Math.max(2, Math.floor(key.length / 4)) ? ` (did you mean "${best.name}"?)` : '';
    return `unknown field "${key}" in ${typeName(type)}${hint}`;
  }

  private checkOneofs(type: protobuf.Type, present: Map<protobuf.Field, string>, path: PathSegment[]): void {
    for (const oneof of type.oneofsArray) {
      // In the order written, so the error points at the member that came second.
      const set = [...present.keys()].filter((field) => field.partOf === oneof);
      for (const extra of set.slice(1)) {
        this.report(
          [...path, present.get(extra)!],
          `"${present.get(extra)}" conflicts with "${present.get(set[0]!)}": both belong to oneof "${oneof.name}" (set only one)`,
        );
      }
      if (set.length === 0 && isOneofRequired(oneof)) {
        this.report(path, `one of ${oneof.fieldsArray.map((f) => `"${f.name}"`).join(', ')} is required (oneof "${oneof.name}")`);
      }
    }
  }

  /** protoc-gen-validate checks a proto3 field even when it is unset (it has its default value then). */
  private absent(field: protobuf.Field, path: PathSegment[]): void {
    const rules = fieldRules(field);
    if (!rules) return;
    const unset = (messages: string[]): void => this.reportAll(path, messages.map((m) => `${m} (field is not set)`));
    if (field.map) return unset(mapRuleViolations(rules, 0));
    if (field.repeated) return unset(repeatedRuleViolations(rules, []));
    if (field.partOf) return; // oneof members and proto3 `optional` fields are only checked when set
    if (field.resolvedType instanceof protobuf.Type) {
      if (isPresenceRequired(rules)) this.report(path, 'value is required');
      return;
    }
    if (field.resolvedType instanceof protobuf.Enum) return unset(enumRuleViolations(rules, 0, field.resolvedType));
    const fallback = SCALAR_DEFAULTS[field.type] ?? { kind: 'int', value: 0n };
    unset(scalarRuleViolations(rules, fallback));
  }

  private field(field: protobuf.Field, value: unknown, path: PathSegment[]): void {
    const rules = fieldRules(field);
    if (field.map) {
      if (!isRecord(value)) return this.reportWrongForm(path, `expected a map (object), got ${describeValue(value)}`, 'map', value);
      this.reportAll(path, mapRuleViolations(rules, Object.keys(value).length));
      const keyType = field instanceof protobuf.MapField ? field.keyType : 'string';
      for (const [key, item] of Object.entries(value)) {
        const parsedKey = keyType === 'string' ? parseScalar('string', key) : parseScalar(keyType, key);
        if (!parsedKey.ok) this.report([...path, key], `bad map key: ${parsedKey.message}`);
        else this.reportAll([...path, key], scalarRuleViolations(nestedRules(rules, 'keys'), parsedKey.value).map((m) => `map key: ${m}`));
        if (item === null) this.reportWrongForm([...path, key], 'null is not allowed as a map value', itemForm(field), item);
        else this.single(field, item, [...path, key], nestedRules(rules, 'values'));
      }
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.reportWrongForm(path, `expected a list (repeated ${field.resolvedType ? typeName(field.resolvedType) : field.type}), got ${describeValue(value)}`, 'list', value);
      this.reportAll(path, repeatedRuleViolations(rules, value));
      value.forEach((item, i) => {
        if (item === null) this.reportWrongForm([...path, i], 'null is not allowed in a list', itemForm(field), item);
        else this.single(field, item, [...path, i], nestedRules(rules, 'items'));
      });
      return;
    }
    this.single(field, value, path, rules);
  }

  private single(field: protobuf.Field, value: unknown, path: PathSegment[], rules: Rules | undefined): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, path, rules);
    if (resolved instanceof protobuf.Enum) return this.enumValue(resolved, value, path, rules);
    const parsed = parseScalar(field.type, value);
    if (!parsed.ok) return this.reportParseFailure(path, parsed, field.type, value);
    this.reportAll(path, scalarRuleViolations(rules, parsed.value));
  }

  private enumValue(enumType: protobuf.Enum, value: unknown, path: PathSegment[], rules: Rules | undefined): void {
    if (enumType.fullName === '.google.protobuf.NullValue' && value === null) return;
    let number: number;
    // Own keys only: `in` would also accept Object.prototype names such as "toString" or "constructor".
    if (typeof value === 'string' && Object.hasOwn(enumType.values, value)) {
      number = enumType.values[value]!;
    } else if ((typeof value === 'number' || typeof value === 'bigint') && parseScalar('int32', value).ok) {
      number = Number(value);
    } else {
      const names = Object.keys(enumType.values);
      const list = names.length <= 16 ? `: one of ${names.join(', ')}` : '';
      const shown = typeof value === 'string' ? JSON.stringify(value) : describeValue(value);
      this.report(path, `invalid enum value ${shown} for ${typeName(enumType)}${list}`);
      return;
    }
    this.reportAll(path, enumRuleViolations(rules, number, enumType));
  }

  /** Types with a special JSON form; returns false for ordinary messages. */
  private wellKnown(type: protobuf.Type, value: unknown, path: PathSegment[], rules: Rules | undefined): boolean {
    const name = typeName(type);
    const wrapped = WRAPPERS[name];
    if (wrapped) {
      const parsed = parseScalar(wrapped, value);
      if (!parsed.ok) this.report(path, isRecord(value) ? `${parsed.message}: ${name} is written as a bare value` : parsed.message);
      else this.reportAll(path, scalarRuleViolations(rules, parsed.value));
      return true;
    }
    switch (name) {
      case 'google.protobuf.Duration': {
        const parsed = parseDuration(value);
        if (!parsed.ok) this.report(path, parsed.message);
        else this.reportAll(path, durationRuleViolations(rules, parsed.value));
        return true;
      }
      case 'google.protobuf.Timestamp': {
        const parsed = parseTimestamp(value);
        if (!parsed.ok) this.report(path, parsed.message);
        return true;
      }
      case 'google.protobuf.FieldMask':
        if (typeof value !== 'string') this.report(path, `expected a field mask string like "a.b,c", got ${describeValue(value)}`);
        return true;
      case 'google.protobuf.Struct':
        if (!isRecord(value)) this.report(path, `expected an object (google.protobuf.Struct), got ${describeValue(value)}`);
        return true;
      case 'google.protobuf.ListValue':
        if (!Array.isArray(value)) this.report(path, `expected a list (google.protobuf.ListValue), got ${describeValue(value)}`);
        return true;
      case 'google.protobuf.Value':
        return true; // any JSON value
      case 'google.protobuf.Any':
        this.any(value, path, rules);
        return true;
      default:
        return false;
    }
  }

  /** An Any names its payload type with "@type"; the payload's fields sit beside it (or under "value"). */
  private any(value: unknown, path: PathSegment[], rules: Rules | undefined): void {
    if (!isRecord(value)) {
      this.report(path, `expected an object with "@type" (google.protobuf.Any), got ${describeValue(value)}`);
      return;
    }
    const typeUrl = value['@type'];
    if (typeUrl === undefined) {
      this.report(path, 'missing "@type": an Any (typed_config) must name its type, e.g. "type.googleapis.com/<message>"');
      return;
    }
    const typePath = [...path, '@type'];
    if (typeof typeUrl !== 'string' || !typeUrl.includes('/') || typeUrl.endsWith('/')) {
      this.report(typePath, `"@type" must look like "type.googleapis.com/<message>", got ${describeValue(typeUrl)}`);
      return;
    }
    this.reportAll(typePath, anyRuleViolations(rules, typeUrl));
    const fullName = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
    const lookup = this.findType(fullName);
    if ('missing' in lookup) {
      this.report(typePath, `unknown message type "${fullName}": ${lookup.missing}`);
      return;
    }
    const found = lookup.type;
    const { '@type': _typeUrl, ...payload } = value;
    if (!SPECIAL_JSON_TYPES.has(fullName)) {
      this.message(found, payload, path);
      return;
    }
    for (const key of Object.keys(payload)) {
      if (key !== 'value') this.report([...path, key], `unknown field "${key}": an Any of ${fullName} holds only "value"`);
    }
    if ('value' in payload) this.message(found, payload['value'], [...path, 'value']);
  }
}
