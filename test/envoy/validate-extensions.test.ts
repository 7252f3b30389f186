// Configs that name extension types outside ENVOY_PROTO_FILES (tcp_proxy, tls_inspector, cors, grpc_web,
// TypedStruct) validate as strictly as the core types, and YAML-specific values (integers parsed as BigInt,
// names that are Object.prototype properties) are judged like any other.
import { describe, expect, it } from 'vitest';
import { envoyType, findEnvoyType, loadEnvoyType } from '../../src/protos/envoy-protos.js';
import { encodeResource } from '../../src/snapshot/encode.js';
import { validateEnvoyYaml, type ValidationError } from '../../src/envoy/validate.js';

const EXTENSIONS_BOOTSTRAP = `
node: { id: edge-1, cluster: edge }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 9901 } }
static_resources:
  listeners:
    - name: tls_passthrough
      address: { socket_address: { address: 0.0.0.0, port_value: 8443 } }
      listener_filters:
        - name: envoy.filters.listener.tls_inspector
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
      filter_chains:
        - filter_chain_match: { server_names: [db.example.com] }
          filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: db_passthrough
                cluster: database
                idle_timeout: 300s
                max_connect_attempts: 3
    - name: web
      address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: web
                route_config:
                  name: web_routes
                  virtual_hosts:
                    - name: web
                      domains: ["*"]
                      typed_per_filter_config:
                        envoy.filters.http.cors:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                          allow_origin_string_match: [{ exact: https://app.example.com }]
                          allow_methods: GET, POST
                          max_age: "600"
                      routes:
                        - match: { prefix: / }
                          route: { cluster: grpc_backend, timeout: 0s }
                http_filters:
                  - name: envoy.filters.http.grpc_web
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb
                  - name: envoy.filters.http.cors
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
                  - name: acme.filters.http.audit
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/acme.audit.v1.Audit
                      value: { sink: audit-cluster, sample_rate: 0.25 }
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: database
      type: STRICT_DNS
      connect_timeout: 1s
      load_assignment:
        cluster_name: database
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: db, port_value: 5432 } } } }] }]
    - name: grpc_backend
      type: STRICT_DNS
      connect_timeout: 1s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }
      load_assignment:
        cluster_name: grpc_backend
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: backend, port_value: 50051 } } } }] }]
`;

const TCP_PROXY_PATH = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

function messages(errors: ValidationError[]): string[] {
  return errors.map((error) => `${error.path}: ${error.message}`);
}

describe('extension types outside ENVOY_PROTO_FILES', () => {
  it('accepts a bootstrap using tcp_proxy, tls_inspector, cors, grpc_web and a TypedStruct', () => {
    expect(messages(validateEnvoyYaml(EXTENSIONS_BOOTSTRAP))).toEqual([]);
  });

  it('still reports a misspelt field inside a tcp_proxy typed_config, at its path and line', () => {
    const text = EXTENSIONS_BOOTSTRAP.replace('idle_timeout: 300s', 'idle_timout: 300s');
    const line = text.split('\n').findIndex((l) => l.includes('idle_timout')) + 1;
    expect(validateEnvoyYaml(text)).toEqual([
      {
        path: `${TCP_PROXY_PATH}.idle_timout`,
        message: 'unknown field "idle_timout" in envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy (did you mean "idle_timeout"?)',
        line,
      },
    ]);
  });

  it('applies the rules of an extension type (tcp_proxy stat_prefix is required, max_connect_attempts >= 1)', () => {
    const text = EXTENSIONS_BOOTSTRAP.replace('stat_prefix: db_passthrough', 'stat_prefix: ""').replace('max_connect_attempts: 3', 'max_connect_attempts: 0');
    expect(messages(validateEnvoyYaml(text))).toEqual([
      `${TCP_PROXY_PATH}.stat_prefix: value length must be at least 1 characters`,
      `${TCP_PROXY_PATH}.max_connect_attempts: value must be greater than or equal to 1`,
    ]);
  });

  it('reports an "@type" that no shipped .proto defines, with the reason', () => {
    const unknownPackage = EXTENSIONS_BOOTSTRAP.replace(
      'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb',
      'type.googleapis.com/envoy.extensions.nope.v3.Nope',
    );
    const unknownMessage = EXTENSIONS_BOOTSTRAP.replace('tcp_proxy.v3.TcpProxy', 'tcp_proxy.v3.TcpProxi');
    const grpcWebType = 'static_resources.listeners[1].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.@type';
    expect(messages(validateEnvoyYaml(unknownPackage))).toEqual([
      `${grpcWebType}: unknown message type "envoy.extensions.nope.v3.Nope": no package envoy.extensions.nope.v3 in the Envoy, xds or googleapis protos shipped with @grpc/grpc-js-xds`,
    ]);
    expect(messages(validateEnvoyYaml(unknownMessage))).toEqual([
      `${TCP_PROXY_PATH}.@type: unknown message type "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxi": package envoy.extensions.filters.network.tcp_proxy.v3 has no message TcpProxi`,
    ]);
  });

  it('loads the loadable files of a package whose other files import protos that are not shipped', () => {
    // envoy/config/trace/v3 holds zipkin.proto (loadable) and opencensus.proto (imports opencensus protos).
    expect(loadEnvoyType('envoy.config.trace.v3.ZipkinConfig')?.fullName).toBe('.envoy.config.trace.v3.ZipkinConfig');
    const openCensus = findEnvoyType('envoy.config.trace.v3.OpenCensusConfig');
    expect(openCensus).toEqual({ missing: expect.stringMatching(/opencensus\.proto cannot be loaded .*trace_config\.proto/) });
    expect(loadEnvoyType('envoy.config.trace.v3.OpenCensusConfig')).toBeUndefined();
  });

  it('leaves the shared root whole for encoding after extension packages are loaded', () => {
    expect(loadEnvoyType('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy')).toBeDefined();
    expect(loadEnvoyType('envoy.config.trace.v3.ZipkinConfig')).toBeDefined();
    const cluster = { name: 'hello-http', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 } };
    const encoded = encodeResource('type.googleapis.com/envoy.config.cluster.v3.Cluster', 'hello-http', cluster);
    const type = envoyType('envoy.config.cluster.v3.Cluster');
    expect(type.toObject(type.decode(encoded.body), { enums: String, longs: Number })).toMatchObject({ name: 'hello-http', type: 'EDS' });
  });
});

describe('YAML-specific values', () => {
  it('checks repeated.unique over integers (parsed as BigInt) without crashing', () => {
    const buckets = (list: string): string =>
      `stats_config: { histogram_bucket_settings: [ { match: { prefix: cluster. }, buckets: ${list} } ] }\n`;
    expect(validateEnvoyYaml(buckets('[0.5, 1, 5, 10, 25, 100]'))).toEqual([]);
    // 1 (an integer, BigInt) and 1.0 (a float) are the same double.
    expect(messages(validateEnvoyYaml(buckets('[0.5, 1, 1.0, 100]')))).toEqual([
      'stats_config.histogram_bucket_settings[0].buckets: repeated value must contain unique items',
    ]);
  });

  it('refuses enum names that are Object.prototype properties', () => {
    const cluster = (lbPolicy: string, healthStatus: string): string =>
      `static_resources:\n  clusters:\n    - name: c\n      connect_timeout: 1s\n      lb_policy: ${lbPolicy}\n` +
      '      load_assignment:\n        cluster_name: c\n' +
      `        endpoints: [{ lb_endpoints: [{ health_status: ${healthStatus}, endpoint: { address: { socket_address: { address: a, port_value: 1 } } } }] }]\n`;
    const lbPolicyPath = 'static_resources.clusters[0].lb_policy';
    const healthPath = 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].health_status';
    expect(validateEnvoyYaml(cluster('ROUND_ROBIN', 'HEALTHY'))).toEqual([]);
    for (const name of ['toString', '__proto__', 'hasOwnProperty']) {
      const errors = validateEnvoyYaml(cluster('constructor', name));
      expect(errors.map((error) => error.path)).toEqual([lbPolicyPath, healthPath]);
      expect(errors[0]!.message).toMatch(/^invalid enum value "constructor" for envoy\.config\.cluster\.v3\.Cluster\.LbPolicy: one of ROUND_ROBIN/);
      expect(errors[1]!.message).toBe(
        `invalid enum value "${name}" for envoy.config.core.v3.HealthStatus: one of UNKNOWN, HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED`,
      );
    }
  });
});
