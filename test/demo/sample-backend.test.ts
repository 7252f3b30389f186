// `etcd-xds sample-backend` as a real child process against a real etcd: it serves, registers itself after its port
// listens, and on SIGTERM goes draining, deregisters and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { greeterClient } from '../../src/demo/greeter.js';
import { grpcProbe } from '../../src/health/grpc-probe.js';
import { eventually } from '../support/eventually.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts');

interface RunningBackend {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** The port from the start-up line on stdout. */
  port: Promise<number>;
}

const running: RunningBackend[] = [];

function startBackend(args: string[]): RunningBackend {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'sample-backend', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ETCD_ENDPOINTS: '', LOG_LEVEL: 'info' },
  });
  let output = '';
  let onPort: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => (onPort = resolve));
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
    const match = /listening on port (\d+)/.exec(output);
    if (match) onPort(Number(match[1]));
  });
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const backend = { child, output: () => output, exited, port };
  running.push(backend);
  return backend;
}

async function portOf(backend: RunningBackend): Promise<number> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no start-up line within 20 s; output:\n${backend.output()}`)), 20_000),
  );
  return Promise.race([backend.port, timeout]);
}

describe('etcd-xds sample-backend', () => {
  let etcd: TestEtcd;
  let client: Etcd3;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
  });

  afterEach(() => {
    for (const backend of running.splice(0)) if (backend.child.exitCode === null) backend.child.kill('SIGKILL');
  });

  afterAll(async () => {
    client?.close();
    await etcd?.close();
  });

  const record = async (key: string): Promise<Record<string, unknown> | null> => {
    const value = await client.get(key).string();
    return value === null ? null : (JSON.parse(value) as Record<string, unknown>);
  };

  it('http kind: answers with its id and path, registers with an HTTP health check, drains on SIGTERM and exits 0', async () => {
    const backend = startBackend([
      '--kind', 'http', '--service', 'hello-http', '--port', '0', '--address', '127.0.0.1',
      '--etcd-endpoints', etcd.endpoint, '--drain-seconds', '1.5', '--zone', 'zone-a',
    ]);
    const port = await portOf(backend);
    // Without --instance-id the SDK's default names host, address and the port actually bound.
    const instanceId = `${os.hostname()}-127.0.0.1-${port}`;
    const key = `/services/hello-http/${instanceId}`;

    const registered = await eventually(() => record(key), (r) => r !== null, 'the registration in etcd');
    expect(registered).toMatchObject({
      address: '127.0.0.1',
      port,
      status: 'serving',
      locality: { zone: 'zone-a' },
      healthCheck: { type: 'http', path: '/healthz' },
    });

    const response = await fetch(`http://127.0.0.1:${port}/hello/world?x=1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ service: 'hello-http', instance_id: instanceId, method: 'GET', path: '/hello/world' });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    backend.child.kill('SIGTERM');
    await eventually(() => record(key), (r) => r?.status === 'draining', 'status draining after SIGTERM');
    // Still answering while draining, but no longer healthy for other balancers.
    expect((await fetch(`http://127.0.0.1:${port}/hello`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(503);
    await eventually(() => record(key), (r) => r === null, 'the key deleted after the drain');
    expect(await backend.exited).toBe(0);
  });

  it('grpc kind: serves the Greeter and grpc.health.v1, registers as an HTTP/2 (grpc) backend', async () => {
    const backend = startBackend([
      '--kind', 'grpc', '--service', 'greeter-grpc', '--port', '0', '--address', '127.0.0.1', '--instance-id', 'g1',
      '--etcd-endpoints', etcd.endpoint, '--prefix', '/demo-test/', '--drain-seconds', '0',
    ]);
    const port = await portOf(backend);
    const key = '/demo-test/greeter-grpc/g1';
    const registered = await eventually(() => record(key), (r) => r !== null, 'the registration in etcd');
    expect(registered).toMatchObject({ port, metadata: { protocol: 'grpc' }, healthCheck: { type: 'grpc' } });

    const greeter = greeterClient(`127.0.0.1:${port}`);
    try {
      expect(await greeter.sayHello('test')).toEqual({ message: 'hello test', instance_id: 'g1', service: 'greeter-grpc' });
    } finally {
      greeter.close();
    }
    const probe = grpcProbe('127.0.0.1', port);
    try {
      expect(await probe.run(AbortSignal.timeout(5_000))).toEqual({ ok: true });
    } finally {
      probe.close();
    }

    backend.child.kill('SIGTERM');
    expect(await backend.exited).toBe(0);
    expect(await record(key)).toBeNull();
  });

  it('rejects a bad flag with exit code 2 and names it', async () => {
    const backend = startBackend(['--kind', 'ftp', '--service', 's', '--port', '1', '--etcd-endpoints', etcd.endpoint]);
    expect(await backend.exited).toBe(2);
    expect(backend.output()).toMatch(/--kind/);
  });
});
