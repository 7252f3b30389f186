// A real etcd for tests, in this order of preference:
//   1. ETCD_ENDPOINTS (an etcd someone else runs; it cannot be stopped and restarted by tests),
//   2. the `etcd` binary on PATH, spawned on free loopback ports with a temporary data dir,
//   3. a testcontainers container when a Docker engine answers,
//   4. otherwise a failure that says what to install.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestEtcd {
  /** Client URL, e.g. http://127.0.0.1:23791 */
  readonly endpoint: string;
  /** False for ETCD_ENDPOINTS: tests that stop etcd must skip then. */
  readonly controllable: boolean;
  /** Stops the server, keeping its data and port (simulates an outage). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) return;
      lastError = new Error(`status ${res.status}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms: ${String(lastError)}`);
}

function hasEtcdBinary(): boolean {
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

class SpawnedEtcd implements TestEtcd {
  readonly controllable = true;
  private child: ChildProcess | undefined;
  private output = '';

  constructor(
    private readonly dataDir: string,
    private readonly clientPort: number,
    private readonly peerPort: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  async start(): Promise<void> {
    const url = this.endpoint;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.output = '';
    const child = spawn(
      'etcd',
      [
        '--name', 'test',
        '--data-dir', this.dataDir,
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    try {
      await waitForHealth(url, 15_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\netcd output:\n${this.output.slice(-2000)}`);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

class ExternalEtcd implements TestEtcd {
  readonly controllable = false;
  constructor(readonly endpoint: string) {}
  async stop(): Promise<void> {
    throw new Error('ETCD_ENDPOINTS is set: this etcd cannot be stopped by tests');
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function containerEtcd(): Promise<TestEtcd> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('quay.io/coreos/etcd:v3.5.17')
    .withExposedPorts(2379)
    .withCommand([
      'etcd',
      '--listen-client-urls', 'http://0.0.0.0:2379',
      '--advertise-client-urls', 'http://127.0.0.1:2379',
    ])
    .withWaitStrategy(Wait.forHttp('/health', 2379))
    .start();
  const endpoint = `http://${container.getHost()}:${container.getMappedPort(2379)}`;
  let stopped = false;
  return {
    endpoint,
    // A container restart maps a new host port, so outage tests only run against a spawned binary.
    controllable: false,
    async stop() {
      throw new Error('containerised etcd cannot be paused and resumed on the same port');
    },
    async start() {},
    async close() {
      if (!stopped) await container.stop();
      stopped = true;
    },
  };
}

/** Starts (or connects to) a real etcd. Call close() in afterAll. */
export async function startTestEtcd(): Promise<TestEtcd> {
  const external = process.env.ETCD_ENDPOINTS;
  if (external) return new ExternalEtcd(external.split(',')[0]!.trim());
  if (hasEtcdBinary()) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-test-'));
    const etcd = new SpawnedEtcd(dataDir, await freePort(), await freePort());
    await etcd.start();
    return etcd;
  }
  if (await dockerAnswers()) return containerEtcd();
  throw new Error(
    'No etcd for tests: set ETCD_ENDPOINTS, install the etcd binary (Debian: apt-get install -y etcd-server), ' +
      'or run a Docker engine for testcontainers.',
  );
}
