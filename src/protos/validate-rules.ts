// protoc-gen-validate rules as Envoy applies them after parsing a config. protobufjs exposes a field's
// `(validate.rules)` option in `parsedOptions` as a list of objects such as
// `[{"(validate.rules)": {"string": {"min_len": 1}}}]`; values stay as protobufjs parsed the option text
// (numbers, strings, Long-like objects, `{}` for a zero Duration, a bare value where the rule is a list).
import type protobuf from 'protobufjs';
import { formatDuration, type ScalarValue } from './proto3-json-scalars.js';

/** The `(validate.rules)` FieldRules of one field (or of its items, map keys or values). */
export type Rules = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionEntries(object: protobuf.ReflectionObject): Record<string, unknown>[] {
  const parsed: unknown = object.parsedOptions;
  if (Array.isArray(parsed)) return parsed.filter(isRecord);
  return isRecord(parsed) ? [parsed] : [];
}

/** The merged `(validate.rules)` of a field, or undefined when it has none. */
export function fieldRules(field: protobuf.Field): Rules | undefined {
  const merged: Rules = {};
  for (const entry of optionEntries(field)) {
    const rules = entry['(validate.rules)'];
    if (isRecord(rules)) Object.assign(merged, rules);
  }
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/** True when the oneof carries `option (validate.required) = true`: exactly one member must be set. */
export function isOneofRequired(oneof: protobuf.OneOf): boolean {
  if (oneof.options?.['(validate.required)'] === true) return true;
  return optionEntries(oneof).some((entry) => entry['(validate.required)'] === true);
}

function sub(rules: Rules | undefined, key: string): Rules | undefined {
  const value = rules?.[key];
  return isRecord(value) ? value : undefined;
}

/** message.required and its Duration/Any/Timestamp twins: the field must be present. */
export function isPresenceRequired(rules: Rules | undefined): boolean {
  return ['message', 'duration', 'any', 'timestamp'].some((kind) => sub(rules, kind)?.['required'] === true);
}

/** Rules for each item of a repeated field, each key or value of a map. */
export function nestedRules(rules: Rules | undefined, part: 'items' | 'keys' | 'values'): Rules | undefined {
  return sub(sub(rules, part === 'items' ? 'repeated' : 'map'), part);
}

type Comparable = number | bigint;

function toComparable(raw: unknown, asFloat: boolean): Comparable | undefined {
  if (typeof raw === 'number') return asFloat || !Number.isInteger(raw) ? raw : BigInt(raw);
  if (typeof raw === 'bigint') return asFloat ? Number(raw) : raw;
  const text = typeof raw === 'string' ? raw : isRecord(raw) && 'low' in raw ? String(raw) : undefined;
  if (text === undefined || text.trim() === '') return undefined;
  if (asFloat) return Number(text);
  return /^-?\d+$/.test(text) ? BigInt(text) : undefined;
}

function durationNanos(raw: unknown): bigint | undefined {
  if (!isRecord(raw)) return undefined;
  const seconds = toComparable(raw['seconds'] ?? 0, false);
  const nanos = toComparable(raw['nanos'] ?? 0, false);
  if (typeof seconds !== 'bigint' || typeof nanos !== 'bigint') return undefined;
  return seconds * 1_000_000_000n + nanos;
}

/** Equality across number and bigint (1n === 1 is false; both compare fine with < and >). */
function sameNumber(a: Comparable, b: Comparable): boolean {
  return !(a < b) && !(a > b) && !Number.isNaN(Number(a)) && !Number.isNaN(Number(b));
}

function asList(raw: unknown): unknown[] {
  if (raw === undefined) return [];
  return Array.isArray(raw) ? raw : [raw];
}

/** const/lt/lte/gt/gte/in/not_in, with protoc-gen-validate's "outside range" meaning when upper < lower. */
function rangeViolations(
  rules: Rules,
  value: Comparable,
  convert: (raw: unknown) => Comparable | undefined,
  show: (value: Comparable) => string,
): string[] {
  const bound = (key: string): Comparable | undefined => (key in rules ? convert(rules[key]) : undefined);
  const errors: string[] = [];
  const exact = bound('const');
  if (exact !== undefined && !sameNumber(value, exact)) errors.push(`value must equal ${show(exact)}`);
  const inList = asList(rules['in']).map(convert).filter((v): v is Comparable => v !== undefined);
  if (inList.length > 0 && !inList.some((v) => sameNumber(v, value))) errors.push(`value must be one of [${inList.map(show).join(', ')}]`);
  const notIn = asList(rules['not_in']).map(convert).filter((v): v is Comparable => v !== undefined);
  if (notIn.some((v) => sameNumber(v, value))) errors.push(`value must not be one of [${notIn.map(show).join(', ')}]`);

  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  const lower = gt ?? gte;
  const upper = lt ?? lte;
  const aboveLower = lower === undefined || (gt !== undefined ? value > gt : value >= lower);
  const belowUpper = upper === undefined || (lt !== undefined ? value < lt : value <= upper);
  if (lower !== undefined && upper !== undefined) {
    const range = `${gt !== undefined ? '(' : '['}${show(lower)}, ${show(upper)}${lt !== undefined ? ')' : ']'}`;
    if (upper >= lower && !(aboveLower && belowUpper)) errors.push(`value must be inside range ${range}`);
    if (upper < lower && !(aboveLower || belowUpper)) errors.push(`value must be outside range ${range}`);
  } else if (!aboveLower) {
    errors.push(`value must be greater than ${gt !== undefined ? '' : 'or equal to '}${show(lower!)}`);
  } else if (!belowUpper) {
    errors.push(`value must be less than ${lt !== undefined ? '' : 'or equal to '}${show(upper!)}`);
  }
  return errors;
}

const NUMERIC_KINDS = ['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'double', 'float'];

// Envoy's header name/value patterns (validate.proto's KnownRegex); strict: false only forbids NUL, CR and LF.
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const LOOSE_HEADER = /^[^\u0000\u000A\u000D]*$/;

function stringViolations(rules: Rules, text: string): string[] {
  if (rules['ignore_empty'] === true && text === '') return [];
  const errors: string[] = [];
  const chars = [...text].length;
  const bytes = Buffer.byteLength(text, 'utf8');
  const num = (key: string): number | undefined => (key in rules ? Number(toComparable(rules[key], true)) : undefined);
  const checks: [number | undefined, boolean, string][] = [
    [num('len'), chars !== num('len'), `value length must be ${num('len')} characters`],
    [num('min_len'), chars < (num('min_len') ?? 0), `value length must be at least ${num('min_len')} characters`],
    [num('max_len'), chars > (num('max_len') ?? Infinity), `value length must be at most ${num('max_len')} characters`],
    [num('min_bytes'), bytes < (num('min_bytes') ?? 0), `value length must be at least ${num('min_bytes')} bytes`],
    [num('max_bytes'), bytes > (num('max_bytes') ?? Infinity), `value length must be at most ${num('max_bytes')} bytes`],
  ];
  for (const [limit, failed, message] of checks) if (limit !== undefined && failed) errors.push(message);
  const str = (key: string): string | undefined => (typeof rules[key] === 'string' ? (rules[key] as string) : undefined);
  if (str('const') !== undefined && text !== str('const')) errors.push(`value must equal ${JSON.stringify(str('const'))}`);
  if (str('prefix') !== undefined && !text.startsWith(str('prefix')!)) errors.push(`value must start with ${JSON.stringify(str('prefix'))}`);
  if (str('suffix') !== undefined && !text.endsWith(str('suffix')!)) errors.push(`value must end with ${JSON.stringify(str('suffix'))}`);
  if (str('contains') !== undefined && !text.includes(str('contains')!)) errors.push(`value must contain ${JSON.stringify(str('contains'))}`);
  if (str('not_contains') !== undefined && text.includes(str('not_contains')!)) errors.push(`value must not contain ${JSON.stringify(str('not_contains'))}`);
  const inList = asList(rules['in']).map(String);
  if (inList.length > 0 && !inList.includes(text)) errors.push(`value must be one of ${JSON.stringify(inList)}`);
  if (asList(rules['not_in']).map(String).includes(text)) errors.push(`value must not be ${JSON.stringify(text)}`);
  const pattern = str('pattern');
  if (pattern !== undefined) {
    const regex = compilePattern(pattern);
    if (regex && !regex.test(text)) errors.push(`value does not match regex pattern ${JSON.stringify(pattern)}`);
  }
  const known = rules['well_known_regex'];
  if (known === 'HTTP_HEADER_NAME' || known === 'HTTP_HEADER_VALUE') {
    const strict = rules['strict'] !== false;
    const regex = !strict ? LOOSE_HEADER : known === 'HTTP_HEADER_NAME' ? HEADER_NAME : HEADER_VALUE;
    if (!regex.test(text)) errors.push(`value must be a valid ${known === 'HTTP_HEADER_NAME' ? 'HTTP header name' : 'HTTP header value'}`);
  }
  return errors;
}

/** Patterns are RE2; the few RE2-only constructs JavaScript lacks are skipped rather than misjudged. */
function compilePattern(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

/** Violations of scalar rules (string, bytes, bool, numeric kinds) by a parsed value. */
export function scalarRuleViolations(rules: Rules | undefined, value: ScalarValue): string[] {
  if (!rules) return [];
  if (value.kind === 'string') {
    const stringRules = sub(rules, 'string');
    return stringRules ? stringViolations(stringRules, value.value) : [];
  }
  if (value.kind === 'bytes') {
    const bytesRules = sub(rules, 'bytes');
    if (!bytesRules || (bytesRules['ignore_empty'] === true && value.value.length === 0)) return [];
    const min = Number(bytesRules['min_len'] ?? 0);
    const max = Number(bytesRules['max_len'] ?? Infinity);
    if (value.value.length < min) return [`value length must be at least ${min} bytes`];
    if (value.value.length > max) return [`value length must be at most ${max} bytes`];
    return [];
  }
  if (value.kind === 'bool') {
    const exact = sub(rules, 'bool')?.['const'];
    return typeof exact === 'boolean' && exact !== value.value ? [`value must equal ${exact}`] : [];
  }
  const kind = NUMERIC_KINDS.find((name) => sub(rules, name) !== undefined);
  if (!kind) return [];
  const numberRules = sub(rules, kind)!;
  if (numberRules['ignore_empty'] === true && sameNumber(value.value, 0)) return [];
  const asFloat = kind === 'double' || kind === 'float';
  return rangeViolations(numberRules, value.value, (raw) => toComparable(raw, asFloat), String);
}

/** Violations of enum rules (const, defined_only, in, not_in) by an enum number. */
export function enumRuleViolations(rules: Rules | undefined, number: number, enumType: protobuf.Enum): string[] {
  const enumRules = sub(rules, 'enum');
  if (!enumRules) return [];
  const errors: string[] = [];
  if (enumRules['defined_only'] === true && !(number in enumType.valuesById)) {
    errors.push(`value must be one of the defined enum values of ${enumType.name}`);
  }
  const show = (n: Comparable): string => enumType.valuesById[Number(n)] ?? String(n);
  return errors.concat(rangeViolations(enumRules, number, (raw) => toComparable(raw, true), show));
}

/** Violations of duration rules (const, lt, lte, gt, gte, in, not_in) by a duration in nanoseconds. */
export function durationRuleViolations(rules: Rules | undefined, nanos: bigint): string[] {
  const durationRules = sub(rules, 'duration');
  if (!durationRules) return [];
  return rangeViolations(durationRules, nanos, durationNanos, (v) => formatDuration(BigInt(v)));
}

/** Violations of Any rules (in, not_in) by a type URL. */
export function anyRuleViolations(rules: Rules | undefined, typeUrl: string): string[] {
  const anyRules = sub(rules, 'any');
  if (!anyRules) return [];
  const inList = asList(anyRules['in']).map(String);
  if (inList.length > 0 && !inList.includes(typeUrl)) return [`type must be one of ${JSON.stringify(inList)}`];
  if (asList(anyRules['not_in']).map(String).includes(typeUrl)) return [`type ${typeUrl} is not allowed here`];
  return [];
}

/**
 * A key equal for equal items. YAML integers arrive as BigInt, which JSON.stringify refuses; they become numbers
 * when that is exact, so 1 (BigInt, from `1`) and 1 (number, from `1.0` or JSON) are the same item.
 */
function itemKey(item: unknown): string {
  return JSON.stringify(item, (_key, value: unknown) => {
    if (typeof value !== 'bigint') return value;
    const asNumber = Number(value);
    return BigInt(asNumber) === value ? asNumber : `${value}n`;
  });
}

/** Violations of repeated rules (min_items, max_items, unique) by a list. */
export function repeatedRuleViolations(rules: Rules | undefined, items: readonly unknown[]): string[] {
  const repeated = sub(rules, 'repeated');
  if (!repeated || (repeated['ignore_empty'] === true && items.length === 0)) return [];
  const errors: string[] = [];
  const min = repeated['min_items'] !== undefined ? Number(repeated['min_items']) : undefined;
  const max = repeated['max_items'] !== undefined ? Number(repeated['max_items']) : undefined;
  if (min !== undefined && items.length < min) errors.push(`value must contain at least ${min} item(s)`);
  if (max !== undefined && items.length > max) errors.push(`value must contain no more than ${max} item(s)`);
  if (repeated['unique'] === true && new Set(items.map(itemKey)).size !== items.length) {
    errors.push('repeated value must contain unique items');
  }
  return errors;
}

/** Violations of map rules (min_pairs, max_pairs) by a map's size. */
export function mapRuleViolations(rules: Rules | undefined, size: number): string[] {
  const map = sub(rules, 'map');
  if (!map || (map['ignore_empty'] === true && size === 0)) return [];
  const min = map['min_pairs'] !== undefined ? Number(map['min_pairs']) : undefined;
  const max = map['max_pairs'] !== undefined ? Number(map['max_pairs']) : undefined;
  if (min !== undefined && size < min) return [`value must contain at least ${min} pair(s)`];
  if (max !== undefined && size > max) return [`value must contain no more than ${max} pair(s)`];
  return [];
}
