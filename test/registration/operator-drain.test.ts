// Operator-driven drain and deregister against a real etcd: the drain rewrites the value under the same lease, the
// deregister deletes it (draining first when asked), and a live SDK registration keeps to what the operator did.
import net from 'node:net';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { register, type Registration } from '../../src/registration/register.js';
import { deregisterInstance, drainInstance, InstanceNotFoundError } from '../../src/registration/operator-drain.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

describe('operator drain and deregister', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let server: net.Server;
  let port: number;
  const open: Registration[] = [];

  const read = async (key: string): Promise<{ value: Record<string, unknown>; lease: string } | null> => {
    const kv = (await client.get(key).exec()).kvs[0];
    return kv ? { value: JSON.parse(kv.value.toString()) as Record<string, unknown>, lease: kv.lease } : null;
  };
  const registerOne = async (service: string): Promise<Registration> => {
    const registration = await register({ service, port, address: '127.0.0.1', instanceId: 'i1', etcd: client, ttlSeconds: 5, weight: 3, waitForPortMs: 0 });
    open.push(registration);
    return registration;
  };

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.deregister()));
  });
  afterAll(async () => {
    client?.close();
    server?.close();
    await etcd?.close();
  });

  it('drain keeps the lease and every other field; the SDK notices and keeps it draining after a lost lease', async () => {
    const registration = await registerOne('op-drain');
    const drainedBy: string[] = [];
    registration.on('draining', ({ by }) => drainedBy.push(by));
    const before = await read(registration.key);

    const outcome = await drainInstance(client, '/services/', 'op-drain', 'i1');
    expect(outcome).toEqual({ key: '/services/op-drain/i1', leaseId: before!.lease, alreadyDraining: false });
    const after = await read(registration.key);
    expect(after).toEqual({ value: { ...before!.value, status: 'draining' }, lease: before!.lease });
    await eventually(async () => drainedBy, (by) => by.join() === 'operator', 'the SDK to notice the operator drain');
    expect(registration.instance.status).toBe('draining');
    expect(await drainInstance(client, '/services', 'op-drain', 'i1')).toMatchObject({ alreadyDraining: true });

    // The lease is lost (revoked from outside): the SDK registers again, still draining.
    const reRegistered = new Promise<string>((resolve) => registration.once('registered', ({ leaseId }) => resolve(leaseId)));
    await client.leaseClient.leaseRevoke({ ID: before!.lease });
    const newLease = await reRegistered;
    const rewritten = await eventually(() => read(registration.key), (kv) => kv?.lease === newLease, 'the key under the new lease');
    expect(rewritten!.value.status).toBe('draining');
  });

  it('deregister deletes the key; the SDK stops keeping it and revokes its lease instead of writing it back', async () => {
    const registration = await registerOne('op-delete');
    const leaseId = registration.leaseId()!;
    const deregistered = new Promise<string>((resolve) => registration.once('deregistered', ({ by }) => resolve(by)));
    expect(await deregisterInstance(client, '/services/', 'op-delete', 'i1')).toEqual({ key: registration.key, deleted: true });
    expect(await deregistered).toBe('operator');
    expect(registration.leaseId()).toBeUndefined();
    // The lease is gone, so nothing can bring the key back.
    expect(Number((await client.leaseClient.leaseTimeToLive({ ID: leaseId })).TTL)).toBeLessThan(0);
    expect(await read(registration.key)).toBeNull();
  });

  it('deregister --after-drain passes through draining, then deletes', async () => {
    const registration = await registerOne('op-after');
    const seen: string[] = [];
    const watcher = await client.watch().key(registration.key).create();
    watcher.on('put', (kv) => seen.push(`put ${JSON.parse(kv.value.toString()).status}`));
    watcher.on('delete', () => seen.push('delete'));
    try {
      const drained: string[] = [];
      const outcome = await deregisterInstance(client, '/services/', 'op-after', 'i1', 0.3, { onDrained: (d) => drained.push(d.key) });
      expect(outcome).toMatchObject({ deleted: true, drained: { alreadyDraining: false } });
      expect(drained).toEqual([registration.key]);
      await eventually(async () => seen, (events) => events.includes('delete'), 'the delete event');
      expect(seen).toEqual(['put draining', 'delete']);
    } finally {
      await watcher.cancel();
    }
  });

  it('turns address-only values into a native draining record, and refuses missing keys and rejected values', async () => {
    await client.put('/services/op-formats/go').value('{"Op":0,"Addr":"10.0.0.9:9090","Metadata":{"v":"1"}}');
    await client.put('/services/op-formats/bare').value('10.0.0.8:8080');
    await client.put('/services/op-formats/bad').value('not an address');
    await drainInstance(client, '/services/', 'op-formats', 'go');
    expect((await read('/services/op-formats/go'))!.value).toEqual({
      address: '10.0.0.9', port: 9090, weight: 1, status: 'draining', priority: 0, locality: {}, metadata: { v: '1' },
    });
    await drainInstance(client, '/services/', 'op-formats', 'bare');
    expect((await read('/services/op-formats/bare'))!.value).toMatchObject({ address: '10.0.0.8', port: 8080, status: 'draining' });
    await expect(drainInstance(client, '/services/', 'op-formats', 'bad')).rejects.toThrow(/rejected by the control plane/);
    await expect(drainInstance(client, '/services/', 'op-formats', 'nosuch')).rejects.toBeInstanceOf(InstanceNotFoundError);
    await expect(deregisterInstance(client, '/services/', 'op-formats', 'nosuch')).rejects.toBeInstanceOf(InstanceNotFoundError);
    await client.delete().prefix('/services/op-formats/');
  });
});
