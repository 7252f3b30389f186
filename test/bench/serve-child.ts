// `etcd-xds serve` as a child process, so its CPU and RSS are measured apart from the bench's own clients.
// With BENCH_PROFILE=1 it runs under `node --cpu-prof`, writing a profile per child to test-artifacts/profiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { owned, waitFor, withTimeout } from './lifecycle.js';
import { cpuMs, rssBytes } from './measure.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PROFILE_DIR = path.join(REPO_ROOT, 'test-artifacts', 'profiles');
export const profiling = process.env.BENCH_PROFILE === '1';

export interface ChildNode {
  readonly child: ChildProcess;
  readonly pid: number;
  cpuMs(): number;
  rssBytes(): number;
  /** The last lines the child wrote (for error messages). */
  tail(): string;
  stop(): Promise<void>;
}

/** Spawns `node [profiling flags] --import tsx <entry> <args>` and registers it for teardown. */
export function spawnNode(label: string, entry: string, args: string[], options: { profile?: boolean; stdin?: boolean } = {}): ChildNode {
  const env = { ...process.env };
  for (const name of ['ETCD_ENDPOINTS', 'XDS_PREFIX', 'LOG_LEVEL', 'XDS_ADDRESS', 'ADMIN_ADDRESS', 'NODE_OPTIONS']) delete env[name];
  const nodeFlags: string[] = [];
  if (options.profile && profiling) {
    // One directory per child: node writes one profile per thread (tsx's loader runs on a worker of its own).
    const dir = path.join(PROFILE_DIR, `${label}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    nodeFlags.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', entry, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${label}`);
  const pid = child.pid;
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-6000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = owned(label, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // A profiled child writes its profile on the way out: give it time before SIGKILL.
    const killed = await withTimeout(exited, profiling ? 30_000 : 10_000, `${label} to exit`).then(() => false, () => true);
    if (killed) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    pid,
    cpuMs: () => cpuMs(pid),
    rssBytes: () => rssBytes(pid),
    tail: () => tail,
    stop,
  };
}

/** Lines of a child's stream, parsed as JSON when they are (pino logs). */
function onJsonLine(stream: NodeJS.ReadableStream, listener: (line: Record<string, unknown>) => void): void {
  let buffered = '';
  stream.on('data', (d: Buffer) => {
    buffered += d.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      try {
        listener(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line.
      }
    }
  });
}

export interface ServeChild extends ChildNode {
  readonly adminUrl: string;
  /** Resolves with host:port once xDS listens (after the first full etcd sync). */
  readonly xdsAddress: Promise<string>;
  /** Log lines at error level or above so far. */
  errors(): number;
}

/** Starts the control plane on free loopback ports against `prefix`; resolves once the admin API listens. */
export async function startServe(label: string, etcdEndpoint: string, prefix: string, extraArgs: readonly string[] = []): Promise<ServeChild> {
  const node = spawnNode(
    label,
    path.join(REPO_ROOT, 'src/cli/main.ts'),
    ['serve', '--etcd-endpoints', etcdEndpoint, '--prefix', prefix, '--xds-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0', '--no-health-checks', '--log-level', 'info', ...extraArgs],
    { profile: true },
  );
  let admin: string | undefined;
  let errors = 0;
  let resolveXds!: (address: string) => void;
  const xdsAddress = new Promise<string>((resolve) => (resolveXds = resolve));
  onJsonLine(node.child.stderr!, (line) => {
    if (typeof line.level === 'number' && line.level >= 50) errors += 1;
    if (line.msg === 'admin API listening' && typeof line.address === 'string') admin = line.address;
    if (line.msg === 'xDS server listening' && typeof line.address === 'string') resolveXds(line.address);
  });
  try {
    await waitFor(`${label} to log "admin API listening"`, 60_000, () => {
      if (node.child.exitCode !== null) throw new Error(`${label} exited with ${node.child.exitCode}:\n${node.tail()}`);
      return admin;
    }, 5);
  } catch (err) {
    await node.stop();
    throw err;
  }
  return {
    ...node,
    adminUrl: `http://${admin}`,
    xdsAddress: withTimeout(xdsAddress, 300_000, `${label} to log "xDS server listening"`),
    errors: () => errors,
  };
}

export interface HttpResult {
  status: number;
  bytes: number;
  body: Buffer;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** GET with a deadline; the body is read whole. */
export function httpGet(url: string, timeoutMs = 30_000, useAgent: http.Agent = agent): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: useAgent, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: response.statusCode ?? 0, bytes: body.length, body, ms: performance.now() - started });
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** Time from `startedAt` (performance.now()) until /readyz answers 200. */
export async function readyAfter(serve: ServeChild, startedAt: number, timeoutMs: number): Promise<number> {
  return waitFor(`${serve.adminUrl}/readyz to answer 200`, timeoutMs, async () => {
    if (serve.child.exitCode !== null) throw new Error(`serve exited with ${serve.child.exitCode}:\n${serve.tail()}`);
    const result = await httpGet(`${serve.adminUrl}/readyz`, timeoutMs).catch(() => undefined);
    return result?.status === 200 ? performance.now() - startedAt : undefined;
  }, 5);
}
