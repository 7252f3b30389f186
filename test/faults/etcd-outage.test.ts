// etcd unreachable, seen from outside: while etcd is down, /readyz and /debug/services keep serving the last
// snapshot and report the watch state, a client connecting meanwhile gets the last assignment, and once etcd is back
// the watch resumes and a change made afterwards reaches the subscribed stream.
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServicesResponse } from '../../src/admin/services-view.js';
import { createEtcdClient } from '../../src/registry/etcd-client.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { EdsWatch, endpointsOf } from '../support/eds-watch.js';
import { hasEtcdBinary } from '../support/etcd-cluster.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

let etcd: TestEtcd;
let client: Etcd3;
let cp: TestControlPlane;
let watch: EdsWatch;

interface Readyz {
  ready: boolean;
  watch: string;
}

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${cp.adminUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as T };
}

/** Service → sorted "address:port" list, as /debug/services publishes it. */
function instancesOf(view: ServicesResponse): Record<string, string[]> {
  return Object.fromEntries(view.services.map((s) => [s.name, s.instances.map((i) => `${i.address}:${i.port}`).sort()]));
}

// Stopping etcd needs the binary this suite spawns (ETCD_ENDPOINTS or a container cannot be stopped and resumed).
describe.runIf(hasEtcdBinary() && !process.env.ETCD_ENDPOINTS)('etcd unreachable', () => {
  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = createEtcdClient(etcd.endpoint);
    await client.put('/services/alpha/a1').value('10.0.1.1:8080');
    await client.put('/services/alpha/a2').value('10.0.1.2:8080');
    await client.put('/services/beta/b1').value('10.0.2.1:9090');
    cp = await startTestControlPlane(etcd, { healthChecks: false });
    watch = new EdsWatch(cp.xdsAddress, 'alpha');
    await watch.waitFor((a) => a.endpoints.length === 2, 'both alpha instances');
  });

  afterAll(async () => {
    watch?.close();
    await cp?.plane.close();
    client?.close();
    await etcd?.close();
  });

  it('keeps serving the last snapshot and reports the watch state while etcd is down, then resumes', async () => {
    const before = await getJson<ServicesResponse>('/debug/services');
    expect(before.body.watch.state).toBe('watching');
    expect(instancesOf(before.body)).toEqual({ alpha: ['10.0.1.1:8080', '10.0.1.2:8080'], beta: ['10.0.2.1:9090'] });
    expect((await getJson<Readyz>('/readyz')).body).toEqual({ ready: true, watch: 'watching' });

    await etcd.stop(); // SIGKILL

    // Seen from outside: the watch is no longer 'watching', and readiness stays (the last snapshot is served).
    await expect.poll(async () => (await getJson<Readyz>('/readyz')).body.watch, { timeout: 15_000 }).not.toBe('watching');
    const readyz = await getJson<Readyz>('/readyz');
    expect(readyz.status).toBe(200);
    expect(readyz.body.ready).toBe(true);
    expect(['reconnecting', 'resyncing', 'syncing']).toContain(readyz.body.watch);

    const during = await getJson<ServicesResponse>('/debug/services');
    expect(during.status).toBe(200);
    expect(during.body.watch.state).toBe(readyz.body.watch);
    expect(during.body.ready).toBe(true);
    expect(during.body.snapshotVersion).toBe(before.body.snapshotVersion);
    expect(during.body.revision).toBe(before.body.revision);
    expect(instancesOf(during.body)).toEqual(instancesOf(before.body));

    // A client that connects during the outage gets the last assignment.
    const late = new AdsTestStream(cp.xdsAddress, 'sotw');
    late.send({ node: { ...NODE, id: 'during-outage' }, type_url: TYPE_URL.endpoint, resource_names: ['beta'] });
    const response = await late.next(10_000);
    late.close();
    expect(endpointsOf(response.resources[0]!.message).map((e) => `${e.address}:${e.port}`)).toEqual(['10.0.2.1:9090']);

    // Still down a while later: the state stays reported and nothing is dropped.
    await expect.poll(() => cp.plane.watcher.stats().reconnects, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(instancesOf((await getJson<ServicesResponse>('/debug/services')).body)).toEqual(instancesOf(before.body));

    await etcd.start();
    await expect.poll(async () => (await getJson<Readyz>('/readyz')).body.watch, { timeout: 20_000 }).toBe('watching');
    await client.put('/services/alpha/a3').value('10.0.1.3:8080');
    await watch.waitFor((a) => a.endpoints.length === 3, 'the instance added after etcd came back', { timeoutMs: 20_000 });
    const after = await getJson<ServicesResponse>('/debug/services');
    expect(after.body.watch.state).toBe('watching');
    expect(after.body.watch.reconnects).toBeGreaterThanOrEqual(1);
    expect(instancesOf(after.body).alpha).toEqual(['10.0.1.1:8080', '10.0.1.2:8080', '10.0.1.3:8080']);
    // The stream saw no assignment without alpha's instances during the outage.
    for (const assignment of watch.history) expect(assignment.endpoints.length).toBeGreaterThanOrEqual(2);
  }, 90_000);
});
