// Subsets of a service by one registration metadata key: per value, one Cluster and one ClusterLoadAssignment named
// `<service>~<key>=<value>`, the assignment holding only the instances whose metadata[key] equals the value. Routes
// split traffic between these clusters with weighted_clusters, which Envoy and proxyless gRPC clients both honour
// (gRPC clients have no subset load balancer, so Envoy's lb_subset_config would not reach them).
//
// The name stays inside what both clients accept: Envoy resource names are free-form strings, and grpc-js-xds uses
// the cluster name as an opaque map key (it parses only `xdstp://` names). `~` and `=` never occur in a service
// name ([A-Za-z0-9._-]), so a subset cluster cannot collide with a service's own cluster.
import type { Cluster } from '../../generated/envoy/config/cluster/v3/Cluster.js';
import type { ClusterLoadAssignment } from '../../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import { subsetClusterName } from '../../config/service-policy.js';
import type { ServicePolicy } from '../../config/types.js';
import type { Instance } from '../../registry/types.js';
import { policyCluster } from './cluster-policy.js';
import { clusterLoadAssignment, type HealthVerdict } from './endpoint.js';

export interface SubsetResources {
  name: string;
  value: string;
  cluster: Cluster;
  assignment: ClusterLoadAssignment;
}

/** The instances of one subset. */
export function subsetInstances(instances: Iterable<Instance>, key: string, value: string): Instance[] {
  return [...instances].filter((instance) => Object.hasOwn(instance.metadata, key) && instance.metadata[key] === value);
}

/**
 * One Cluster + ClusterLoadAssignment per subset value: the policy's own values, then any `extraValues` a gateway
 * route names. A value without instances gets an empty assignment, so clients stop calling it rather than fail to
 * find the cluster.
 */
export function subsetResources(
  service: string,
  instances: readonly Instance[],
  policy: ServicePolicy | undefined,
  verdictOf: (key: string) => HealthVerdict | undefined,
  extraValues: Iterable<string> = [],
): SubsetResources[] {
  const key = policy?.subsets?.key;
  if (!key) return [];
  const values = [...new Set([...(policy.subsets?.split ?? []).map((s) => s.value!), ...extraValues])];
  return values.map((value) => {
    const name = subsetClusterName(service, key, value);
    const members = subsetInstances(instances, key, value);
    // HTTP/2 is decided over all the service's instances: an empty subset speaks what the service speaks.
    return { name, value, cluster: policyCluster(name, instances, policy), assignment: clusterLoadAssignment(name, members, verdictOf) };
  });
}
