import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { silentLogger } from '../../src/logger.js';
import type { ProbedInstanceState } from '../../src/registration/probed-instance.js';
import { parseRegistrarConfig } from '../../src/registration/registrar-config.js';
import { Registrar } from '../../src/registration/registrar.js';
import { freePort, startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
import { leaseRenewedAfter } from '../support/lease-renewal.js';
import { CLI_ENTRY } from '../support/cli.js';

const ENTRY = CLI_ENTRY;

async function listenTcp(port = 0): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

const closeServer = (server: net.Server | http.Server): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()));

describe('registrar against a real etcd', () => {
  let etcd: TestEtcd;
  let client: Etcd3;

  const status = async (key: string): Promise<string | null> => {
    const value = await client.get(key).string();
    return value === null ? null : (JSON.parse(value) as { status: string }).status;
  };

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
  });
  afterAll(async () => {
    client?.close();
    await etcd?.close();
  });

  it('lists healthy instances serving, failing ones unhealthy then removed, and re-lists them on recovery', async () => {
    const healthyTcp = await listenTcp();
    const healthyPort = (healthyTcp.address() as net.AddressInfo).port;
    const downPort = await freePort();
    const web = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 503).end());
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const webPort = (web.address() as net.AddressInfo).port;
    const fast = { intervalMs: 150, timeoutMs: 300 };
    const config = parseRegistrarConfig({
      ttlSeconds: 2,
      instances: [
        { service: 'tcp-svc', address: '127.0.0.1', port: healthyPort, instanceId: 'up', weight: 2, probe: { type: 'tcp', ...fast } },
        { service: 'tcp-svc', address: '127.0.0.1', port: downPort, instanceId: 'down', probe: { type: 'tcp', ...fast }, removeAfterSeconds: 1.5 },
        { service: 'web', address: '127.0.0.1', port: webPort, instanceId: 'ok', probe: { type: 'http', path: '/healthz', ...fast } },
        { service: 'web', address: '127.0.0.1', port: webPort, instanceId: 'sick', probe: { type: 'http', path: '/ready', ...fast }, removeAfterSeconds: 60 },
      ],
    });
    const transitions: Array<[string, ProbedInstanceState]> = [];
    const registrar = new Registrar({
      config,
      etcd: client,
      logger: silentLogger(),
      onTransition: (key, _from, to) => transitions.push([key, to]),
    });
    registrar.start();
    try {
      await eventually(() => status('/services/tcp-svc/up'), (s) => s === 'serving', 'healthy TCP instance serving');
      const record = JSON.parse((await client.get('/services/tcp-svc/up').string())!) as Record<string, unknown>;
      expect(record).toEqual({
        address: '127.0.0.1',
        port: healthyPort,
        weight: 2,
        status: 'serving',
        priority: 0,
        locality: {},
        metadata: {},
      });
      const lease = (await client.get('/services/tcp-svc/up').exec()).kvs[0]!.lease;
      expect(lease).not.toBe('0');

      await eventually(() => status('/services/web/ok'), (s) => s === 'serving', 'HTTP 200 instance serving');
      await eventually(() => status('/services/web/sick'), (s) => s === 'unhealthy', 'HTTP 503 instance unhealthy');
      await eventually(() => status('/services/tcp-svc/down'), (s) => s === 'unhealthy', 'closed port unhealthy');
      await eventually(() => status('/services/tcp-svc/down'), (s) => s === null, 'closed port removed', 5_000);
      const downTransitions = () => transitions.filter(([key]) => key === '/services/tcp-svc/down').map(([, to]) => to);
      await eventually(async () => downTransitions(), (t) => t.length === 2, 'the removal to be reported');
      expect(downTransitions()).toEqual(['unhealthy', 'removed']);

      // Recovery: someone starts listening on the port → listed again, serving.
      const recovered = await listenTcp(downPort);
      await eventually(() => status('/services/tcp-svc/down'), (s) => s === 'serving', 'recovered instance serving');
      // The healthy one goes down → unhealthy (removal only after its default 60 s).
      await closeServer(healthyTcp);
      await eventually(() => status('/services/tcp-svc/up'), (s) => s === 'unhealthy', 'stopped instance unhealthy');
      // Kept under a lease that is kept alive (TTL 2 s): etcd renews it, and the key stays under it.
      await leaseRenewedAfter(client, lease, 2, performance.now());
      expect(await status('/services/tcp-svc/up')).toBe('unhealthy');
      expect((await client.get('/services/tcp-svc/up').exec()).kvs[0]!.lease).toBe(lease);

      await registrar.stop();
      const left = await client.getAll().prefix('/services/').keys();
      expect(left).toEqual([]);
      await closeServer(recovered);
    } finally {
      await registrar.stop();
      await closeServer(web);
      healthyTcp.close();
    }
  });

  it('CLI: a bad config exits 2 naming the field; SIGTERM deregisters everything and exits 0', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'registrar-cli-'));
    const run = (args: string[]) => {
      const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'registrar', ...args, '--etcd-endpoints', etcd.endpoint], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, exited, output: () => output };
    };
    const badFile = path.join(dir, 'bad.yaml');
    writeFileSync(badFile, 'instances:\n  - {service: a, address: db.local, port: 5432, probe: {type: tcp}}\n');
    const server = await listenTcp();
    const port = (server.address() as net.AddressInfo).port;
    const goodFile = path.join(dir, 'good.yaml');
    writeFileSync(
      goodFile,
      `ttlSeconds: 5\ninstances:\n  - {service: cli-reg, address: 127.0.0.1, port: ${port}, instanceId: a, probe: {type: tcp, intervalMs: 200}}\n`,
    );
    const bad = run(['--config', badFile]);
    const good = run(['--config', goodFile]);
    try {
      expect(await bad.exited).toBe(2);
      expect(bad.output()).toContain(`${badFile}: instances[0].address: must be an IPv4 or IPv6 literal`);

      await eventually(() => status('/services/cli-reg/a'), (s) => s === 'serving', `registrar CLI listing (${good.output()})`);
      good.child.kill('SIGTERM');
      expect(await good.exited).toBe(0);
      expect(await status('/services/cli-reg/a')).toBeNull(); // deleted at once, not left to expire
    } finally {
      good.child.kill('SIGKILL');
      server.close();
    }
  });
});
