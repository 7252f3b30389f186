// ServicePolicy (`<config-prefix>services/<service>`): the traffic policy of one registered service. This module
// owns its parse and validation, and says what it contributes: the clusters a service is published as (one per
// subset value besides the service's own) and the route action that sends traffic to it.
import { SERVICE_NAME_RULE, isValidServiceName } from '../registry/parse.js';
import { ErrorList, OBJECT_NAME_PATTERN, OBJECT_NAME_RULE, checkDuration, checkRetry, checkRouteMatch, checkWeights, parseWith } from './rules.js';
import type { ConfigKind, ServicePolicy, ServiceRoute } from './types.js';

export const SERVICE_POLICY_TYPE = 'etcdxds.v1.ServicePolicy';

/** Subset values and metadata keys appear in cluster names (`<svc>~<key>=<value>`): keep them to safe characters. */
export const SUBSET_PART_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const SUBSET_PART_RULE = '1 to 64 characters of A-Z, a-z, 0-9, ".", "_" or "-"';

function checkPolicy(policy: ServicePolicy, list: ErrorList): void {
  checkDuration(list, ['connectTimeout'], policy.connectTimeout, false);
  checkDuration(list, ['requestTimeout'], policy.requestTimeout, true);
  if (policy.hashHeader !== undefined && policy.hashHeader !== '' && policy.lbPolicy !== 'RING_HASH') {
    list.add(['hashHeader'], 'only applies with lbPolicy RING_HASH');
  }
  if (policy.hashHeader && !/^[a-z0-9-]{1,128}$/i.test(policy.hashHeader)) {
    list.add(['hashHeader'], 'must be an HTTP header name (letters, digits and "-")');
  }
  const outlier = policy.outlierDetection;
  if (outlier) {
    checkDuration(list, ['outlierDetection', 'interval'], outlier.interval, false);
    checkDuration(list, ['outlierDetection', 'baseEjectionTime'], outlier.baseEjectionTime, false);
    if (outlier.maxEjectionPercent !== undefined && outlier.maxEjectionPercent > 100) {
      list.add(['outlierDetection', 'maxEjectionPercent'], `must be from 0 to 100, got ${outlier.maxEjectionPercent}`);
    }
    if (outlier.consecutive5xx === 0) list.add(['outlierDetection', 'consecutive5xx'], 'must be ≥ 1');
  }
  checkRetry(list, ['retry'], policy.retry);
  const subsets = policy.subsets;
  if (subsets) {
    if (!subsets.key) list.add(['subsets', 'key'], 'is required: the registration metadata key, e.g. "version"');
    else if (!SUBSET_PART_PATTERN.test(subsets.key)) list.add(['subsets', 'key'], `must be ${SUBSET_PART_RULE}`);
    const split = subsets.split ?? [];
    if (split.length === 0) list.add(['subsets', 'split'], 'is required: at least one {value, weight}');
    const seen = new Set<string>();
    split.forEach((entry, i) => {
      if (!entry.value) list.add(['subsets', 'split', i, 'value'], 'must not be empty');
      else if (!SUBSET_PART_PATTERN.test(entry.value)) list.add(['subsets', 'split', i, 'value'], `must be ${SUBSET_PART_RULE}`);
      else if (seen.has(entry.value)) list.add(['subsets', 'split', i, 'value'], `${JSON.stringify(entry.value)} is listed twice`);
      if (entry.value) seen.add(entry.value);
    });
    if (split.length > 0) checkWeights(list, ['subsets', 'split'], split.map((s) => s.weight), subsets.totalWeight);
  }
  const values = new Set((policy.subsets?.split ?? []).map((s) => s.value));
  const names = new Set<string>();
  (policy.routes ?? []).forEach((route, i) => checkServiceRoute(list, ['routes', i], route, values, names));
}

function checkServiceRoute(list: ErrorList, path: (string | number)[], route: ServiceRoute, values: Set<string | undefined>, names: Set<string>): void {
  if (route.name !== undefined) {
    if (!OBJECT_NAME_PATTERN.test(route.name)) list.add([...path, 'name'], `must be ${OBJECT_NAME_RULE}`);
    else if (names.has(route.name)) list.add([...path, 'name'], `route ${JSON.stringify(route.name)} is defined twice`);
    names.add(route.name);
  }
  checkRouteMatch(list, [...path, 'match'], route.match ?? {}, false);
  const hasSplit = (route.split ?? []).length > 0;
  if (route.subset !== undefined && hasSplit) list.add(path, 'give subset or split, not both');
  const known = (value: string | undefined, at: (string | number)[]): void => {
    if (!values.has(value)) list.add(at, `${JSON.stringify(value ?? '')} is not a value of subsets.split`);
  };
  if (route.subset !== undefined) known(route.subset, [...path, 'subset']);
  if (hasSplit) {
    route.split!.forEach((entry, i) => known(entry.value, [...path, 'split', i, 'value']));
    checkWeights(list, [...path, 'split'], route.split!.map((s) => s.weight), route.totalWeight);
  } else if (route.totalWeight) list.add([...path, 'totalWeight'], 'only applies with split');
  checkDuration(list, [...path, 'timeout'], route.timeout, true);
  checkRetry(list, [...path, 'retry'], route.retry);
}

export const SERVICE_POLICY_KIND: ConfigKind<ServicePolicy> = {
  kind: 'ServicePolicy',
  segment: 'services',
  typeName: SERVICE_POLICY_TYPE,
  nameProblem: (name) => (isValidServiceName(name) ? undefined : `service name must be ${SERVICE_NAME_RULE}`),
  parse: (value) => parseWith<ServicePolicy>(SERVICE_POLICY_TYPE, value, checkPolicy),
};

/** Name of the cluster (and assignment) of one subset: `<service>~<key>=<value>`. */
export function subsetClusterName(service: string, key: string, value: string): string {
  return `${service}~${key}=${value}`;
}

/** The service a cluster (or assignment) name belongs to: its own, or one of its subsets'. */
export function serviceOfClusterName(name: string): string {
  const subset = name.indexOf('~');
  return subset < 0 ? name : name.slice(0, subset);
}

/** The subset values a policy publishes, in the order of its split; empty without subsets. */
export function subsetValues(policy: ServicePolicy | undefined): string[] {
  return (policy?.subsets?.split ?? []).map((s) => s.value!);
}

/** How a service's traffic is divided: one cluster, or weighted subset clusters. */
export type TrafficTarget = { cluster: string } | { weighted: { cluster: string; weight: number }[] };

/**
 * Where a route to `service` sends traffic under its policy: the service's own cluster, or its subset split.
 * Subsets with weight 0 keep their cluster but are left out of the route (a split of one is a plain cluster).
 */
export function serviceTarget(service: string, policy: ServicePolicy | undefined): TrafficTarget {
  const subsets = policy?.subsets;
  if (!subsets?.key || !subsets.split) return { cluster: service };
  const weighted = subsets.split
    .filter((s) => (s.weight ?? 0) > 0)
    .map((s) => ({ cluster: subsetClusterName(service, subsets.key!, s.value!), weight: s.weight! }));
  if (weighted.length === 1) return { cluster: weighted[0]!.cluster };
  return weighted.length === 0 ? { cluster: service } : { weighted };
}

/** Where one of the policy's own routes sends traffic: a subset, a split between subsets, or the service's split. */
export function serviceRouteTarget(service: string, policy: ServicePolicy, route: ServiceRoute): TrafficTarget {
  const key = policy.subsets?.key;
  if (!key) return serviceTarget(service, policy);
  if (route.subset !== undefined) return { cluster: subsetClusterName(service, key, route.subset) };
  if (!route.split?.length) return serviceTarget(service, policy);
  const weighted = route.split
    .filter((s) => (s.weight ?? 0) > 0)
    .map((s) => ({ cluster: subsetClusterName(service, key, s.value!), weight: s.weight! }));
  return weighted.length === 1 ? { cluster: weighted[0]!.cluster } : { weighted };
}
