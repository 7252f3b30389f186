// `etcd-xds services` / `etcd-xds clients` as a person runs them: a child process against a real admin listener.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { silentLogger } from '../../src/logger.js';
import { freePort } from '../support/etcd.js';
import { FixtureState, NACK_MESSAGE } from './fixtures.js';
import { CLI_ENTRY } from '../support/cli.js';

const ENTRY = CLI_ENTRY;
const TOKEN = 'cli-test-token';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ENTRY, ...args],
      { env: { ...process.env, ADMIN_TOKEN: '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The row of a table whose cells start with the given ones. */
function row(output: string, ...cells: string[]): string {
  const line = output.split('\n').find((l) => l.split(/\s{2,}/).slice(0, cells.length).join('|') === cells.join('|'));
  if (!line) throw new Error(`no row starting with ${cells.join(', ')} in:\n${output}`);
  return line;
}

let state: FixtureState;
let open: AdminServer;
let guarded: AdminServer;

beforeAll(async () => {
  state = new FixtureState();
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  open = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger() });
  guarded = await startAdminServer({ address: '127.0.0.1:0', token: TOKEN, state, metrics, logger: silentLogger() });
});
afterAll(async () => {
  await open?.close();
  await guarded?.close();
});

describe('etcd-xds services', () => {
  it('prints instances as an aligned table, then rejected registrations and a summary', async () => {
    const { code, stdout, stderr } = await run(['services', '--admin', open.address]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const header = lines[0]!;
    expect(header.split(/\s{2,}/)).toEqual(['SERVICE', 'INSTANCE', 'ADDRESS', 'WEIGHT', 'LOCALITY', 'HEALTH', 'PROBE', 'LEASE']);
    const a = row(stdout, 'greeter', 'a');
    expect(a.split(/\s{2,}/)).toEqual(['greeter', 'a', '10.0.0.5:8080', '2', 'eu-west-1/eu-west-1a', 'HEALTHY', 'http ok', '694d86c3f9cbea14']);
    // Columns line up under their headers.
    expect(a.indexOf('10.0.0.5:8080')).toBe(header.indexOf('ADDRESS'));
    expect(a.indexOf('HEALTHY')).toBe(header.indexOf('HEALTH'));
    expect(row(stdout, 'greeter', 'b')).toContain('DRAINING');
    expect(row(stdout, 'greeter', 'c').split(/\s{2,}/).slice(5, 7)).toEqual([
      'UNHEALTHY',
      'tcp down (connect ECONNREFUSED 10.0.0.7:8080)',
    ]);
    expect(row(stdout, 'payments', 'p1')).toContain('[fd00::1]:9090');
    expect(row(stdout, 'orphan', '(none)')).toBeTruthy();
    expect(stdout).toContain('Rejected registrations:');
    expect(row(stdout, 'greeter', '/services/greeter/bad')).toMatch(/\bno\s+address "db.internal" is a hostname: Envoy EDS and gRPC clients need an IP literal$/);
    expect(row(stdout, 'payments', '/services/payments/p1')).toMatch(/\byes\s+port 70000 is out of range/);
    // Counted like the etcd_xds_services metric: every service listed, by state.
    expect(stdout).toContain(
      '3 services (2 live, 0 empty, 1 rejected only) · 4 instances (1 unhealthy, 1 draining) · 3 rejected entries · etcd revision 42 · watch watching',
    );
  });

  it('shows one service with its resource versions and the nodes that watch it', async () => {
    const { code, stdout } = await run(['services', 'greeter', '--admin', open.address]);
    expect(code).toBe(0);
    expect(stdout).not.toContain('payments');
    expect(stdout).toMatch(/versions: CDS [0-9a-f]{16} · EDS [0-9a-f]{16}/);
    expect(stdout).toContain('Subscribers (2 streams):');
    expect(row(stdout, 'CDS', 'envoy-front').split(/\s{2,}/)).toEqual(['CDS', 'envoy-front', 'front-proxy', 'sotw/ads', '127.0.0.1:50001', 'wildcard']);
    expect(row(stdout, 'EDS', 'grpc-client-7')).toMatch(/delta\/ads.*named$/);
  });

  it('prints the raw JSON with --json', async () => {
    const { code, stdout } = await run(['services', '--admin', open.address, '--json']);
    expect(code).toBe(0);
    const body = JSON.parse(stdout) as { services: { name: string }[]; revision: string };
    expect(body.revision).toBe('42');
    expect(body.services.map((s) => s.name)).toEqual(['greeter', 'orphan', 'payments']);
  });

  it('fails with a clear message for an unknown service', async () => {
    const { code, stderr } = await run(['services', 'nope', '--admin', open.address]);
    expect(code).toBe(1);
    expect(stderr).toContain('no service named "nope"');
  });
});

describe('etcd-xds clients', () => {
  it('prints each stream with its per-type status and the last NACK', async () => {
    const { code, stdout } = await run(['clients', '--admin', open.address]);
    expect(code).toBe(0);
    const header = stdout.split('\n')[0]!;
    expect(header.split(/\s{2,}/)).toEqual(['NODE ID', 'CLUSTER', 'PROTOCOL', 'PEER', 'CDS', 'EDS', 'LDS', 'RDS', 'LAST NACK']);
    expect(row(stdout, 'grpc-client-7').split(/\s{2,}/)).toEqual([
      'grpc-client-7',
      'clients',
      'delta/ads',
      '127.0.0.1:50002',
      'SYNCED',
      'NACKED',
      '-',
      '-',
      `EDS: ${NACK_MESSAGE}`,
    ]);
    expect(row(stdout, 'envoy-front').split(/\s{2,}/).slice(4)).toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', '-']);
    expect(row(stdout, 'edge-proxy').split(/\s{2,}/).slice(2, 6)).toEqual(['sotw/eds', '[::1]:50003', '-', expect.stringMatching(/^STALE \d+s$/)]);
    expect(stdout.trimEnd().split('\n').pop()).toBe('3 streams: 1 SYNCED, 1 STALE, 1 NACKED');
  });
});

describe('reaching the admin API', () => {
  it('asks for a token when the server wants one, and uses ADMIN_TOKEN or --token', async () => {
    const without = await run(['clients', '--admin', guarded.address]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('requires a token: pass --token or set ADMIN_TOKEN');
    const wrong = await run(['clients', '--admin', guarded.address, '--token', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('rejected the token');
    expect((await run(['clients', '--admin', guarded.address], { ADMIN_TOKEN: TOKEN })).code).toBe(0);
    expect((await run(['services', '--admin', guarded.address, '--token', TOKEN])).code).toBe(0);
  });

  it('exits 1 with a clear error when nothing listens there', async () => {
    const port = await freePort();
    const { code, stdout, stderr } = await run(['services', '--admin', `127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`cannot reach the admin API at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });
});
