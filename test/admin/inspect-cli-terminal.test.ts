// What `etcd-xds services` and `clients` do to a terminal: hostile text is escaped, a closed pipe ends quietly,
// long values are cut only to fit a terminal, waiting subscribers show, and --watch follows changes.
import { execFile, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { formatTable } from '../../src/cli/inspect-format.js';
import { terminalSafe } from '../../src/cli/terminal-text.js';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { CLI_ENTRY } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { DrivenStream, FixtureState, INSTANCES, waitingStream } from './fixtures.js';
import { FleetState } from './fleet.js';

const OSC52 = '\x1b]52;c;ZWNobyBwd25lZA==\x07';
const ERASE = '\x1b[1A\x1b[2K';
const LONG_REASON = `value rejected: ${'x'.repeat(400)} (end of reason)`;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], { env: { ...process.env, ADMIN_TOKEN: '' }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let state: FixtureState;
let server: AdminServer;
let fleet: AdminServer;

beforeAll(async () => {
  state = new FixtureState();
  const evil = { ...INSTANCES.a, instanceId: `evil${OSC52}`, key: `/services/greeter/evil${OSC52}`, address: '10.0.0.66' };
  const services = new Map(state.view.services);
  services.set('greeter', new Map(state.view.services.get('greeter')!).set(evil.instanceId, evil));
  const rejected = new Map(state.view.rejected);
  rejected.set('/services/orphan/long', { service: 'orphan', key: '/services/orphan/long', reason: LONG_REASON, valuePreview: '?', modRevision: '15', keepsLastGood: false });
  rejected.set(`/services/orphan/${ERASE}`, { service: 'orphan', key: `/services/orphan/${ERASE}`, reason: `bad ${ERASE}value`, valuePreview: '?', modRevision: '16', keepsLastGood: false });
  state.view = { ...state.view, services, rejected };
  const nacking = new DrivenStream(
    { id: '8', protocol: 'sotw', api: 'ads', peer: '127.0.0.1:50008' },
    { id: `node${ERASE}`, cluster: 'c', locality: {}, userAgentName: 'envoy', userAgentVersion: '1', clientFeatures: [] },
  );
  nacking.sotw(TYPE_URL.cluster, [], state.snap);
  nacking.answer(TYPE_URL.cluster, state.snap, `bad cluster ${OSC52}${ERASE}`);
  state.connected = [...state.connected, nacking, waitingStream(state.snap)];
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  server = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger() });
  const big = new FleetState(3000, 2);
  fleet = await startAdminServer({ address: '127.0.0.1:0', state: big, metrics: createAdminMetrics(new MetricsEventHub(), big, { processMetrics: false }), logger: silentLogger() });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await fleet?.close();
});

describe('terminal safety', () => {
  it('shows control characters as visible escapes', () => {
    expect(terminalSafe(`a${OSC52}b`)).toBe('a\\x1b]52;c;ZWNobyBwd25lZA==\\x07b');
    expect(terminalSafe('\u009b2J\u202eevil\nline\u007f')).toBe('\\x9b2J\\u202eevil\\nline\\x7f');
    expect(terminalSafe('plain text, ünïcödé')).toBe('plain text, ünïcödé');
  });

  it('services, services NAME and clients print no control character from etcd or a client', async () => {
    for (const args of [['services'], ['services', 'greeter'], ['services', 'orphan'], ['clients']]) {
      const { code, stdout } = await run([...args, '--admin', server.address]);
      expect(code).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    }
    const services = await run(['services', '--admin', server.address]);
    expect(services.stdout).toContain('evil\\x1b]52;c;ZWNobyBwd25lZA==\\x07');
    expect(services.stdout).toContain('bad \\x1b[1A\\x1b[2Kvalue');
    const clients = await run(['clients', '--admin', server.address]);
    expect(clients.stdout).toContain('node\\x1b[1A\\x1b[2K');
    expect(clients.stdout).toContain('CDS: bad cluster \\x1b]52');
  });

  it('--json stays the raw JSON', async () => {
    const { stdout } = await run(['clients', '--admin', server.address, '--json']);
    const body = JSON.parse(stdout) as { clients: { node: { id: string } | null }[] };
    expect(body.clients.map((c) => c.node?.id)).toContain(`node${ERASE}`);
  });
});

describe('output into a pipe', () => {
  it('prints long rejection reasons whole when stdout is not a terminal', async () => {
    const { stdout } = await run(['services', 'orphan', '--admin', server.address]);
    expect(stdout).toContain(LONG_REASON);
  });

  it('cuts only the last column to a terminal width, and nothing without one', () => {
    const rows = [['svc', 'short', LONG_REASON]];
    const narrow = formatTable(['A', 'B', 'REASON'], rows, 80).split('\n');
    expect(narrow.every((line) => line.length <= 80)).toBe(true);
    expect(narrow[1]).toMatch(/^svc {2}short {2}value rejected: x+…$/);
    const wide = formatTable(['A', 'B', 'REASON'], rows, 1000).split('\n');
    expect(wide[1]).toContain(LONG_REASON);
    expect(formatTable(['A', 'B', 'REASON'], rows, undefined)).toContain(LONG_REASON);
  });

  it('`services | head -3` ends quietly with status 0 when head stops reading', async () => {
    const cli = `"${process.execPath}" --import tsx "${CLI_ENTRY}" services --admin ${fleet.address}`;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-c', `set -o pipefail; ${cli} | head -3`], { env: { ...process.env, ADMIN_TOKEN: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(3);
  });
});

describe('waiting for what is not served', () => {
  it('clients shows a subscription to an unknown name as waiting, not SYNCED', async () => {
    const { stdout } = await run(['clients', '--admin', server.address]);
    const line = stdout.split('\n').find((l) => l.startsWith('waiting-client'))!;
    expect(line.split(/\s{2,}/).slice(4, 8)).toEqual(['SYNCED', '-', 'WAITING 1 (NOT_FOUND)', '-']);
    expect(stdout).toMatch(/1 NOT_FOUND/);
  });

  it('services NAME lists the nodes waiting for a service nobody registered', async () => {
    const { code, stdout, stderr } = await run(['services', 'nosuch', '--admin', server.address]);
    expect(code).toBe(1);
    expect(stderr).toContain('no service named "nosuch"');
    expect(stdout).toContain('Waiting for it, NOT_FOUND (1 stream):');
    expect(stdout).toMatch(/LDS\s+waiting-client\s+clients\s+delta\/ads/);
  });
});

describe('--watch', () => {
  it('prints the table again when it changes, and exits 0 on Ctrl-C', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'services', 'payments', '--watch', '--admin', server.address], {
      env: { ...process.env, ADMIN_TOKEN: '' },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => stdout, (s) => s.includes('p1'), 'the first table');
      const saved = state.view;
      const services = new Map(saved.services);
      const fresh = { ...INSTANCES.p1, instanceId: 'p2', key: '/services/payments/p2', address: 'fd00::2' };
      services.set('payments', new Map(saved.services.get('payments')!).set('p2', fresh));
      state.view = { ...saved, services };
      await eventually(async () => stdout, (s) => s.includes('[fd00::2]:9090'), 'the redrawn table');
      // Printed once per change, not once per poll.
      expect(stdout.split('versions: ').length - 1).toBe(2);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
