import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { parseHealthCheckFlag, parseRegisterFlags, type RegisterFlags } from '../../src/cli/register.js';
import { freePort, startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
import { CLI_ENTRY } from '../support/cli.js';

const ENTRY = CLI_ENTRY;

interface RunningCli {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startCli(args: string[]): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ETCD_ENDPOINTS: '' },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const baseFlags: RegisterFlags = {
  service: 'svc',
  port: '8080',
  address: 'auto',
  ttl: '10',
  metadata: [],
  drainSeconds: '5',
  etcdEndpoints: ['http://127.0.0.1:2379'],
  prefix: '/services/',
  logLevel: 'info',
  waitForPort: true,
};

describe('register flag parsing', () => {
  it('maps flags to SDK options', () => {
    const options = parseRegisterFlags({
      ...baseFlags,
      address: '::1',
      weight: '0',
      priority: '2',
      region: 'r',
      zone: 'z',
      subZone: 's',
      metadata: ['version=v2', 'query=a=b'],
      healthCheck: 'grpc:greeter',
      etcdEndpoints: ['http://a:2379', 'http://b:2379'],
      waitForPort: false,
      drainSeconds: '0.5',
    });
    expect(options).toMatchObject({
      service: 'svc',
      port: 8080,
      address: '::1',
      weight: 0,
      priority: 2,
      locality: { region: 'r', zone: 'z', subZone: 's' },
      metadata: { version: 'v2', query: 'a=b' },
      healthCheck: { type: 'grpc', service: 'greeter' },
      etcd: { endpoints: ['http://a:2379', 'http://b:2379'] },
      waitForPortMs: 0,
      drainSeconds: 0.5,
    });
    expect(parseRegisterFlags({ ...baseFlags, ipv6: true, cidr: 'fd00::/8' })).toMatchObject({ family: 6, cidr: 'fd00::/8' });
  });

  it('parses health-check specs', () => {
    expect(parseHealthCheckFlag('tcp')).toEqual({ type: 'tcp' });
    expect(parseHealthCheckFlag('http')).toEqual({ type: 'http' });
    expect(parseHealthCheckFlag('http:/healthz')).toEqual({ type: 'http', path: '/healthz' });
    expect(parseHealthCheckFlag('grpc')).toEqual({ type: 'grpc' });
    expect(() => parseHealthCheckFlag('http:healthz')).toThrow(/--health-check must be/);
    expect(() => parseHealthCheckFlag('udp')).toThrow(/--health-check must be/);
  });

  it('names the bad flag', () => {
    const bad: Array<[Partial<RegisterFlags>, RegExp]> = [
      [{ port: '0' }, /--port must be an integer from 1 to 65535/],
      [{ port: '80.5' }, /--port must be an integer/],
      [{ ttl: '0' }, /--ttl must be an integer ≥ 1/],
      [{ weight: '-1' }, /--weight must be an integer from 0 to 1000000/],
      [{ priority: '128' }, /--priority must be an integer from 0 to 127/],
      [{ address: 'my-host' }, /--address must be 'auto' or an IPv4\/IPv6 literal/],
      [{ address: '10.0.0.1', interface: 'eth0' }, /only apply with --address auto/],
      [{ metadata: ['=v'] }, /--metadata must look like key=value/],
      [{ service: 'a/b' }, /--service must be/],
      [{ cidr: '10.0.0.0' }, /invalid CIDR/],
      [{ logLevel: 'loud' }, /--log-level must be one of/],
      [{ drainSeconds: 'soon' }, /--drain-seconds must be a number/],
    ];
    for (const [flags, message] of bad) expect(() => parseRegisterFlags({ ...baseFlags, ...flags })).toThrow(message);
  });
});

describe('etcd-xds register (child process, real etcd)', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let server: net.Server;
  let port: number;
  const children: ChildProcess[] = [];

  const read = async (key: string): Promise<Record<string, unknown> | null> => {
    const value = await client.get(key).string();
    return value === null ? null : (JSON.parse(value) as Record<string, unknown>);
  };

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => {
    client?.close();
    server?.close();
    await etcd?.close();
  });

  it('on SIGTERM publishes status draining, then deletes the key and exits 0', async () => {
    const cli = startCli([
      'register', '--service', 'cli-term', '--port', String(port), '--address', '127.0.0.1',
      '--instance-id', 'one', '--ttl', '2', '--drain-seconds', '1.5', '--weight', '4', '--priority', '1',
      '--region', 'eu', '--zone', 'eu-a', '--sub-zone', 'rack1', '--metadata', 'version=v2', '--metadata', 'tier=gold',
      '--health-check', 'http:/healthz', '--etcd-endpoints', etcd.endpoint,
    ]);
    children.push(cli.child);
    const key = '/services/cli-term/one';
    const record = await eventually(() => read(key), (v) => v !== null, `${key} to appear (output: ${cli.output()})`);
    expect(record).toEqual({
      address: '127.0.0.1',
      port,
      weight: 4,
      status: 'serving',
      priority: 1,
      locality: { region: 'eu', zone: 'eu-a', subZone: 'rack1' },
      metadata: { version: 'v2', tier: 'gold' },
      healthCheck: { type: 'http', path: '/healthz' },
    });
    cli.child.kill('SIGTERM');
    await eventually(() => read(key), (v) => v?.status === 'draining', 'status draining');
    await eventually(() => read(key), (v) => v === null, 'the key to be deleted');
    expect(await cli.exited).toBe(0);
  });

  it('after SIGKILL the key vanishes once the 2 s lease expires (no wait for the port)', async () => {
    const idle = await freePort(); // nobody listens: --no-wait-for-port registers anyway
    const cli = startCli([
      'register', '--service', 'cli-kill', '--port', String(idle), '--address', '127.0.0.1',
      '--instance-id', 'one', '--ttl', '2', '--no-wait-for-port', '--etcd-endpoints', etcd.endpoint,
    ]);
    children.push(cli.child);
    const key = '/services/cli-kill/one';
    await eventually(() => read(key), (v) => v !== null, `${key} to appear (output: ${cli.output()})`);
    cli.child.kill('SIGKILL');
    await cli.exited;
    // TTL 2 s plus etcd's expiry sweep (500 ms) and margin.
    await eventually(() => read(key), (v) => v === null, 'the key to expire', 5_000);
  });

  // Each flag's message is covered by the parsing tests above; these prove the exit code and stderr wiring.
  it('exits 2 with a message on bad flags', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--service', 's', '--port', '70000'], /--port must be an integer from 1 to 65535/],
      [['--service', 's', '--port', '80', '--address', 'backend.local'], /IPv4\/IPv6 literal/],
      [['--service', 's', '--port', '80', '--frobnicate'], /unknown option '--frobnicate'/],
    ];
    const results = await Promise.all(
      cases.map(async ([args]) => {
        const cli = startCli(['register', ...args, '--etcd-endpoints', etcd.endpoint]);
        children.push(cli.child);
        return { code: await cli.exited, output: cli.output() };
      }),
    );
    results.forEach(({ code, output }, i) => {
      expect(code, output).toBe(2);
      expect(output).toMatch(cases[i]![1]);
    });
  });
});
