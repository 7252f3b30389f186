// A second real proxyless xDS client, written by others in another language: gRPC C-core (Debian's
// python3-grpcio). C-core is stricter than grpc-js about resources (filters, localities), so it checks that what
// etcd-xds serves is accepted beyond one implementation.
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startTestControlPlane, writeXdsBootstrap, type TestControlPlane } from '../support/control-plane.js';
import { eventually } from '../support/eventually.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/xds_core_client.py');
const hasGrpcCore = spawnSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0;

interface CoreRun {
  counts: Record<string, number>;
  errors: string[];
  errorCount: number;
}

describe.skipIf(!hasGrpcCore && process.env.REQUIRE_GRPC_CORE !== '1')('gRPC C-core proxyless client (python3-grpcio)', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cp: TestControlPlane;
  let backends: GreeterServer[];
  let bootstrap: string;

  const run = (calls: number) =>
    new Promise<CoreRun>((resolve, reject) =>
      execFile(PYTHON, [CLIENT, 'xds:///core-greeter', String(calls)], { env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrap }, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as CoreRun),
      ),
    );

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    backends = await Promise.all(['c1', 'c2', 'c3'].map((id) => startGreeterServer({ service: 'core-greeter', instanceId: id, host: '127.0.0.1' })));
    for (const [i, b] of backends.entries()) {
      await client.put(`/services/core-greeter/c${i + 1}`).value(JSON.stringify({ address: '127.0.0.1', port: b.port, locality: { region: 'r1', zone: `z${i % 2}` }, metadata: { version: 'v1' } }));
    }
    cp = await startTestControlPlane(etcd);
    bootstrap = writeXdsBootstrap(cp.xdsAddress, 'grpc-core-client');
  });

  afterAll(async () => {
    await cp?.plane.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    client?.close();
    await etcd?.close();
  });

  it('accepts the resources and balances calls over every registered backend', async () => {
    const result = await run(60);
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.counts).sort()).toEqual(['c1', 'c2', 'c3']);
  });

  it('sends no calls to a draining instance', async () => {
    await client.put('/services/core-greeter/c3').value(JSON.stringify({ address: '127.0.0.1', port: backends[2]!.port, status: 'draining' }));
    await eventually(
      async () => JSON.stringify(cp.plane.publisher.current().resources.get(TYPE_URL.endpoint)?.get('core-greeter')?.json),
      (json) => json?.includes('DRAINING') ?? false,
      'the draining status in the published assignment',
    );
    const result = await run(40);
    expect(result.errorCount).toBe(0);
    expect(Object.keys(result.counts).sort()).toEqual(['c1', 'c2']);
  });
});
