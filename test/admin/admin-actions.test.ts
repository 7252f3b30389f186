// POST /actions/drain and /actions/deregister over a real listener, with a recording AdminActions (the admin
// API's boundary: the etcd side has its own tests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionRefused, type AdminActions } from '../../src/admin/actions.js';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { silentLogger } from '../../src/logger.js';
import { FixtureState } from './fixtures.js';

const TOKEN = 'actions-test-token';

class RecordingActions implements AdminActions {
  readonly calls: unknown[][] = [];
  async drain(service: string, instanceId: string): Promise<void> {
    if (instanceId === 'gone') throw new ActionRefused(404, `no instance ${service}/${instanceId}`);
    if (instanceId === 'broken') throw new Error('etcd unavailable');
    this.calls.push(['drain', service, instanceId]);
  }
  async deregister(service: string, instanceId: string, afterDrainSeconds?: number): Promise<void> {
    this.calls.push(['deregister', service, instanceId, afterDrainSeconds]);
  }
}

let actions: RecordingActions;
let open: AdminServer;
let guarded: AdminServer;
let without: AdminServer;

function post(server: AdminServer, path: string, init: { body?: unknown; headers?: Record<string, string>; method?: string } = {}) {
  return fetch(`http://${server.address}${path}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
}

const ACTION = { 'x-etcd-xds-action': '1' };

beforeAll(async () => {
  actions = new RecordingActions();
  const state = new FixtureState();
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  const base = { address: '127.0.0.1:0', state, metrics, logger: silentLogger() };
  open = await startAdminServer({ ...base, actions });
  guarded = await startAdminServer({ ...base, actions, token: TOKEN });
  without = await startAdminServer(base);
});
afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close(), without?.close()]);
});

describe('without a token (loopback)', () => {
  it('drains and deregisters with the action header, from a JSON body or the query', async () => {
    const drained = await post(open, '/actions/drain', { body: { service: 'greeter', instance: 'a' }, headers: ACTION });
    expect(drained).toEqual({ status: 200, body: { ok: true, action: 'drain', service: 'greeter', instance: 'a' } });
    const deregistered = await post(open, '/actions/deregister?service=greeter&instance=b&afterDrainSeconds=5', { headers: ACTION });
    expect(deregistered.status).toBe(200);
    expect(actions.calls).toEqual([
      ['drain', 'greeter', 'a'],
      ['deregister', 'greeter', 'b', 5],
    ]);
  });

  it('refuses a request without the action header, so a web page cannot post one', async () => {
    const before = actions.calls.length;
    const refused = await post(open, '/actions/drain', { body: { service: 'greeter', instance: 'a' } });
    expect(refused.status).toBe(403);
    expect(String(refused.body.error)).toContain('x-etcd-xds-action');
    expect(actions.calls.length).toBe(before);
  });

  it('answers 405 to GET, 400 to bad arguments, and passes on a refusal from the implementation', async () => {
    expect((await post(open, '/actions/drain', { method: 'GET', headers: ACTION })).status).toBe(405);
    expect((await post(open, '/debug/services', { headers: ACTION })).status).toBe(405);
    for (const body of [{}, { service: 'greeter' }, { service: 'a/b', instance: 'x' }, { service: 'greeter', instance: 'a\u001b[2K' }, { service: 'greeter', instance: 'a', afterDrainSeconds: -1 }]) {
      expect((await post(open, '/actions/deregister', { body, headers: ACTION })).status).toBe(400);
    }
    const notJson = await fetch(`http://${open.address}/actions/drain`, { method: 'POST', headers: ACTION, body: '{nope' });
    expect(notJson.status).toBe(400);
    expect((await post(open, '/actions/drain', { body: { service: 'greeter', instance: 'gone' }, headers: ACTION })).status).toBe(404);
    const failed = await post(open, '/actions/drain', { body: { service: 'greeter', instance: 'broken' }, headers: ACTION });
    expect(failed.status).toBe(500);
    expect(failed.body.error).toBe('etcd unavailable');
  });

  it('answers 501 when the server was started without actions', async () => {
    const { status, body } = await post(without, '/actions/drain', { body: { service: 'greeter', instance: 'a' }, headers: ACTION });
    expect(status).toBe(501);
    expect(String(body.error)).toContain('drain');
  });
});

describe('with a token', () => {
  it('requires the bearer token (never ?token=) and then needs no action header', async () => {
    const args = { service: 'payments', instance: 'p1' };
    expect((await post(guarded, '/actions/drain', { body: args, headers: ACTION })).status).toBe(401);
    expect((await post(guarded, `/actions/drain?token=${TOKEN}`, { body: args, headers: ACTION })).status).toBe(401);
    const ok = await post(guarded, '/actions/drain', { body: args, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(actions.calls.at(-1)).toEqual(['drain', 'payments', 'p1']);
  });
});
