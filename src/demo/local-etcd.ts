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

export function freeLoopbackPort(): Promise<number> {
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
  // Its own process group: a terminal's Ctrl-C (SIGINT to the whole foreground group) must reach only the demo, which
  // then drains and deregisters its backends while etcd still answers, and stops etcd last.
  const etcd = await LocalEtcd.create({ binary, name: 'demo', ownProcessGroup: true });
  try {
    await etcd.start(options.startTimeoutMs ?? 15_000);
  } catch (err) {
    await etcd.close();
    throw err;
  }
  // Whatever way this process ends, the etcd it started must not outlive it.
  const killOnExit = (): void => etcd.killNow();
  process.once('exit', killOnExit);
  return {
    endpoints: [etcd.endpoint],
    spawned: true,
    version,
    stop: async () => {
      process.off('exit', killOnExit);
      await etcd.close();
    },
  };
}

/**
 * An etcd process on free loopback ports with its own data dir. stop() and start() keep port and data, so tests can
 * simulate an outage; close() removes everything.
 */
export class LocalEtcd {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    private readonly binary: string,
    private readonly name: string,
    private readonly dataDir: string,
    private readonly clientPort: number,
    private readonly peerPort: number,
    private readonly ownProcessGroup: boolean,
  ) {}

  /** `ownProcessGroup`: out of the terminal's signals, so only this process decides when etcd stops. */
  static async create(options: { binary?: string; name?: string; ownProcessGroup?: boolean } = {}): Promise<LocalEtcd> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-etcd-'));
    return new LocalEtcd(
      options.binary ?? 'etcd',
      options.name ?? 'etcd-xds',
      dataDir,
      await freeLoopbackPort(),
      await freeLoopbackPort(),
      options.ownProcessGroup ?? false,
    );
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** Starts etcd and waits until its /health answers. */
  async start(timeoutMs = 15_000): Promise<void> {
    const client = this.endpoint;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.output = '';
    const child = spawn(
      this.binary,
      [
        '--name', this.name,
        '--data-dir', this.dataDir,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `${this.name}=${peer}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: this.ownProcessGroup },
    );
    child.stdout?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    while (!(await etcdAnswers([client], 500))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await this.stop();
        throw new Error(`etcd did not become healthy at ${client} within ${timeoutMs} ms:\n${this.output.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops the process (SIGKILL: like a crash, or SIGTERM), keeping port and data. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
      setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
    });
  }

  /** Stops it for good and removes its data. */
  async close(): Promise<void> {
    await this.stop('SIGTERM');
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Synchronous last resort for process exit handlers. */
  killNow(): void {
    this.child?.kill('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
