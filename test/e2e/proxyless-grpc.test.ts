// A real proxyless gRPC client (@grpc/grpc-js-xds, `xds:///greeter`) balancing real calls across backends that
// are registered in a real etcd in each of the three value formats.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startTestControlPlane, writeXdsBootstrap, type TestControlPlane } from '../support/control-plane.js';
import { eventually } from '../support/eventually.js';

const SERVICE = 'greeter';

describe('proxyless gRPC end to end', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cp: TestControlPlane;
  let backends: Record<'json' | 'go' | 'hostport', GreeterServer>;
  let greeter: ReturnType<typeof greeterClient>;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    backends = {
      json: await startGreeterServer({ service: SERVICE, instanceId: 'json', host: '127.0.0.1' }),
      go: await startGreeterServer({ service: SERVICE, instanceId: 'go', host: '127.0.0.1' }),
      hostport: await startGreeterServer({ service: SERVICE, instanceId: 'hostport', host: '127.0.0.1' }),
    };
    await client.put(`/services/${SERVICE}/json`).value(JSON.stringify({ address: '127.0.0.1', port: backends.json.port, metadata: { protocol: 'grpc' } }));
    await client.put(`/services/${SERVICE}/127.0.0.1:${backends.go.port}`).value(JSON.stringify({ Op: 0, Addr: `127.0.0.1:${backends.go.port}`, Metadata: null }));
    await client.put(`/services/${SERVICE}/hostport`).value(`127.0.0.1:${backends.hostport.port}`);
    cp = await startTestControlPlane(etcd);
    process.env.GRPC_XDS_BOOTSTRAP = writeXdsBootstrap(cp.xdsAddress);
    (await import('@grpc/grpc-js-xds')).register();
    greeter = greeterClient(`xds:///${SERVICE}`);
  });

  afterAll(async () => {
    greeter?.close();
    await cp?.plane.close();
    await Promise.all(Object.values(backends ?? {}).map((b) => b.close()));
    client?.close();
    await etcd?.close();
  });

  /** Who answered `count` sequential calls. */
  async function spread(count: number): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < count; i++) {
      const reply = await greeter.sayHello(`call ${i}`);
      seen[reply.instance_id] = (seen[reply.instance_id] ?? 0) + 1;
    }
    return seen;
  }

  const answered = (seen: Record<string, number>) => Object.keys(seen).sort();

  it('spreads calls over the three backends, one per value format', async () => {
    const seen = await eventually(() => spread(30), (s) => answered(s).length === 3, 'calls on all three backends');
    expect(answered(seen)).toEqual(['go', 'hostport', 'json']);
  });

  it('stops calling an instance whose key is deleted', async () => {
    await client.delete().key(`/services/${SERVICE}/hostport`);
    await eventually(() => spread(30), (s) => answered(s).join() === 'go,json', 'calls only on go and json');
    const before = backends.hostport.calls();
    expect(answered(await spread(30))).toEqual(['go', 'json']);
    expect(backends.hostport.calls()).toBe(before);
  });

  it('sends no new calls to a draining instance, nor to one with weight 0', async () => {
    await client.put(`/services/${SERVICE}/json`).value(JSON.stringify({ address: '127.0.0.1', port: backends.json.port, status: 'draining' }));
    await eventually(() => spread(20), (s) => answered(s).join() === 'go', 'calls only on go while json drains');
    const drainingCalls = backends.json.calls();
    expect(answered(await spread(20))).toEqual(['go']);
    expect(backends.json.calls()).toBe(drainingCalls);

    await client.put(`/services/${SERVICE}/json`).value(JSON.stringify({ address: '127.0.0.1', port: backends.json.port }));
    await eventually(() => spread(20), (s) => answered(s).join() === 'go,json', 'json back in rotation');
    await client.put(`/services/${SERVICE}/json`).value(JSON.stringify({ address: '127.0.0.1', port: backends.json.port, weight: 0 }));
    await eventually(() => spread(20), (s) => answered(s).join() === 'go', 'weight 0 treated as draining');
  });

  it('drops an instance whose lease expires', async () => {
    const lease = client.lease(2, { autoKeepAlive: false });
    await lease.put(`/services/${SERVICE}/json`).value(JSON.stringify({ address: '127.0.0.1', port: backends.json.port }));
    await eventually(() => spread(20), (s) => answered(s).join() === 'go,json', 'json registered under a lease');
    // No keep-alive: etcd expires the lease after its TTL and the key goes with it.
    await eventually(() => spread(20), (s) => answered(s).join() === 'go', 'json gone after lease expiry', 15_000);
    expect(await client.get(`/services/${SERVICE}/json`).string()).toBeNull();
  });
});
