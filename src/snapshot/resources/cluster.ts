// Cluster for one service: type EDS, endpoints over ADS under the service's own name.
import type { Cluster } from '../../generated/envoy/config/cluster/v3/Cluster.js';
import type { HttpProtocolOptions } from '../../generated/envoy/extensions/upstreams/http/v3/HttpProtocolOptions.js';
import type { Instance } from '../../registry/types.js';
import { packAny } from '../encode.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Instances that say they speak gRPC (or h2) make Envoy use HTTP/2 upstream. */
function speaksHttp2(instances: Iterable<Instance>): boolean {
  for (const instance of instances) {
    const protocol = instance.metadata.protocol?.toLowerCase();
    if (protocol === 'grpc' || protocol === 'h2' || protocol === 'http2') return true;
  }
  return false;
}

/** What a service's Cluster is derived from: a change here, and only here, re-encodes the Cluster. */
export interface ClusterOptions {
  http2: boolean;
}

export function clusterOptions(instances: Iterable<Instance>): ClusterOptions {
  return { http2: speaksHttp2(instances) };
}

export function cluster(service: string, options: ClusterOptions): Cluster {
  const message: Cluster = {
    name: service,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: service },
    connect_timeout: { seconds: 5 },
    lb_policy: 'ROUND_ROBIN',
  };
  if (options.http2) {
    message.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny<HttpProtocolOptions>(HTTP_PROTOCOL_OPTIONS, {
        explicit_http_config: { http2_protocol_options: {} },
      }),
    };
  }
  return message;
}
