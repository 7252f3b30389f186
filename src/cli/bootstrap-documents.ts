// The bootstrap a client needs to reach etcd-xds, for one node: the gRPC xDS bootstrap (GRPC_XDS_BOOTSTRAP) that
// grpc-js-xds and gRPC C-core read, and an Envoy bootstrap that takes listeners, routes, clusters and endpoints over
// ADS. `etcd-xds bootstrap` prints them; the demo writes one for its client.
import net from 'node:net';

export interface BootstrapLocality {
  region?: string;
  zone?: string;
  subZone?: string;
}

/** TLS towards the xDS server: the CA that signed its certificate, and a client certificate for mTLS. */
export interface BootstrapTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export interface BootstrapNode {
  /** `host:port` of the xDS server (etcd-xds serve --xds-address). */
  xdsServer: string;
  nodeId: string;
  nodeCluster: string;
  locality?: BootstrapLocality;
  tls?: BootstrapTls;
}

export interface EnvoyBootstrapNode extends BootstrapNode {
  adminPort: number;
  /** The address Envoy's admin binds; default 127.0.0.1 (0.0.0.0 only where the port is published on purpose). */
  adminHost?: string;
  /** The HTTP listener port etcd-xds gives this Envoy (node metadata `etcd-xds.listener-port`). */
  listenerPort?: number;
  /** The services this Envoy calls; it then receives only those (node metadata `etcd-xds.depends-on`). */
  dependsOn?: string[];
}

/** Node metadata keys read by the control plane's Envoy configuration. */
export const LISTENER_PORT_METADATA = 'etcd-xds.listener-port';
export const DEPENDS_ON_METADATA = 'etcd-xds.depends-on';
/** The cluster an Envoy bootstrap names for the xDS server. */
export const XDS_CLUSTER_NAME = 'xds_cluster';

/** `region/zone/subzone`, trailing parts optional: `eu-west-1`, `eu-west-1/eu-west-1a`, `eu-west-1/eu-west-1a/rack1`. */
export function parseLocality(text: string): BootstrapLocality {
  const parts = text.split('/');
  if (parts.length > 3 || parts.some((part) => part.trim() !== part)) {
    throw new Error(`expected region/zone/subzone (e.g. eu-west-1/eu-west-1a/rack1), got '${text}'`);
  }
  const [region, zone, subZone] = parts;
  return { ...(region && { region }), ...(zone && { zone }), ...(subZone && { subZone }) };
}

/** Splits `host:port` / `[v6]:port`. */
export function splitHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) throw new Error(`expected HOST:PORT with a port 1-65535 (e.g. 127.0.0.1:18000), got '${address}'`);
  return { host: match[1] ?? match[2]!, port };
}

function localityFields(locality: BootstrapLocality | undefined): Record<string, string> {
  return {
    ...(locality?.region && { region: locality.region }),
    ...(locality?.zone && { zone: locality.zone }),
    ...(locality?.subZone && { sub_zone: locality.subZone }),
  };
}

/**
 * The gRPC xDS bootstrap. `node.locality` is always present: grpc-js-xds fails obscurely without it (XDS-NOTES.md).
 * With TLS the server entry lists "tls" channel credentials (gRFC A65: C-core reads them; grpc-js-xds 1.14 knows
 * only insecure and google_default, so it cannot reach a TLS xDS server).
 */
export function grpcBootstrap(node: BootstrapNode): Record<string, unknown> {
  splitHostPort(node.xdsServer);
  const channelCreds = node.tls
    ? [
        {
          type: 'tls',
          config: {
            ca_certificate_file: node.tls.caFile,
            ...(node.tls.certFile && { certificate_file: node.tls.certFile }),
            ...(node.tls.keyFile && { private_key_file: node.tls.keyFile }),
          },
        },
      ]
    : [{ type: 'insecure' }];
  return {
    xds_servers: [{ server_uri: node.xdsServer, channel_creds: channelCreds, server_features: ['xds_v3'] }],
    node: { id: node.nodeId, cluster: node.nodeCluster, locality: localityFields(node.locality) },
  };
}

const ADS = { ads: {}, resource_api_version: 'V3' };

/** An Envoy bootstrap: admin (on loopback by default), everything else (LDS, RDS, CDS, EDS) over ADS from etcd-xds. */
export function envoyBootstrap(node: EnvoyBootstrapNode): Record<string, unknown> {
  const { host, port } = splitHostPort(node.xdsServer);
  const metadata: Record<string, unknown> = {
    ...(node.listenerPort !== undefined && { [LISTENER_PORT_METADATA]: node.listenerPort }),
    ...(node.dependsOn !== undefined && { [DEPENDS_ON_METADATA]: node.dependsOn }),
  };
  const locality = localityFields(node.locality);
  const xdsCluster: Record<string, unknown> = {
    name: XDS_CLUSTER_NAME,
    // An IP needs no resolver; a name is resolved and re-resolved (a Kubernetes service, a compose service).
    type: net.isIP(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    // Every address the name resolves to is a host, re-resolved every 5 s: replicas behind one name (a Kubernetes
    // headless service, a compose network alias) each get a share of the streams, and a lost one is noticed soon.
    ...(!net.isIP(host) && { dns_lookup_family: 'V4_PREFERRED', dns_refresh_rate: '5s' }),
    // xDS is gRPC: HTTP/2 to the server, with keep-alive so a silently dropped connection is noticed.
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: '30s', timeout: '5s' } } },
      },
    },
    upstream_connection_options: { tcp_keepalive: { keepalive_time: 60, keepalive_interval: 10, keepalive_probes: 3 } },
    load_assignment: {
      cluster_name: XDS_CLUSTER_NAME,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
    },
  };
  if (node.tls) {
    xdsCluster.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        ...(!net.isIP(host) && { sni: host }),
        common_tls_context: {
          validation_context: { trusted_ca: { filename: node.tls.caFile } },
          ...(node.tls.certFile &&
            node.tls.keyFile && {
              tls_certificates: [{ certificate_chain: { filename: node.tls.certFile }, private_key: { filename: node.tls.keyFile } }],
            }),
        },
      },
    };
  }
  return {
    node: {
      id: node.nodeId,
      cluster: node.nodeCluster,
      ...(Object.keys(locality).length > 0 && { locality }),
      ...(Object.keys(metadata).length > 0 && { metadata }),
    },
    admin: { address: { socket_address: { address: node.adminHost ?? '127.0.0.1', port_value: node.adminPort } } },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        // The node is sent once per stream; etcd-xds keeps it in the stream state.
        set_node_on_first_message_only: true,
        // Bounds the requests Envoy sends on a flapping stream (token bucket).
        rate_limit_settings: { max_tokens: 100, fill_rate: 10 },
        // Reconnect quickly after a control-plane restart, backing off up to 5 s while it is down.
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER_NAME, retry_policy: { retry_back_off: { base_interval: '0.25s', max_interval: '5s' } } } }],
      },
      lds_config: ADS,
      cds_config: ADS,
    },
    static_resources: { clusters: [xdsCluster] },
  };
}
