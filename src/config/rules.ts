// Semantic rules shared by several configuration kinds: what proto3 JSON cannot say about a value.
// Each check pushes `{path, message}` errors; paths are relative to the object's spec.
import protobuf from 'protobufjs';
import { configType, durationNanos, joinPath, normalize, structuralErrors, type ConfigError } from './schema.js';
import type { ParseResult, RetryPolicy, RouteMatch } from './types.js';
import type { PathSegment } from '../protos/proto3-json-walk.js';

/** Envoy's retry conditions (router filter `x-envoy-retry-on` and `x-envoy-retry-grpc-on`). */
export const RETRY_CONDITIONS: readonly string[] = [
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
];
export const MAX_RETRIES = 10;
export const DEFAULT_TOTAL_WEIGHT = 100;

/** Names of gateways, listeners, virtual hosts and routes: safe in resource names, stats and the admin page. */
export const OBJECT_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const OBJECT_NAME_RULE = '1 to 64 characters of A-Z, a-z, 0-9, ".", "_" or "-"';

/** Header names as HTTP/1 and HTTP/2 accept them. */
export const HEADER_NAME_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const GRPC_SERVICE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export class ErrorList {
  readonly errors: ConfigError[] = [];
  add(path: readonly PathSegment[], message: string): void {
    this.errors.push({ path: joinPath(path), message });
  }
}

/** A duration that must be > 0 (or ≥ 0 when zero is allowed). */
export function checkDuration(list: ErrorList, path: PathSegment[], text: string | undefined, allowZero: boolean): void {
  if (text === undefined) return;
  const nanos = durationNanos(text);
  if (nanos < 0n) list.add(path, `must be ≥ 0s, got ${text}`);
  else if (!allowZero && nanos === 0n) list.add(path, 'must be greater than 0s');
}

export function checkRetry(list: ErrorList, path: PathSegment[], retry: RetryPolicy | undefined): void {
  if (!retry) return;
  const conditions = (retry.retryOn ?? '').split(',').map((c) => c.trim());
  if (conditions.every((c) => c === '')) list.add([...path, 'retryOn'], `is required: a comma separated list of ${RETRY_CONDITIONS.join(', ')}`);
  else {
    for (const condition of conditions) {
      if (!RETRY_CONDITIONS.includes(condition)) {
        list.add([...path, 'retryOn'], `unknown retry condition ${JSON.stringify(condition)}: use ${RETRY_CONDITIONS.join(', ')}`);
      }
    }
  }
  if (retry.numRetries !== undefined && (retry.numRetries < 1 || retry.numRetries > MAX_RETRIES)) {
    list.add([...path, 'numRetries'], `must be from 1 to ${MAX_RETRIES}, got ${retry.numRetries}`);
  }
  checkDuration(list, [...path, 'perTryTimeout'], retry.perTryTimeout, false);
}

/** A route match: a path part (required in gateways; optional in service routes) and header matches. */
export function checkRouteMatch(list: ErrorList, path: PathSegment[], match: RouteMatch, requirePath: boolean): void {
  const paths = [match.prefix, match.path, match.grpcService].filter((p) => p !== undefined);
  if (requirePath && paths.length === 0) list.add(path, 'needs one of prefix, path or grpcService');
  if (match.prefix !== undefined && !match.prefix.startsWith('/')) list.add([...path, 'prefix'], 'must start with "/"');
  if (match.path !== undefined && !match.path.startsWith('/')) list.add([...path, 'path'], 'must start with "/"');
  if (match.grpcService !== undefined && !GRPC_SERVICE_PATTERN.test(match.grpcService)) {
    list.add([...path, 'grpcService'], 'must be a fully qualified gRPC service name, e.g. "helloworld.Greeter"');
  }
  (match.headers ?? []).forEach((header, i) => {
    const at: PathSegment[] = [...path, 'headers', i];
    if (!header.name || !HEADER_NAME_PATTERN.test(header.name)) list.add([...at, 'name'], 'must be an HTTP header name');
    const kinds = [header.exact, header.prefix, header.present].filter((k) => k !== undefined).length;
    if (kinds === 0) list.add(at, 'needs one of exact, prefix or present');
    if (header.prefix === '') list.add([...at, 'prefix'], 'must not be empty');
  });
}

/** Weights of a split add up to the declared total (100 when unset), and something gets traffic. */
export function checkWeights(list: ErrorList, path: PathSegment[], weights: readonly (number | undefined)[], totalWeight: number | undefined): void {
  const total = totalWeight || DEFAULT_TOTAL_WEIGHT;
  const sum = weights.reduce<number>((acc, w) => acc + (w ?? 0), 0);
  if (sum !== total) {
    const declared = totalWeight ? `totalWeight ${total}` : `${DEFAULT_TOTAL_WEIGHT} (or set totalWeight)`;
    list.add(path, `weights add up to ${sum}, must add up to ${declared}`);
  }
}

/**
 * The parse every kind shares: structural check against the message, then the kind's semantic rules on the
 * normalized value. Structural errors stop there: the semantic rules may assume well-formed fields.
 */
export function parseWith<T>(typeName: string, value: unknown, semantic: (spec: T, list: ErrorList) => void): ParseResult<T> {
  const type: protobuf.Type = configType(typeName);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: [{ path: '', message: `expected a JSON object (${typeName})` }] };
  }
  const structural = structuralErrors(type, value);
  if (structural.length > 0) return { ok: false, errors: structural.map((e) => ({ path: joinPath(e.path), message: e.message })) };
  const spec = normalize(type, value) as T;
  const list = new ErrorList();
  semantic(spec, list);
  return list.errors.length > 0 ? { ok: false, errors: list.errors } : { ok: true, spec };
}
