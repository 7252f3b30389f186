// The watcher against a real etcd: initial sync, events, rejections, leases.
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdClient } from '../../src/registry/etcd-client.js';
import { silentLogger } from '../../src/logger.js';
import { listPrefix, PageTooLargeError } from '../../src/registry/prefix-listing.js';
import { RegistryWatcher } from '../../src/registry/watcher.js';
import { freePort, startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { addressOf, idsOf, recordChanges, sleep, waitFor } from './view-observation.js';

let etcd: TestEtcd;
let client: Etcd3;
const watchers: RegistryWatcher[] = [];
const clients: Etcd3[] = [];
let prefixCounter = 0;

function uniquePrefix(): string {
  prefixCounter += 1;
  return `/watcher-test-${prefixCounter}/`;
}

function newWatcher(prefix: string, endpoint = etcd.endpoint): RegistryWatcher {
  const watchClient = createEtcdClient(endpoint);
  clients.push(watchClient);
  const watcher = new RegistryWatcher({ client: watchClient, prefix, logger: silentLogger() });
  watchers.push(watcher);
  return watcher;
}

const native = (address: string, port = 8080): string => JSON.stringify({ address, port });

beforeAll(async () => {
  etcd = await startTestEtcd();
  client = createEtcdClient(etcd.endpoint);
});

afterEach(async () => {
  await Promise.all(watchers.splice(0).map((watcher) => watcher.stop()));
  for (const watchClient of clients.splice(0)) watchClient.close();
});

afterAll(async () => {
  client?.close();
  await etcd?.close();
});

describe('RegistryWatcher', () => {
  it('sees keys that existed before it started, in all three formats, and reaches the watching state', async () => {
    const prefix = uniquePrefix();
    await client.put(`${prefix}greeter/a`).value(native('10.0.0.1'));
    await client.put(`${prefix}greeter/b`).value('{"Op":0,"Addr":"10.0.0.2:9000","Metadata":{"zone":"z1"}}');
    await client.put(`${prefix}greeter/c`).value('[::1]:7000');
    await client.put(`${prefix}other/x`).value('not a registration');
    await client.put('/outside-the-prefix/greeter/z').value(native('10.9.9.9'));

    const watcher = newWatcher(prefix);
    const states: string[] = [];
    watcher.on('state', (change) => states.push(change.state));
    const changes = recordChanges(watcher);
    watcher.start();
    await watcher.ready();

    const view = watcher.view();
    expect(idsOf(view, 'greeter')).toEqual(['a', 'b', 'c']);
    expect(view.services.get('greeter')!.get('b')).toMatchObject({ format: 'go-naming', port: 9000, metadata: { zone: 'z1' } });
    expect(view.services.get('greeter')!.get('c')).toMatchObject({ format: 'host-port', address: '::1' });
    expect(view.rejected.get(`${prefix}other/x`)?.reason).toMatch(/has no port/);
    expect(view.services.has('other')).toBe(false);
    expect(changes[0]?.view).toBe(view);
    expect(typeof changes[0]?.changeSeenAt).toBe('number');
    await waitFor(() => watcher.state() === 'watching', 'state watching');
    expect(states).toEqual(['syncing', 'watching']);
    expect(watcher.stats()).toMatchObject({ ready: true, reconnects: 0, resyncs: 0 });
  });

  it('reads a registry larger than one range page', async () => {
    const prefix = uniquePrefix();
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => client.put(`${prefix}bulk/i-${String(i).padStart(2, '0')}`).value(native(`10.1.0.${i + 1}`))),
    );
    const watchClient = createEtcdClient(etcd.endpoint);
    clients.push(watchClient);
    const watcher = new RegistryWatcher({ client: watchClient, prefix, logger: silentLogger(), pageSize: 4 });
    watchers.push(watcher);
    watcher.start();
    await watcher.ready();
    expect(idsOf(watcher.view(), 'bulk')).toHaveLength(25);
    expect(addressOf(watcher.view(), 'bulk', 'i-24')).toBe('10.1.0.25');
  });

  it('lists with smaller pages when a page exceeds the client receive limit', async () => {
    const prefix = uniquePrefix();
    const padded = (i: number): string =>
      JSON.stringify({ address: `10.2.0.${i + 1}`, port: 80, metadata: { pad: 'x'.repeat(60_000) } });
    for (let i = 0; i < 10; i++) await client.put(`${prefix}big/i-${i}`).value(padded(i));
    // 10 values of ~60 KB do not fit one 256 KiB message; 2 or 3 do.
    const smallOptions = { grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 } };
    const probe = createEtcdClient(etcd.endpoint, smallOptions);
    clients.push(probe);
    const failure = await listPrefix(probe, prefix, 10, () => undefined).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(PageTooLargeError);
    expect((failure as PageTooLargeError).suggestedPageSize).toBeGreaterThanOrEqual(1);
    expect((failure as PageTooLargeError).suggestedPageSize).toBeLessThanOrEqual(3);

    const watchClient = createEtcdClient(etcd.endpoint, smallOptions);
    clients.push(watchClient);
    const watcher = new RegistryWatcher({ client: watchClient, prefix, logger: silentLogger(), pageSize: 10 });
    watchers.push(watcher);
    watcher.start();
    await watcher.ready(); // after the etcd3 client's circuit breaker reopens (about 5 s)
    expect(idsOf(watcher.view(), 'big')).toEqual(Array.from({ length: 10 }, (_, i) => `i-${i}`));
  }, 20_000);

  it('rejects bad values with a reason while the other instances keep serving', async () => {
    const prefix = uniquePrefix();
    const watcher = newWatcher(prefix);
    const changes = recordChanges(watcher);
    watcher.start();
    await watcher.ready();
    await client.put(`${prefix}api/good`).value(native('10.0.0.10'));
    const bad: Record<string, string> = {
      malformed: '{"address":"10.0.0.11",',
      badPort: native('10.0.0.12', 70000),
      unknownStatus: JSON.stringify({ address: '10.0.0.13', port: 80, status: 'sleeping' }),
      emptyAddress: JSON.stringify({ address: '', port: 80 }),
      hostname: JSON.stringify({ address: 'api.internal', port: 80 }),
      unknownField: JSON.stringify({ address: '10.0.0.14', port: 80, zone: 'a' }),
      oversized: JSON.stringify({ address: '10.0.0.15', port: 80, metadata: { pad: 'x'.repeat(70_000) } }),
    };
    for (const [id, value] of Object.entries(bad)) await client.put(`${prefix}api/${id}`).value(value);
    await waitFor(() => watcher.view().rejected.size === 7, 'seven rejections');

    const view = watcher.view();
    expect(idsOf(view, 'api')).toEqual(['good']);
    const reason = (id: string): string => view.rejected.get(`${prefix}api/${id}`)!.reason;
    expect(reason('malformed')).toMatch(/^malformed JSON: /);
    expect(reason('badPort')).toBe('port must be an integer from 1 to 65535, got 70000');
    expect(reason('unknownStatus')).toMatch(/^status "sleeping" is not one of/);
    expect(reason('emptyAddress')).toMatch(/^address is missing or empty/);
    expect(reason('hostname')).toMatch(/Envoy EDS and gRPC xDS clients reject hostnames/);
    expect(reason('unknownField')).toMatch(/^unknown field "zone"/);
    expect(reason('oversized')).toMatch(/^oversized value: \d+ bytes > 65536$/);
    for (const entry of view.rejected.values()) expect(entry).toMatchObject({ service: 'api', keepsLastGood: false });
    // Once the good instance arrived, no later view lost it.
    const firstWithGood = changes.findIndex((c) => idsOf(c.view, 'api').includes('good'));
    expect(firstWithGood).toBeGreaterThanOrEqual(0);
    for (const change of changes.slice(firstWithGood)) expect(idsOf(change.view, 'api')).toEqual(['good']);
  });

  it('keeps the last good value when a key turns bad, recovers on a good value, and drops it on delete', async () => {
    const prefix = uniquePrefix();
    const key = `${prefix}pay/i-1`;
    await client.put(key).value(native('10.0.0.20'));
    const watcher = newWatcher(prefix);
    watcher.start();
    await watcher.ready();

    await client.put(key).value('{"address": 42}');
    await waitFor(() => watcher.view().rejected.has(key), 'rejection of the bad value');
    let view = watcher.view();
    expect(addressOf(view, 'pay', 'i-1')).toBe('10.0.0.20');
    expect(view.rejected.get(key)).toMatchObject({ keepsLastGood: true, reason: 'address must be a string, got number 42' });

    await client.put(key).value(native('10.0.0.21'));
    await waitFor(() => addressOf(watcher.view(), 'pay', 'i-1') === '10.0.0.21', 'the new good value');
    expect(watcher.view().rejected.has(key)).toBe(false);

    await client.put(key).value('still bad');
    await waitFor(() => watcher.view().rejected.has(key), 'second rejection');
    await client.delete().key(key);
    await waitFor(() => !watcher.view().services.has('pay'), 'delete');
    view = watcher.view();
    expect(view.rejected.has(key)).toBe(false);
    expect(BigInt(view.revision)).toBeGreaterThan(0n);
  });

  it('drops an instance when its lease expires', async () => {
    const prefix = uniquePrefix();
    const watcher = newWatcher(prefix);
    watcher.start();
    await watcher.ready();
    const lease = client.lease(1, { autoKeepAlive: false });
    await lease.put(`${prefix}leased/i-1`).value(native('10.0.0.30'));
    await client.put(`${prefix}leased/i-2`).value(native('10.0.0.31'));
    await waitFor(() => idsOf(watcher.view(), 'leased').length === 2, 'both instances');
    const leased = watcher.view().services.get('leased')!.get('i-1')!;
    expect(leased.lease).toBe(await lease.grant());
    await waitFor(() => idsOf(watcher.view(), 'leased').join() === 'i-2', 'lease expiry', 8_000);
    lease.release();
  });

  it('keeps ready() pending while etcd is unreachable, and rejects it on stop()', async () => {
    const watcher = newWatcher(uniquePrefix(), `http://127.0.0.1:${await freePort()}`);
    let settled = false;
    const ready = watcher.ready().then(
      () => (settled = true),
      () => (settled = true),
    );
    watcher.start();
    await sleep(1_500);
    expect(settled).toBe(false);
    expect(watcher.state()).toBe('syncing');
    expect(watcher.stats().lastError).toBeTruthy();
    expect(watcher.view().services.size).toBe(0);
    await watcher.stop();
    await ready;
    await expect(watcher.ready()).rejects.toThrow(/stopped before the first sync/);
    expect(watcher.state()).toBe('stopped');
  });
});
