// etcd unreachable: the last snapshot keeps serving, and /readyz and /debug/services say why and since when.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

let etcd: TestEtcd;
let cp: TestControlPlane;

beforeAll(async () => {
  etcd = await startTestEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  await client.put('/services/outage/1').value('10.2.0.1:80');
  client.close();
  cp = await startTestControlPlane(etcd, { healthChecks: false });
});

afterAll(async () => {
  await cp?.plane.close();
  await etcd?.close();
});

describe('an etcd outage as the admin API reports it', () => {
  it('says why and since when, keeps serving, and clears once etcd is back', async (ctx) => {
    if (!etcd.controllable) ctx.skip();
    await etcd.stop();
    const readyz = await eventually(
      async () => (await fetch(`${cp.adminUrl}/readyz`)).json() as Promise<{ ready: boolean; watch: string; etcd?: { error: string; since?: string } }>,
      (body) => body.etcd?.since !== undefined,
      '/readyz to report the etcd failure',
    );
    expect(readyz.ready).toBe(true); // the last snapshot keeps serving
    expect(readyz.watch).not.toBe('watching');
    expect(readyz.etcd!.error.length).toBeGreaterThan(0);
    expect(Date.parse(readyz.etcd!.since!)).toBeLessThanOrEqual(Date.now());
    const services = (await (await fetch(`${cp.adminUrl}/debug/services`)).json()) as { watch: { lastError?: string }; services: Array<{ name: string }> };
    expect(services.watch.lastError).toBeDefined();
    expect(services.services.map((s) => s.name)).toContain('outage');

    await etcd.start();
    await eventually(
      async () => (await fetch(`${cp.adminUrl}/readyz`)).json() as Promise<{ watch: string; etcd?: unknown }>,
      (body) => body.watch === 'watching' && body.etcd === undefined,
      '/readyz to clear once etcd is back',
      30_000,
    );
  });
});
