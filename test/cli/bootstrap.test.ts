// `etcd-xds bootstrap grpc|envoy` as users run it: the gRPC file, used as it is by a real grpc-js-xds client and by
// gRPC C-core, balances calls over the registered backends; the Envoy file passes the strict validator.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { validateEnvoyYaml } from '../../src/envoy/validate.js';
import { startCli } from '../support/cli-process.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

const PYTHON = '/usr/bin/python3';
const CORE_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/xds_core_client.py');
const hasGrpcCore = spawnSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0;

async function bootstrap(args: string[]): Promise<{ code: number | null; output: string }> {
  const cli = startCli(['bootstrap', ...args]);
  const { code } = await cli.exited;
  return { code, output: cli.output() };
}

describe('etcd-xds bootstrap envoy', () => {
  it('prints a bootstrap that passes the strict validator, with the node, admin port and scoping metadata', async () => {
    const run = await bootstrap([
      'envoy', '--xds-server', 'etcd-xds.internal:18000', '--node-id', 'edge-1', '--node-cluster', 'edge',
      '--locality', 'eu-west-1/eu-west-1a', '--admin-port', '9902', '--listener-port', '8080', '--depends-on', 'greeter,billing',
    ]);
    expect(run.code, run.output).toBe(0);
    expect(validateEnvoyYaml(run.output)).toEqual([]);
    const document = parseYaml(run.output) as Record<string, any>;
    expect(document.node).toEqual({
      id: 'edge-1',
      cluster: 'edge',
      locality: { region: 'eu-west-1', zone: 'eu-west-1a' },
      metadata: { 'etcd-xds.listener-port': 8080, 'etcd-xds.depends-on': ['greeter', 'billing'] },
    });
    expect(document.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 9902 });
    expect(document.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(document.dynamic_resources.cds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    expect(Object.keys(document.static_resources)).toEqual(['clusters']);
    const xds = document.static_resources.clusters[0];
    expect(xds.type).toBe('STRICT_DNS');
    expect(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'etcd-xds.internal', port_value: 18000 });
  });

  it('binds the admin where --admin-host says, and its header is the command that makes the same file', async () => {
    const args = ['envoy', '--xds-server', '10.0.0.2:18000', '--node-id', 'edge 1', '--node-cluster', 'edge', '--admin-host', '0.0.0.0', '--locality', 'r1//rack1'];
    const run = await bootstrap(args);
    expect(run.code, run.output).toBe(0);
    expect(validateEnvoyYaml(run.output)).toEqual([]);
    const document = parseYaml(run.output) as Record<string, any>;
    expect(document.admin.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 9901 });
    expect(document.static_resources.clusters[0].type).toBe('STATIC');
    expect(run.output.split('\n')[1]).toBe(
      "#   etcd-xds bootstrap envoy --xds-server 10.0.0.2:18000 --node-id 'edge 1' --node-cluster edge --locality r1//rack1 --admin-host 0.0.0.0",
    );
    const again = await bootstrap(['envoy', '--xds-server', '10.0.0.2:18000', '--node-id', 'edge 1', '--node-cluster', 'edge', '--locality', 'r1//rack1', '--admin-host', '0.0.0.0']);
    expect(again.output).toBe(run.output);
  });

  it('with TLS files, the xDS cluster speaks (m)TLS and still validates', async () => {
    const run = await bootstrap(['envoy', '--xds-server', '10.0.0.2:18000', '--tls-ca', '/etc/xds/ca.pem', '--tls-cert', '/etc/xds/c.pem', '--tls-key', '/etc/xds/k.pem']);
    expect(run.code, run.output).toBe(0);
    expect(validateEnvoyYaml(run.output)).toEqual([]);
    const tls = (parseYaml(run.output) as Record<string, any>).static_resources.clusters[0].transport_socket.typed_config;
    expect(tls.common_tls_context.validation_context.trusted_ca.filename).toBe('/etc/xds/ca.pem');
    expect(tls.common_tls_context.tls_certificates[0].private_key.filename).toBe('/etc/xds/k.pem');
  });

  it('exits 2 on bad flags, naming them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['grpc', '--xds-server', 'nowhere'], /--xds-server.*expected HOST:PORT/],
      [['grpc', '--locality', 'a/b/c/d'], /--locality.*region\/zone\/subzone/],
      [['envoy', '--tls-cert', '/c.pem'], /--tls-cert and --tls-key go together/],
      [['envoy', '--depends-on', 'ok,bad/name'], /'bad\/name' is not a service name/],
      [['envoy', '--listener-port', '70000'], /expected a port/],
      [['envoy', '--admin-host', 'localhost'], /--admin-host.*expected an IPv4 or IPv6 address/],
    ];
    const runs = await Promise.all(cases.map(([args]) => bootstrap(args)));
    runs.forEach((run, i) => {
      expect(run.code, run.output).toBe(2);
      expect(run.output).toMatch(cases[i]![1]);
    });
  });
});

describe('etcd-xds bootstrap grpc, used as GRPC_XDS_BOOTSTRAP', () => {
  let etcd: TestEtcd;
  let etcdClient: Etcd3;
  let cp: TestControlPlane;
  let backends: GreeterServer[];
  let dir: string;
  let file: string;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    etcdClient = new Etcd3({ hosts: etcd.endpoint });
    backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startGreeterServer({ service: 'boot-greeter', instanceId: id, host: '127.0.0.1' })));
    for (const [i, backend] of backends.entries()) {
      await etcdClient.put(`/services/boot-greeter/b${i + 1}`).value(JSON.stringify({ address: '127.0.0.1', port: backend.port }));
    }
    cp = await startTestControlPlane(etcd);
    dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-bootstrap-cli-'));
    file = path.join(dir, 'grpc.json');
    const run = await bootstrap(['grpc', '--xds-server', cp.xdsAddress, '--node-id', 'bootstrap-cli-client', '--locality', 'r1/z1', '--out', file]);
    expect(run.code, run.output).toBe(0);
  });

  afterAll(async () => {
    await cp?.plane.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    etcdClient?.close();
    await etcd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes a file naming the node and the server', () => {
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      xds_servers: [{ server_uri: cp.xdsAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'bootstrap-cli-client', cluster: 'etcd-xds-clients', locality: { region: 'r1', zone: 'z1' } },
    });
  });

  it('a grpc-js-xds client balances calls over every backend', async () => {
    process.env.GRPC_XDS_BOOTSTRAP = file;
    (await import('@grpc/grpc-js-xds')).register();
    const calls = greeterClient('xds:///boot-greeter');
    try {
      const seen = await eventually(
        async () => {
          const ids = new Set<string>();
          for (let i = 0; i < 30; i++) ids.add((await calls.sayHello(`call ${i}`, 5_000)).instance_id);
          return [...ids].sort();
        },
        (ids) => ids.join() === 'b1,b2,b3',
        'answers from all three backends',
      );
      expect(seen).toEqual(['b1', 'b2', 'b3']);
      // The control plane knows the client by the node id the bootstrap gave it.
      const clients = (await (await fetch(`${cp.adminUrl}/debug/clients`)).json()) as { clients: Array<{ node: { id: string } | null }> };
      expect(clients.clients.map((c) => c.node?.id)).toContain('bootstrap-cli-client');
    } finally {
      calls.close();
    }
  });

  it.skipIf(!hasGrpcCore && process.env.REQUIRE_GRPC_CORE !== '1')('gRPC C-core (python3-grpcio) balances calls over every backend', async () => {
    const result = await new Promise<{ counts: Record<string, number>; errors: string[] }>((resolve, reject) =>
      execFile(PYTHON, [CORE_CLIENT, 'xds:///boot-greeter', '60'], { env: { ...process.env, GRPC_XDS_BOOTSTRAP: file }, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as { counts: Record<string, number>; errors: string[] }),
      ),
    );
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.counts).sort()).toEqual(['b1', 'b2', 'b3']);
  });
});
