// Proto3-JSON forms of scalars and of the string-encoded well-known types (Duration, Timestamp), parsed the way
// Envoy's JSON/YAML loader accepts them. Each parser returns a normalized value (so protoc-gen-validate rules can
// compare it) or the reason the value is refused.

/** A scalar after parsing: integers as bigint (64-bit safe), floating point as number. */
export type ScalarValue =
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'bytes'; value: Buffer };

/** A refusal; `range` is set when the value had the right form but lies outside the type's range. */
export type Parsed<T> =
  | { ok: true; value: T }
  | { ok: false; message: string; range?: { min: bigint; max: bigint; value: bigint } };

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const FLOAT32_MAX = 3.4028234663852886e38;
const SPECIAL_FLOATS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** Describes a JSON value's kind for error messages ("got a string", "got a list"). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** The 32-bit integer ranges as numbers, for the check without BigInt below. */
const INT32_RANGES: Record<string, readonly [number, number]> = Object.fromEntries(
  Object.entries(INT_RANGES)
    .filter(([, [min, max]]) => max < 2n ** 32n && min >= -(2n ** 31n))
    .map(([type, [min, max]]) => [type, [Number(min), Number(max)]]),
);

/**
 * True when `raw` is a scalar of `protoType` in the form a proto3 JSON writer emits (a JSON number for 32-bit
 * integers and floating point, a boolean, a string) and in range: parseScalar would accept it unchanged. A cheap
 * test for fast paths; false says only "ask parseScalar", never that the value is wrong.
 */
export function isCanonicalScalar(protoType: string, raw: unknown): boolean {
  switch (protoType) {
    case 'string':
      return typeof raw === 'string';
    case 'bool':
      return typeof raw === 'boolean';
    case 'double':
      return typeof raw === 'number';
    case 'float':
      return typeof raw === 'number' && !(Math.abs(raw) > FLOAT32_MAX);
    default: {
      const range = INT32_RANGES[protoType];
      return range !== undefined && typeof raw === 'number' && Number.isInteger(raw) && raw >= range[0] && raw <= range[1];
    }
  }
}

function parseInteger(protoType: string, raw: unknown): Parsed<ScalarValue> {
  const [min, max] = INT_RANGES[protoType]!;
  let value: bigint;
  if (typeof raw === 'bigint') {
    value = raw;
  } else if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) return { ok: false, message: `expected an integer (${protoType}), got ${raw}` };
    value = BigInt(raw);
  } else if (typeof raw === 'string') {
    // proto3 JSON accepts integers as strings too (the usual form for 64-bit values).
    if (!/^-?\d+$/.test(raw)) {
      return { ok: false, message: `expected an integer (${protoType}), got ${describeValue(raw)}` };
    }
    value = BigInt(raw);
  } else {
    return { ok: false, message: `expected an integer (${protoType}), got ${describeValue(raw)}` };
  }
  if (value < min || value > max) {
    return { ok: false, message: `${value} is out of range for ${protoType} (${min}..${max})`, range: { min, max, value } };
  }
  return { ok: true, value: { kind: 'int', value } };
}

function parseFloating(protoType: 'double' | 'float', raw: unknown): Parsed<ScalarValue> {
  let value: number;
  if (typeof raw === 'number') {
    value = raw;
  } else if (typeof raw === 'bigint') {
    value = Number(raw);
  } else if (typeof raw === 'string' && raw in SPECIAL_FLOATS) {
    return { ok: true, value: { kind: 'float', value: SPECIAL_FLOATS[raw]! } };
  } else if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) {
    value = Number(raw);
  } else {
    return { ok: false, message: `expected a number (${protoType}), got ${describeValue(raw)}` };
  }
  if (protoType === 'float' && Number.isFinite(value) && Math.abs(value) > FLOAT32_MAX) {
    return { ok: false, message: `${value} is out of range for float` };
  }
  return { ok: true, value: { kind: 'float', value } };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const BASE64_URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/;

/** Parses a scalar field value given in proto3 JSON form. */
export function parseScalar(protoType: string, raw: unknown): Parsed<ScalarValue> {
  if (protoType in INT_RANGES) return parseInteger(protoType, raw);
  switch (protoType) {
    case 'double':
    case 'float':
      return parseFloating(protoType, raw);
    case 'bool':
      if (typeof raw === 'boolean') return { ok: true, value: { kind: 'bool', value: raw } };
      if (raw === 'true' || raw === 'false') return { ok: true, value: { kind: 'bool', value: raw === 'true' } };
      return { ok: false, message: `expected true or false, got ${describeValue(raw)}` };
    case 'string':
      if (typeof raw === 'string') return { ok: true, value: { kind: 'string', value: raw } };
      return { ok: false, message: `expected a string, got ${describeValue(raw)}` };
    case 'bytes':
      // Node's base64 decoder reads the standard and the URL-safe alphabets alike.
      if (typeof raw === 'string' && (BASE64.test(raw) || BASE64_URL.test(raw))) {
        return { ok: true, value: { kind: 'bytes', value: Buffer.from(raw, 'base64') } };
      }
      return { ok: false, message: `expected base64-encoded bytes, got ${describeValue(raw)}` };
    default:
      return { ok: false, message: `unsupported scalar type ${protoType}` };
  }
}

/** The maximum span of a google.protobuf.Duration: 10,000 years in seconds. */
const MAX_DURATION_SECONDS = 315_576_000_000n;

/** Parses a Duration in its JSON form ("1.5s", "-0.001s") into nanoseconds. */
export function parseDuration(raw: unknown): Parsed<bigint> {
  const form = 'a duration like "1.5s"';
  if (typeof raw !== 'string') return { ok: false, message: `expected ${form}, got ${describeValue(raw)}` };
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(raw);
  if (!match) return { ok: false, message: `expected ${form}, got ${JSON.stringify(raw)}` };
  const seconds = BigInt(match[2]!);
  if (seconds > MAX_DURATION_SECONDS) return { ok: false, message: `duration ${raw} is out of range` };
  const nanos = BigInt((match[3] ?? '').padEnd(9, '0'));
  const total = seconds * 1_000_000_000n + nanos;
  return { ok: true, value: match[1] ? -total : total };
}

/** Formats nanoseconds the way a Duration is written in JSON, for messages. */
export function formatDuration(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const seconds = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${seconds}${fraction ? `.${fraction}` : ''}s`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Checks a Timestamp in its JSON form (RFC 3339, years 0001-9999). */
export function parseTimestamp(raw: unknown): Parsed<string> {
  const form = 'an RFC 3339 timestamp like "2024-01-31T12:00:00Z"';
  if (typeof raw !== 'string') return { ok: false, message: `expected ${form}, got ${describeValue(raw)}` };
  const match = RFC3339.exec(raw);
  if (!match || Number(match[1]) < 1 || Number.isNaN(Date.parse(raw))) {
    return { ok: false, message: `expected ${form}, got ${JSON.stringify(raw)}` };
  }
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number) as [number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, message: `expected ${form}, got ${JSON.stringify(raw)}` };
  }
  return { ok: true, value: raw };
}
