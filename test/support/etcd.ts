// A real etcd for tests, in this order of preference:
//   1. ETCD_ENDPOINTS (an etcd someone else runs; it cannot be stopped and restarted by tests),
//   2. the `etcd` binary on PATH, spawned on free loopback ports with a temporary data dir,
//   3. a testcontainers container when a Docker engine answers,
//   4. otherwise a failure that says what to install.
import { spawnSync } from 'node:child_process';
import { LocalEtcd, freeLoopbackPort } from '../../src/demo/local-etcd.js';

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

/** A free loopback port (for servers a test starts). */
export const freePort = freeLoopbackPort;

function hasEtcdBinary(): boolean {
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The etcd binary on free loopback ports, from the same module the demo uses. */
class SpawnedEtcd implements TestEtcd {
  readonly controllable = true;
  constructor(private readonly etcd: LocalEtcd) {}
  get endpoint(): string {
    return this.etcd.endpoint;
  }
  start(): Promise<void> {
    return this.etcd.start();
  }
  /** SIGKILL, like a crash. */
  stop(): Promise<void> {
    return this.etcd.stop('SIGKILL');
  }
  close(): Promise<void> {
    return this.etcd.close();
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
    const etcd = new SpawnedEtcd(await LocalEtcd.create({ name: 'test' }));
    await etcd.start();
    return etcd;
  }
  if (await dockerAnswers()) return containerEtcd();
  throw new Error(
    'No etcd for tests: set ETCD_ENDPOINTS, install the etcd binary (Debian: apt-get install -y etcd-server), ' +
      'or run a Docker engine for testcontainers.',
  );
}
