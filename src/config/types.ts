// The configuration model: proto/etcdxds/v1/config.proto read into plain objects (JSON field names; durations
// as their proto3 JSON text, e.g. "1.5s"), and the one small interface every configuration kind implements.
import type { ConfigError } from './schema.js';

export type LbPolicy = 'LB_POLICY_UNSPECIFIED' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH' | 'RANDOM';

export interface CircuitBreakers {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

export interface OutlierDetection {
  consecutive5xx?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
}

export interface RetryPolicy {
  retryOn?: string;
  numRetries?: number;
  perTryTimeout?: string;
}

export interface SubsetWeight {
  value?: string;
  weight?: number;
}

export interface Subsets {
  key?: string;
  split?: SubsetWeight[];
  totalWeight?: number;
}

export interface ServiceRoute {
  name?: string;
  match?: RouteMatch;
  subset?: string;
  split?: SubsetWeight[];
  totalWeight?: number;
  timeout?: string;
  retry?: RetryPolicy;
}

/** etcdxds.v1.ServicePolicy */
export interface ServicePolicy {
  lbPolicy?: LbPolicy;
  hashHeader?: string;
  connectTimeout?: string;
  circuitBreakers?: CircuitBreakers;
  outlierDetection?: OutlierDetection;
  http2?: boolean;
  requestTimeout?: string;
  retry?: RetryPolicy;
  subsets?: Subsets;
  routes?: ServiceRoute[];
}

export interface GatewayMatch {
  nodeCluster?: string;
  nodeMetadata?: Record<string, string>;
}

export interface GatewayListener {
  name?: string;
  port?: number;
}

export interface HeaderMatch {
  name?: string;
  exact?: string;
  prefix?: string;
  present?: boolean;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  grpcService?: string;
  headers?: HeaderMatch[];
}

export interface WeightedTarget {
  service?: string;
  subset?: string;
  weight?: number;
}

export interface GatewayRoute {
  name?: string;
  match?: RouteMatch;
  service?: string;
  split?: WeightedTarget[];
  totalWeight?: number;
  timeout?: string;
  retry?: RetryPolicy;
  prefixRewrite?: string;
  requestHeadersToAdd?: Record<string, string>;
}

export interface VirtualHost {
  name?: string;
  domains?: string[];
  routes?: GatewayRoute[];
}

/** etcdxds.v1.Gateway */
export interface Gateway {
  match?: GatewayMatch;
  listeners?: GatewayListener[];
  virtualHosts?: VirtualHost[];
  serviceHostRouting?: boolean;
}

export type ConfigKindName = 'ServicePolicy' | 'Gateway';

export type ParseResult<T> = { ok: true; spec: T } | { ok: false; errors: ConfigError[] };

/**
 * One kind of configuration object: where its keys live, and how a value is read and checked. Like grpc-js-xds's
 * resource types, one module per kind implements this; the store and the CLI only go through it.
 */
export interface ConfigKind<T> {
  readonly kind: ConfigKindName;
  /** Key segment after the config prefix: `<config-prefix><segment>/<name>`. */
  readonly segment: string;
  /** The message in proto/etcdxds/v1/config.proto. */
  readonly typeName: string;
  /** Checks the object's name (the last key segment); returns why it is refused, if it is. */
  nameProblem(name: string): string | undefined;
  /** Structural (proto3 JSON) and semantic checks; a value that passes is safe to build Envoy resources from. */
  parse(value: unknown): ParseResult<T>;
}

/** A configuration object that passed validation. */
export interface ConfigObject<T> {
  kind: ConfigKindName;
  name: string;
  key: string;
  spec: T;
  modRevision: string;
}

/** A key whose value was refused. */
export interface ConfigRejection {
  kind: ConfigKindName | undefined;
  name: string;
  key: string;
  /** Every error, each as `path: message`, joined by "; ". */
  reason: string;
  errors: ConfigError[];
  valuePreview: string;
  modRevision: string;
  /** True when the last good value of the key keeps serving. */
  keepsLastGood: boolean;
}

/** An immutable view of every configuration object. */
export interface ConfigView {
  policies: ReadonlyMap<string, ConfigObject<ServicePolicy>>;
  gateways: ReadonlyMap<string, ConfigObject<Gateway>>;
  rejected: ReadonlyMap<string, ConfigRejection>;
  revision: string;
}

/** Which object a put or delete changed, so that only the views it reaches are rebuilt. */
export interface ConfigChange {
  kind: ConfigKindName;
  name: string;
}
