// `etcd-xds config status` as a person runs it: a child process against a real admin listener over the fixtures'
// configuration, its rows, filters and JSON, and a value from etcd that tries to drive the terminal.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigResponse } from '../../src/admin/config-view.js';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { ConfigStore } from '../../src/config/store.js';
import { silentLogger } from '../../src/logger.js';
import { CLI_ENTRY } from '../support/cli.js';
import { CONFIG_PREFIX, FixtureState, withEnvoyViews } from './fixtures.js';
import { MetricsEventHub } from './metrics-hub.js';

const ERASE = '\x1b[1A\x1b[2K';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], { env: { ...process.env, ADMIN_TOKEN: '' }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function cells(output: string, first: string, second: string): string[] {
  const line = output.split('\n').find((l) => l.startsWith(`${first} `) && l.split(/\s{2,}/)[1] === second);
  if (!line) throw new Error(`no row ${first} ${second} in:\n${output}`);
  return line.split(/\s{2,}/);
}

let state: FixtureState;
let server: AdminServer;

beforeAll(async () => {
  state = new FixtureState();
  withEnvoyViews(state);
  // The fixtures' configuration, and one more key whose name and reason carry a terminal escape sequence.
  const store = new ConfigStore({ prefix: CONFIG_PREFIX });
  for (const [key, object] of [...state.configView.policies, ...state.configView.gateways].map(([, o]) => [o.key, o] as const)) {
    store.applyPut(key, JSON.stringify(object.spec), object.modRevision);
  }
  store.applyPut(`${CONFIG_PREFIX}services/payments`, JSON.stringify({ connectTimeout: 'soon' }), '23');
  store.applyPut(`${CONFIG_PREFIX}services/evil${ERASE}`, '{}', '25');
  state.configView = store.view();
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  server = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger() });
});
afterAll(async () => {
  await server?.close();
});

describe('etcd-xds config status', () => {
  it('prints each key with its state, revision, the nodes it reaches and why it was rejected', async () => {
    const { code, stdout, stderr } = await run(['config', 'status', '--admin', server.address]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]!.split(/\s{2,}/)).toEqual(['KIND', 'NAME', 'STATE', 'REVISION', 'REACHES', 'REASON']);
    expect(cells(stdout, 'ServicePolicy', 'greeter')).toEqual(['ServicePolicy', 'greeter', 'serving', '20', '4 nodes: edge-proxy, envoy-front, gateway-1, …', '-']);
    expect(cells(stdout, 'ServicePolicy', 'payments')).toEqual([
      'ServicePolicy',
      'payments',
      'rejected, last good value serving',
      '23 (serving 22)',
      '4 nodes: edge-proxy, envoy-front, envoy-scoped, …',
      'connectTimeout: expected a duration like "1.5s", got "soon"',
    ]);
    expect(cells(stdout, 'Gateway', 'edge').slice(2, 5)).toEqual(['serving', '21', '1 node: gateway-1']);
    expect(stdout.trimEnd().split('\n').pop()).toBe('4 keys · 2 serving · 2 rejected (1 keeping the last good value) · revision 25');
  });

  it('shows an escape sequence from etcd as visible text', async () => {
    const { stdout } = await run(['config', 'status', '--admin', server.address, '--state', 'rejected']);
    expect(stdout).not.toContain('\x1b');
    expect(stdout).toContain('evil\\x1b[1A\\x1b[2K');
    expect(stdout.split('\n').filter((l) => l.startsWith('ServicePolicy'))).toHaveLength(2);
  });

  it('filters by name and kind, prints the JSON with --json, and fails for a name nothing has', async () => {
    const one = await run(['config', 'status', 'edge', '--kind', 'gateway', '--admin', server.address]);
    expect(one.stdout.split('\n').filter((l) => /^(Gateway|ServicePolicy) /.test(l))).toHaveLength(1);
    const json = await run(['config', 'status', '--json', '--admin', server.address]);
    const body = JSON.parse(json.stdout) as ConfigResponse;
    expect(body.entries.map((e) => e.name)).toEqual(['edge', `evil${ERASE}`, 'greeter', 'payments']);
    expect(body.nextCursor).toBeNull();
    const missing = await run(['config', 'status', 'nosuch', '--admin', server.address]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no configuration object named "nosuch"');
    const bad = await run(['config', 'status', '--kind', 'Route', '--admin', server.address]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown kind "Route": use ServicePolicy or Gateway');
  });
});
