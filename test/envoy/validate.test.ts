// The strict Envoy config check: a valid bootstrap passes, and each kind of mistake Envoy refuses at load time
// is reported at the path of the offending value.
import { describe, expect, it } from 'vitest';
import { validateEnvoyMessage, validateEnvoyYaml, type ValidationError } from '../../src/envoy/validate.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function validBootstrap(): Record<string, unknown> {
  return {
    node: { id: 'n1', cluster: 'c1' },
    admin: { address: { socket_address: { address: '0.0.0.0', port_value: 9901 } } },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      listeners: [
        {
          name: 'ingress',
          address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': HCM,
                    stat_prefix: 'ingress',
                    route_config: {
                      name: 'routes',
                      virtual_hosts: [
                        { name: 'all', domains: ['*'], routes: [{ match: { prefix: '/hello' }, route: { cluster: 'hello-http' } }] },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'xds_cluster',
          type: 'STRICT_DNS',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'xds_cluster',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'etcd-xds', port_value: 18000 } } } }] }],
          },
        },
      ],
    },
  };
}

const DELETE = Symbol('delete');
type Container = Record<string | number, unknown>;

/** Dotted path to segments: 'a.clusters.0.name' → ['a', 'clusters', 0, 'name']. */
function segments(path: string): (string | number)[] {
  return path.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** The value at a dotted path of a fresh valid bootstrap. */
function valueAt(path: string): unknown {
  return segments(path).reduce<unknown>((node, part) => (node as Container)[part], validBootstrap());
}

/** A copy of the valid bootstrap with values set (or deleted) at dotted paths. */
function broken(...changes: [path: string, value: unknown][]): Record<string, unknown> {
  const config = validBootstrap();
  for (const [path, value] of changes) {
    const parts = segments(path);
    const parent = parts.slice(0, -1).reduce<unknown>((node, part) => (node as Container)[part], config) as Container;
    const last = parts.at(-1)!;
    if (value === DELETE) delete parent[last];
    else parent[last] = value;
  }
  return config;
}

const CLUSTER = 'static_resources.clusters[0]';
const HCM_PATH = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
// The same places as dotted paths for broken().
const C = 'static_resources.clusters.0';
const H = 'static_resources.listeners.0.filter_chains.0.filters.0.typed_config';
const VH = `${H}.route_config.virtual_hosts.0`;

function expectOnlyError(errors: ValidationError[], path: string, message: RegExp): void {
  expect(errors, JSON.stringify(errors)).toHaveLength(1);
  expect(errors[0]!.path).toBe(path);
  expect(errors[0]!.message).toMatch(message);
}

describe('validateEnvoyMessage on a bootstrap', () => {
  it('accepts the valid bootstrap', () => {
    expect(validateEnvoyMessage(BOOTSTRAP, validBootstrap())).toEqual([]);
  });

  it('reports an unknown field at its path', () => {
    const errors = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.bogus_field`, 1]));
    expectOnlyError(errors, `${CLUSTER}.bogus_field`, /unknown field "bogus_field" in envoy\.config\.cluster\.v3\.Cluster/);
  });

  it('suggests the right name for a misspelt field', () => {
    const errors = validateEnvoyMessage(
      BOOTSTRAP,
      broken([`${C}.conect_timeout`, '1s'], [`${C}.connect_timeout`, DELETE]),
    );
    expectOnlyError(errors, `${CLUSTER}.conect_timeout`, /did you mean "connect_timeout"/);
  });

  it('reports an enum name that does not exist', () => {
    const errors = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.type`, 'STRICTDNS']));
    expectOnlyError(errors, `${CLUSTER}.type`, /invalid enum value "STRICTDNS".*STRICT_DNS/);
  });

  it('reports a port that is not a number, and one out of range', () => {
    const port = 'admin.address.socket_address.port_value';
    const abc = validateEnvoyMessage(BOOTSTRAP, broken(['admin.address.socket_address.port_value', 'abc']));
    expectOnlyError(abc, port, /expected an integer \(uint32\), got the string "abc"/);
    const high = validateEnvoyMessage(BOOTSTRAP, broken(['admin.address.socket_address.port_value', 70000]));
    expectOnlyError(high, port, /less than or equal to 65535/);
    const negative = validateEnvoyMessage(BOOTSTRAP, broken(['admin.address.socket_address.port_value', -1]));
    expectOnlyError(negative, port, /out of range for uint32/);
  });

  it('reports two members of one oneof', () => {
    const configSource = validateEnvoyMessage(BOOTSTRAP, broken(['dynamic_resources.cds_config.path', '/etc/cds.yaml']));
    expectOnlyError(configSource, 'dynamic_resources.cds_config.path', /conflicts with "ads".*oneof "config_source_specifier"/);
    const address = validateEnvoyMessage(BOOTSTRAP, broken(['admin.address.pipe', { path: '/tmp/admin.sock' }]));
    expectOnlyError(address, 'admin.address.pipe', /conflicts with "socket_address".*oneof "address"/);
  });

  it('reports a required oneof left empty, with null meaning unset', () => {
    const errors = validateEnvoyMessage(BOOTSTRAP, broken(['dynamic_resources.cds_config.ads', null]));
    expectOnlyError(errors, 'dynamic_resources.cds_config', /one of .*"ads".* is required \(oneof "config_source_specifier"\)/);
  });

  it('reports a duration not in the "1.5s" form, and one the rules refuse', () => {
    const words = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.connect_timeout`, '5 seconds']));
    expectOnlyError(words, `${CLUSTER}.connect_timeout`, /expected a duration like "1\.5s", got "5 seconds"/);
    const bare = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.connect_timeout`, 5]));
    expectOnlyError(bare, `${CLUSTER}.connect_timeout`, /expected a duration/);
    const zero = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.connect_timeout`, '0s']));
    expectOnlyError(zero, `${CLUSTER}.connect_timeout`, /greater than 0s/);
  });

  it('reports an Any whose type no shipped .proto defines', () => {
    const errors = validateEnvoyMessage(
      BOOTSTRAP,
      broken([`${H}.@type`, 'type.googleapis.com/acme.filters.v1.Unknown']),
    );
    expectOnlyError(errors, `${HCM_PATH}.@type`, /unknown message type "acme\.filters\.v1\.Unknown": no package acme\.filters\.v1 in the Envoy, xds or googleapis protos/);
  });

  it('reports an Any without @type', () => {
    const errors = validateEnvoyMessage(
      BOOTSTRAP,
      broken([`${H}.@type`, DELETE]),
    );
    expectOnlyError(errors, HCM_PATH, /missing "@type"/);
  });

  it('validates the payload of an Any against its type', () => {
    const errors = validateEnvoyMessage(
      BOOTSTRAP,
      broken([`${H}.codec_type`, 'HTTP9']),
    );
    expectOnlyError(errors, `${HCM_PATH}.codec_type`, /invalid enum value "HTTP9"/);
  });

  it('applies protoc-gen-validate rules: required message, string min_len, also when the field is unset', () => {
    const emptyName = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.name`, '']));
    expectOnlyError(emptyName, `${CLUSTER}.name`, /at least 1 characters/);
    const noName = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.name`, DELETE]));
    expectOnlyError(noName, `${CLUSTER}.name`, /at least 1 characters \(field is not set\)/);
    const noMatch = validateEnvoyMessage(
      BOOTSTRAP,
      broken([`${VH}.routes.0.match`, DELETE]),
    );
    expectOnlyError(noMatch, `${HCM_PATH}.route_config.virtual_hosts[0].routes[0].match`, /value is required/);
    const noDomains = validateEnvoyMessage(
      BOOTSTRAP,
      broken([`${VH}.domains`, []]),
    );
    expectOnlyError(noDomains, `${HCM_PATH}.route_config.virtual_hosts[0].domains`, /at least 1 item/);
  });

  it('reports a string where a message is expected', () => {
    const errors = validateEnvoyMessage(BOOTSTRAP, broken([`${C}.load_assignment`, 'etcd-xds:18000']));
    expectOnlyError(errors, `${CLUSTER}.load_assignment`, /expected an object \(envoy\.config\.endpoint\.v3\.ClusterLoadAssignment\), got the string/);
  });

  it('reports a single value where a list is expected', () => {
    const errors = validateEnvoyMessage(
      BOOTSTRAP,
      broken([`${VH}.domains`, '*']),
    );
    expectOnlyError(errors, `${HCM_PATH}.route_config.virtual_hosts[0].domains`, /expected a list \(repeated string\)/);
    const clusters = validateEnvoyMessage(BOOTSTRAP, broken(['static_resources.clusters', valueAt(C)]));
    expectOnlyError(clusters, 'static_resources.clusters', /expected a list \(repeated envoy\.config\.cluster\.v3\.Cluster\), got an object/);
  });

  it('reports the same field given under its proto and its JSON name', () => {
    const errors = validateEnvoyMessage(BOOTSTRAP, broken(['node.userAgentName', 'x'], ['node.user_agent_name', 'y']));
    expectOnlyError(errors, 'node.user_agent_name', /given twice/);
  });
});

describe('proto3 JSON forms', () => {
  it('accepts lowerCamel field names, enum numbers and integers as strings', () => {
    const config = {
      staticResources: {
        clusters: [{ name: 'a', type: 1, connectTimeout: '0.25s', perConnectionBufferLimitBytes: '32768', lbPolicy: 'LEAST_REQUEST' }],
      },
    };
    expect(validateEnvoyMessage(BOOTSTRAP, config)).toEqual([]);
  });

  it('checks enum numbers against defined_only', () => {
    const errors = validateEnvoyMessage(BOOTSTRAP, { static_resources: { clusters: [{ name: 'a', type: 99 }] } });
    expectOnlyError(errors, 'static_resources.clusters[0].type', /defined enum values of DiscoveryType/);
  });

  it('takes wrappers as bare values and refuses the object form', () => {
    const type = 'envoy.config.cluster.v3.Cluster';
    expect(validateEnvoyMessage(type, { name: 'a', per_connection_buffer_limit_bytes: 1024 })).toEqual([]);
    expectOnlyError(
      validateEnvoyMessage(type, { name: 'a', per_connection_buffer_limit_bytes: { value: 1024 } }),
      'per_connection_buffer_limit_bytes',
      /bare value/,
    );
  });

  it('applies range rules to wrapped values (load_balancing_weight >= 1)', () => {
    const assignment = {
      cluster_name: 'hello-http',
      endpoints: [
        {
          locality: {},
          load_balancing_weight: 1,
          lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.5', port_value: 8080 } } }, load_balancing_weight: 0 }],
        },
      ],
    };
    const errors = validateEnvoyMessage('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', assignment);
    expectOnlyError(errors, 'endpoints[0].lb_endpoints[0].load_balancing_weight', /greater than or equal to 1/);
  });

  it('accepts any JSON in Struct fields and checks map keys', () => {
    const node = { id: 'n', metadata: { list: [1, 'two', { three: null }], flag: true } };
    expect(validateEnvoyMessage(BOOTSTRAP, { node })).toEqual([]);
    expectOnlyError(validateEnvoyMessage(BOOTSTRAP, { node: { id: 'n', metadata: 'x' } }), 'node.metadata', /Struct/);
    const keyErrors = validateEnvoyMessage('envoy.config.core.v3.Metadata', { filter_metadata: { '': {} } });
    expectOnlyError(keyErrors, 'filter_metadata[""]', /map key: value length must be at least 1/);
  });

  it('reads doubles in every proto3 JSON form and 64-bit integers beyond 2^53 as strings', () => {
    const type = 'envoy.config.core.v3.RateLimitSettings';
    expect(validateEnvoyMessage(type, { fill_rate: '2.5' })).toEqual([]);
    expectOnlyError(validateEnvoyMessage(type, { fill_rate: 0 }), 'fill_rate', /greater than 0/);
    expectOnlyError(validateEnvoyMessage(type, { fill_rate: 'fast' }), 'fill_rate', /expected a number/);
    const bytes = 'envoy.config.cluster.v3.Cluster.RingHashLbConfig';
    expect(validateEnvoyMessage(bytes, { minimum_ring_size: '1024' })).toEqual([]);
    expectOnlyError(validateEnvoyMessage(bytes, { minimum_ring_size: '18446744073709551616' }), 'minimum_ring_size', /out of range for uint64/);
  });

  it('treats lte below gte as "outside the range", as protoc-gen-validate does', () => {
    const type = 'envoy.config.core.v3.QuicKeepAliveSettings';
    expect(validateEnvoyMessage(type, { max_interval: '0s' })).toEqual([]);
    expect(validateEnvoyMessage(type, { max_interval: '2s' })).toEqual([]);
    expectOnlyError(validateEnvoyMessage(type, { max_interval: '0.5s' }), 'max_interval', /outside range/);
  });

  it('validates an Any of a well-known type through its "value"', () => {
    const extension = 'envoy.config.core.v3.TypedExtensionConfig';
    const duration = 'type.googleapis.com/google.protobuf.Duration';
    expect(validateEnvoyMessage(extension, { name: 'x', typed_config: { '@type': duration, value: '1s' } })).toEqual([]);
    expectOnlyError(
      validateEnvoyMessage(extension, { name: 'x', typed_config: { '@type': duration, value: 'soon' } }),
      'typed_config.value',
      /expected a duration/,
    );
  });

  it('refuses an unknown message type name', () => {
    expect(() => validateEnvoyMessage('envoy.config.nothing.v3.Nope', {})).toThrow(/unknown message type/);
  });
});

describe('validateEnvoyYaml', () => {
  it('reports YAML syntax errors with their line', () => {
    const errors = validateEnvoyYaml('admin:\n  address: [\n');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.path).toBe('');
    expect(errors[0]!.message).toMatch(/^YAML syntax error/);
    expect(errors[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('reports duplicate keys (Envoy refuses them too)', () => {
    const errors = validateEnvoyYaml('node:\n  id: a\n  id: b\n');
    expect(errors[0]!.message).toMatch(/YAML syntax error: Map keys must be unique/);
  });

  it('points a misspelt key with a block value at the key, not the line below', () => {
    const errors = validateEnvoyYaml('node:\n  id: x\nstatc_resources:\n  listeners: []\n');
    expect(errors.map((e) => [e.path, e.line])).toEqual([['statc_resources', 3]]);
  });

  it('points errors at the line of the offending value', () => {
    const text = ['node:', '  id: n1', 'admin:', '  address:', '    socket_address:', '      address: 0.0.0.0', '      port_value: 70000', ''].join('\n');
    const errors = validateEnvoyYaml(text);
    expect(errors).toEqual([{ path: 'admin.address.socket_address.port_value', message: 'value must be less than or equal to 65535', line: 7 }]);
  });

  it('validates other message types when asked', () => {
    const text = 'cluster_name: hello-http\nendpoints:\n  - lb_endpoints:\n      - endpoint: { address: { socket_address: { address: 10.0.0.5, port_value: 8080 } } }\n';
    expect(validateEnvoyYaml(text, 'envoy.config.endpoint.v3.ClusterLoadAssignment')).toEqual([]);
    expect(validateEnvoyYaml('name: x\n', 'envoy.config.endpoint.v3.ClusterLoadAssignment')[0]!.path).toBe('name');
  });

  it('reports an empty document', () => {
    expect(validateEnvoyYaml('# nothing\n')).toEqual([{ path: '', message: 'the document is empty' }]);
  });
});
