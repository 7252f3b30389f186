// The Envoy bootstraps shipped in envoy/: each passes the strict check, and the names that tie them to the rest
// of the demo line up (the ADS cluster exists and speaks HTTP/2; routed and EDS clusters are services the
// compose file starts). The front proxy is bootstrap-only, and is what `etcd-xds bootstrap envoy` prints.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateEnvoyYaml } from '../../src/envoy/validate.js';
import { startCli } from '../support/cli-process.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const envoyDir = path.join(repoRoot, 'envoy');
const configFiles = readdirSync(envoyDir).filter((name) => /\.(ya?ml|json)$/.test(name)).sort();

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

// The parts of a bootstrap these tests read (the strict check has already vouched for the shape).
interface SocketAddress { address: string; port_value: number }
interface ConfigSource { ads?: object; resource_api_version?: string }
interface Cluster {
  name: string;
  type?: string;
  eds_cluster_config?: { service_name?: string; eds_config?: ConfigSource };
  typed_extension_protocol_options?: Record<string, { explicit_http_config?: { http2_protocol_options?: object } }>;
  load_assignment?: { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: SocketAddress } } }[] }[] };
}
interface Route { match: { prefix?: string }; route?: { cluster?: string } }
interface HttpConnectionManager {
  route_config?: { virtual_hosts: { routes: Route[] }[] };
  http_filters: { name: string; typed_config?: { '@type': string } }[];
}
interface Bootstrap {
  admin: { address: { socket_address: SocketAddress } };
  dynamic_resources: {
    ads_config: { api_type: string; transport_api_version: string; grpc_services: { envoy_grpc: { cluster_name: string } }[] };
    lds_config?: ConfigSource;
    cds_config?: ConfigSource;
  };
  static_resources: {
    listeners?: { address: { socket_address: SocketAddress }; filter_chains: { filters: { typed_config: HttpConnectionManager }[] }[] }[];
    clusters: Cluster[];
  };
}

function loadBootstrap(file: string): Bootstrap {
  return parse(readFileSync(path.join(envoyDir, file), 'utf8')) as Bootstrap;
}

function connectionManagers(bootstrap: Bootstrap): HttpConnectionManager[] {
  return (bootstrap.static_resources.listeners ?? []).flatMap((l) => l.filter_chains.flatMap((c) => c.filters.map((f) => f.typed_config)));
}

function routes(bootstrap: Bootstrap): Route[] {
  return connectionManagers(bootstrap).flatMap((hcm) => hcm.route_config?.virtual_hosts.flatMap((vh) => vh.routes) ?? []);
}

function clusterNamed(bootstrap: Bootstrap, name: string): Cluster {
  const cluster = bootstrap.static_resources.clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`no static cluster named ${name}`);
  return cluster;
}

/** Service names the compose file starts sample backends for (`sample-backend ... --service <name>`). */
function composeSampleServices(): string[] {
  const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[] | string }>;
  };
  return Object.values(compose.services).flatMap((service) => {
    const command = Array.isArray(service.command) ? service.command : [];
    const flag = command.indexOf('--service');
    return command[0] === 'sample-backend' && flag >= 0 ? [command[flag + 1]!] : [];
  });
}

describe('envoy/ bootstraps', () => {
  it('holds the front proxy and the EDS-only sidecar', () => {
    expect(configFiles).toEqual(expect.arrayContaining(['front-proxy.yaml', 'sidecar-eds.yaml']));
  });

  it.each(configFiles)('%s passes the strict Envoy check', (file) => {
    expect(validateEnvoyYaml(readFileSync(path.join(envoyDir, file), 'utf8'))).toEqual([]);
  });

  it.each(configFiles)('%s: ADS goes to a static HTTP/2 cluster aimed at etcd-xds:18000', (file) => {
    const bootstrap = loadBootstrap(file);
    const ads = bootstrap.dynamic_resources.ads_config;
    expect(ads.api_type).toBe('GRPC');
    expect(ads.transport_api_version).toBe('V3');
    const xds = clusterNamed(bootstrap, ads.grpc_services[0]!.envoy_grpc.cluster_name);
    expect(xds.name).toBe('xds_cluster');
    expect(xds.type).toBe('STRICT_DNS');
    expect(xds.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS]?.explicit_http_config?.http2_protocol_options).toBeDefined();
    const socket = xds.load_assignment!.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
    expect(socket).toEqual({ address: 'etcd-xds', port_value: 18000 });
    expect(bootstrap.admin.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 9901 });
    for (const listener of bootstrap.static_resources.listeners ?? []) {
      expect(listener.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 10000 });
    }
  });

  it.each(configFiles)('%s: the router is the last HTTP filter', (file) => {
    for (const hcm of connectionManagers(loadBootstrap(file))) {
      expect(hcm.http_filters.at(-1)?.typed_config?.['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
    }
  });

  it.each(configFiles)('%s: routes and EDS clusters name services the compose file starts', (file) => {
    const samples = composeSampleServices();
    expect(samples).toEqual(expect.arrayContaining(['hello-http', 'echo-http', 'greeter-grpc']));
    const bootstrap = loadBootstrap(file);
    for (const cluster of routes(bootstrap).map((r) => r.route?.cluster)) expect(samples).toContain(cluster);
    for (const cluster of bootstrap.static_resources.clusters.filter((c) => c.type === 'EDS')) {
      expect(samples).toContain(cluster.eds_cluster_config?.service_name);
      expect(cluster.eds_cluster_config?.eds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    }
  });

  it('front-proxy: bootstrap-only, listeners and clusters over ADS, nothing static but the xDS cluster', () => {
    const bootstrap = loadBootstrap('front-proxy.yaml');
    expect(bootstrap.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(bootstrap.dynamic_resources.cds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(Object.keys(bootstrap.static_resources)).toEqual(['clusters']);
    expect(bootstrap.static_resources.clusters.map((c) => c.name)).toEqual(['xds_cluster']);
  });

  it('front-proxy: is what the etcd-xds bootstrap envoy command in its header prints', async () => {
    const text = readFileSync(path.join(envoyDir, 'front-proxy.yaml'), 'utf8');
    const command = /^#\s+etcd-xds (bootstrap envoy .+)$/m.exec(text)?.[1];
    expect(command, 'the header names the command').toBeDefined();
    expect(command).not.toMatch(/['"\\]/);
    const cli = startCli(command!.split(/\s+/));
    const { code } = await cli.exited;
    expect(code, cli.output()).toBe(0);
    expect(parse(text)).toEqual(parse(cli.output()));
    // The generated header (the command) opens the shipped file too, so either can be made from the other.
    expect(text.startsWith(cli.output().split('\n').slice(0, 3).join('\n'))).toBe(true);
  });

  it('sidecar-eds: static EDS clusters for the sample services, HTTP/2 to the gRPC one', () => {
    const bootstrap = loadBootstrap('sidecar-eds.yaml');
    expect(bootstrap.dynamic_resources.cds_config).toBeUndefined();
    for (const name of ['hello-http', 'echo-http', 'greeter-grpc']) {
      const cluster = clusterNamed(bootstrap, name);
      expect(cluster.type).toBe('EDS');
      expect(cluster.eds_cluster_config?.service_name).toBe(name);
    }
    const greeter = clusterNamed(bootstrap, 'greeter-grpc');
    expect(greeter.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS]?.explicit_http_config?.http2_protocol_options).toBeDefined();
  });
});
