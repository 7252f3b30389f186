// The demo's etcd: the one at --etcd-endpoints when it answers, else the `etcd` binary spawned on free loopback
// ports with a throw-away data dir that is removed again on exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface DemoEtcd {
  /** Client URLs to use. */
  readonly endpoints: string[];
  /** True when this process started it (and stops it). */
  readonly spawned: boolean;
  /** The spawned binary's version, e.g. "3.4.23". */
  readonly version?: string;
  stop(): Promise<void>;
}

export const ETCD_INSTALL_HINT = 'apt-get install -y etcd-server';

/** True when some endpoint answers etcd's /health with 200 within the timeout. */
export async function etcdAnswers(endpoints: string[], timeoutMs = 1_500): Promise<boolean> {
  const answers = await Promise.all(
    endpoints.map(async (endpoint) => {
      try {
        const response = await fetch(`${endpoint.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(timeoutMs) });
        await response.body?.cancel().catch(() => {});
        return response.ok;
      } catch {
        return false;
      }
    }),
  );
  return answers.includes(true);
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function etcdVersion(binary: string): string | undefined {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return /Version:\s*(\S+)/.exec(result.stdout)?.[1] ?? 'unknown';
}

/** Uses the etcd at `endpoints` when it answers, else spawns one. */
export async function useOrSpawnEtcd(endpoints: string[], options: { binary?: string; startTimeoutMs?: number } = {}): Promise<DemoEtcd> {
  if (await etcdAnswers(endpoints)) return { endpoints, spawned: false, stop: async () => {} };
  const binary = options.binary ?? 'etcd';
  const version = etcdVersion(binary);
  if (!version) {
    throw new Error(
      `no etcd answers at ${endpoints.join(', ')} and there is no etcd binary ('${binary}') to start one: ` +
        `install it (Debian/Ubuntu: ${ETCD_INSTALL_HINT}) or pass --etcd-endpoints of a running etcd`,
    );
  }
  return spawnEtcd(binary, version, options.startTimeoutMs ?? 15_000);
}

async function spawnEtcd(binary: string, version: string, startTimeoutMs: number): Promise<DemoEtcd> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-demo-etcd-'));
  const client = `http://127.0.0.1:${await freeLoopbackPort()}`;
  const peer = `http://127.0.0.1:${await freeLoopbackPort()}`;
  let output = '';
  const child: ChildProcess = spawn(
    binary,
    [
      '--name', 'demo',
      '--data-dir', dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `demo=${peer}`,
      '--log-level', 'error',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  // Whatever way this process ends, the etcd it started must not outlive it.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + startTimeoutMs;
  while (!(await etcdAnswers([client], 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the spawned etcd did not become healthy at ${client}:\n${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoints: [client], spawned: true, version, stop };
}
