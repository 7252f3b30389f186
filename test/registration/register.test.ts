import net from 'node:net';
import os from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { register, type Registration } from '../../src/index.js';
import { freePort, startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
import { leaseRenewedAfter } from '../support/lease-renewal.js';

async function listen(port = 0): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

describe('register() against a real etcd', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let server: net.Server;
  const open: Registration[] = [];

  async function keyState(key: string): Promise<{ value: Record<string, unknown>; lease: string } | null> {
    const res = await client.get(key).exec();
    const kv = res.kvs[0];
    return kv ? { value: JSON.parse(kv.value.toString()) as Record<string, unknown>, lease: kv.lease } : null;
  }

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    server = await listen();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.deregister()));
  });
  afterAll(async () => {
    client?.close();
    server?.close();
    await etcd?.close();
  });

  it('writes the native JSON record at <prefix><service>/<instanceId> under a lease it keeps alive', async () => {
    const reg = await register({
      service: 'greeter',
      port: portOf(server),
      address: '127.0.0.1',
      etcd: client,
      ttlSeconds: 2,
      weight: 3,
      priority: 1,
      locality: { region: 'eu-west-1', zone: 'eu-west-1a', subZone: 'rack1' },
      metadata: { version: 'v2' },
      healthCheck: { type: 'http', path: '/healthz', intervalMs: 5000 },
      instanceId: 'greeter-1',
    });
    const registeredAt = performance.now(); // after the grant: see leaseRenewedAfter
    open.push(reg);
    expect(reg.key).toBe('/services/greeter/greeter-1');
    const expected = {
      address: '127.0.0.1',
      port: portOf(server),
      weight: 3,
      status: 'serving',
      priority: 1,
      locality: { region: 'eu-west-1', zone: 'eu-west-1a', subZone: 'rack1' },
      metadata: { version: 'v2' },
      healthCheck: { type: 'http', path: '/healthz', intervalMs: 5000 },
    };
    expect(reg.instance).toEqual(expected);
    const state = await keyState(reg.key);
    expect(state?.value).toEqual(expected);
    expect(state?.lease).toBe(reg.leaseId());
    // Kept alive: etcd renews the 2 s lease, and the key stays under it.
    await leaseRenewedAfter(client, reg.leaseId()!, 2, registeredAt);
    expect((await keyState(reg.key))?.lease).toBe(reg.leaseId());
  });

  it('defaults the instance id to hostname-address-port, weight 1, priority 0, and honours a custom prefix', async () => {
    const port = portOf(server);
    const reg = await register({ service: 'echo', port, address: '127.0.0.1', etcd: client, prefix: '/custom' });
    open.push(reg);
    expect(reg.key).toBe(`/custom/echo/${os.hostname()}-127.0.0.1-${port}`);
    expect((await keyState(reg.key))?.value).toEqual({
      address: '127.0.0.1',
      port,
      weight: 1,
      status: 'serving',
      priority: 0,
      locality: {},
      metadata: {},
    });
  });

  it('deregister() deletes the key and revokes the lease at once; a second call is a no-op', async () => {
    const reg = await register({ service: 'dereg', port: portOf(server), address: '127.0.0.1', etcd: client, instanceId: 'i' });
    const leaseId = reg.leaseId()!;
    await reg.deregister();
    expect(await keyState(reg.key)).toBeNull();
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: leaseId });
    expect(ttl.TTL).toBe('-1'); // etcd's answer for a lease that no longer exists
    expect(reg.leaseId()).toBeUndefined();
    await expect(reg.deregister()).resolves.toBeUndefined();
    await expect(reg.drain()).resolves.toBeUndefined();
    // The caller's client stays usable: the SDK only closes clients it created.
    await client.put('/probe/still-open').value('yes');
  });

  it('drain() publishes status draining under the same lease, then deletes the key after drainSeconds', async () => {
    const reg = await register({
      service: 'drainer',
      port: portOf(server),
      address: '127.0.0.1',
      etcd: client,
      instanceId: 'i',
      drainSeconds: 1,
    });
    const leaseId = reg.leaseId();
    const draining = reg.drain();
    const during = await eventually(() => keyState(reg.key), (s) => s?.value.status === 'draining', 'status draining');
    expect(during?.lease).toBe(leaseId);
    expect(reg.instance.status).toBe('draining');
    await draining;
    expect(await keyState(reg.key)).toBeNull();
    await expect(reg.drain()).resolves.toBeUndefined();
  });

  it('deregister() during a drain cuts the drain short', async () => {
    const reg = await register({
      service: 'drainer',
      port: portOf(server),
      address: '127.0.0.1',
      etcd: client,
      instanceId: 'j',
      drainSeconds: 30,
    });
    const drained = reg.drain();
    await eventually(() => keyState(reg.key), (s) => s?.value.status === 'draining', 'status draining');
    await reg.deregister();
    await drained;
    expect(await keyState(reg.key)).toBeNull();
  });

  it('close() during a drain leaves the key to its lease and does not announce a deregistration', async () => {
    const reg = await register({
      service: 'drainer',
      port: portOf(server),
      address: '127.0.0.1',
      etcd: client,
      instanceId: 'k',
      drainSeconds: 30,
      ttlSeconds: 2,
    });
    let deregistered = false;
    reg.on('deregistered', () => (deregistered = true));
    const drained = reg.drain();
    await eventually(() => keyState(reg.key), (s) => s?.value.status === 'draining', 'status draining');
    reg.close();
    await drained;
    expect(deregistered).toBe(false);
    // Keep-alive stopped: the key goes when its lease expires, as if the process had died.
    expect((await keyState(reg.key))?.value.status).toBe('draining');
    await eventually(() => keyState(reg.key), (s) => s === null, 'the key to expire with its lease', 10_000);
  });

  it('registers again under a new lease when its lease is revoked from outside', async () => {
    const reg = await register({
      service: 'revoked',
      port: portOf(server),
      address: '127.0.0.1',
      etcd: client,
      instanceId: 'i',
      ttlSeconds: 2,
    });
    open.push(reg);
    const lost: string[] = [];
    reg.on('lost', (e) => lost.push(e.leaseId));
    const first = reg.leaseId()!;
    await client.leaseClient.leaseRevoke({ ID: first });
    const state = await eventually(
      () => keyState(reg.key),
      (s) => s !== null && s.lease !== first && s.lease === reg.leaseId(),
      'the key under a new lease',
    );
    expect(state?.value.status).toBe('serving');
    expect(lost).toEqual([first]);
  });

  it('creates and closes its own client when given endpoints', async () => {
    const reg = await register({
      service: 'owned',
      port: portOf(server),
      address: '127.0.0.1',
      etcd: { endpoints: [etcd.endpoint] },
      instanceId: 'i',
    });
    expect(await keyState(reg.key)).not.toBeNull();
    await reg.deregister();
    expect(await keyState(reg.key)).toBeNull();
  });

  it('waits until the port accepts connections before registering', async () => {
    const port = await freePort();
    let late: net.Server | undefined;
    const timer = setTimeout(() => void listen(port).then((s) => (late = s)), 700);
    const started = Date.now();
    const reg = await register({ service: 'late', port, address: '127.0.0.1', etcd: client, instanceId: 'i' });
    open.push(reg);
    clearTimeout(timer);
    expect(late).toBeDefined(); // registration happened only after the listener existed
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(await keyState(reg.key)).not.toBeNull();
    late?.close();
  });

  it('fails with a clear error when the port never accepts connections, writing nothing', async () => {
    const port = await freePort();
    await expect(
      register({ service: 'never', port, address: '127.0.0.1', etcd: client, instanceId: 'i', waitForPortMs: 600 }),
    ).rejects.toThrow(`port ${port} on 127.0.0.1 did not accept connections within 600 ms`);
    expect(await keyState('/services/never/i')).toBeNull();
  });

  it('rejects invalid options naming the field', async () => {
    await expect(register({ service: 'bad name!', port: 1, etcd: client })).rejects.toThrow(/service: service name/);
    await expect(register({ service: 'ok', port: 70000, etcd: client })).rejects.toThrow(/port: port must be 1–65535/);
    await expect(register({ service: 'ok', port: 80, address: 'example.com', etcd: client })).rejects.toThrow(
      /address: .*IPv4 or IPv6 literal/,
    );
  });

  it('registers again after etcd was down for longer than the TTL', async ({ skip }) => {
    if (!etcd.controllable) skip('etcd from ETCD_ENDPOINTS cannot be stopped');
    const reg = await register({
      service: 'outage',
      port: portOf(server),
      address: '127.0.0.1',
      etcd: { endpoints: [etcd.endpoint] },
      instanceId: 'i',
      ttlSeconds: 2,
    });
    open.push(reg);
    const before = reg.leaseId()!;
    const reRegistered = new Promise<string>((resolve) => reg.on('registered', (e) => e.again && resolve(e.leaseId)));
    const lost = new Promise<void>((resolve) => reg.once('lost', () => resolve()));
    await etcd.stop();
    await lost; // etcd3 declares the lease lost once the TTL ran out without a keep-alive answered
    await etcd.start();
    const leaseId = await reRegistered;
    expect(leaseId).not.toBe(before);
    const state = await eventually(() => keyState(reg.key), (s) => s?.lease === leaseId, 'the key under the new lease');
    expect(state?.value.status).toBe('serving');
    // The new lease is kept alive: etcd renews it, and the key stays under it.
    await leaseRenewedAfter(client, leaseId, 2, performance.now());
    expect((await keyState(reg.key))?.lease).toBe(leaseId);
  });
});
