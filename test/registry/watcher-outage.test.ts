// The watcher when etcd goes away: the last view keeps serving, changes made meanwhile arrive afterwards, and a
// revision compacted while the watcher was cut off forces a full resync that never empties the view.
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdClient } from '../../src/registry/etcd-client.js';
import { silentLogger } from '../../src/logger.js';
import { RegistryWatcher, type WatchStateChange } from '../../src/registry/watcher.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startPartitionProxy, type PartitionProxy } from '../support/partition-proxy.js';
import { eventually } from '../support/eventually.js';
import { addressOf, idsOf, recordChanges } from '../support/view-observation.js';

let etcd: TestEtcd;
let client: Etcd3;
let proxy: PartitionProxy;
const cleanups: Array<() => Promise<void> | void> = [];

const native = (address: string): string => JSON.stringify({ address, port: 8080 });

function startWatcher(prefix: string, endpoint: string): RegistryWatcher {
  const watchClient = createEtcdClient(endpoint);
  const watcher = new RegistryWatcher({ client: watchClient, prefix, logger: silentLogger(), retry: { maxMs: 500 } });
  cleanups.push(async () => {
    await watcher.stop();
    watchClient.close();
  });
  watcher.start();
  return watcher;
}

beforeAll(async () => {
  etcd = await startTestEtcd();
  client = createEtcdClient(etcd.endpoint);
  proxy = await startPartitionProxy(Number(new URL(etcd.endpoint).port));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  client?.close();
  await proxy?.close();
  await etcd?.close();
});

describe('RegistryWatcher during outages', () => {
  it('resyncs after its resume revision was compacted, keeping a full view throughout', async () => {
    const prefix = '/compaction/';
    await client.put(`${prefix}svc/keep`).value(native('10.0.0.1'));
    await client.put(`${prefix}svc/gone`).value(native('10.0.0.2'));
    await client.put(`${prefix}svc/turns-bad`).value(native('10.0.0.3'));
    const watcher = startWatcher(prefix, proxy.endpoint);
    const changes = recordChanges(watcher);
    const states: WatchStateChange[] = [];
    watcher.on('state', (change) => states.push(change));
    await watcher.ready();
    await eventually(() => watcher.state() === 'watching', 'watching');
    const revisionBefore = watcher.view().revision;

    proxy.cut();
    await eventually(() => watcher.state() === 'reconnecting', 'reconnecting after the cut');
    // While the watcher is cut off: changes, then a compaction of the history it would resume from.
    await client.put(`${prefix}svc/new`).value(native('10.0.0.4'));
    await client.delete().key(`${prefix}svc/gone`);
    await client.put(`${prefix}svc/turns-bad`).value('{"address":"10.0.0.3","port":0}');
    await client.put(`${prefix}other/x`).value(native('10.0.1.1'));
    const latest = await client.put(`${prefix}svc/keep`).value(native('10.0.0.9')).exec();
    await client.kv.compact({ revision: latest.header.revision, physical: true });
    expect(watcher.view().revision).toBe(revisionBefore);
    expect(idsOf(watcher.view(), 'svc')).toEqual(['gone', 'keep', 'turns-bad']);

    proxy.restore();
    await eventually(() => watcher.stats().resyncs >= 1 && watcher.state() === 'watching', 'resync and watch again', 20_000);
    const view = watcher.view();
    expect(view.revision).toBe(latest.header.revision);
    expect(idsOf(view, 'svc')).toEqual(['keep', 'new', 'turns-bad']);
    expect(addressOf(view, 'svc', 'keep')).toBe('10.0.0.9');
    expect(addressOf(view, 'svc', 'turns-bad')).toBe('10.0.0.3'); // last good value kept
    expect(view.rejected.get(`${prefix}svc/turns-bad`)).toMatchObject({ keepsLastGood: true });
    expect(idsOf(view, 'other')).toEqual(['x']);
    const resyncing = states.find((change) => change.state === 'resyncing');
    expect(resyncing?.reason).toMatch(/revision \d+: that revision has been compacted/);
    for (const change of changes) expect(idsOf(change.view, 'svc').length).toBeGreaterThanOrEqual(3);

    // Watching resumed from the resync revision: new events still arrive, exactly once.
    await client.put(`${prefix}svc/after`).value(native('10.0.0.5'));
    await eventually(() => idsOf(watcher.view(), 'svc').includes('after'), 'event after the resync');
    expect(watcher.stats().resyncs).toBe(1);
  }, 30_000);

  it('resumes from the last revision after a broken connection, without losing events', async () => {
    const prefix = '/partition/';
    await client.put(`${prefix}svc/a`).value(native('10.0.0.1'));
    const watcher = startWatcher(prefix, proxy.endpoint);
    const changes = recordChanges(watcher);
    await watcher.ready();
    await eventually(() => watcher.state() === 'watching', 'watching');

    proxy.cut();
    await eventually(() => watcher.state() === 'reconnecting', 'reconnecting');
    await client.put(`${prefix}svc/b`).value(native('10.0.0.2'));
    await client.put(`${prefix}svc/a`).value(native('10.0.0.3'));
    await client.delete().key(`${prefix}svc/b`);
    await client.put(`${prefix}svc/c`).value(native('10.0.0.4'));
    proxy.restore();

    await eventually(() => idsOf(watcher.view(), 'svc').join() === 'a,c', 'the changes made while cut off', 20_000);
    expect(addressOf(watcher.view(), 'svc', 'a')).toBe('10.0.0.3');
    // The four missed events were replayed from the last revision (no re-list, nothing applied twice).
    expect(watcher.stats()).toMatchObject({ resyncs: 0, eventsApplied: 4 });
    expect(watcher.stats().reconnects).toBeGreaterThanOrEqual(1);
    for (const change of changes) expect(idsOf(change.view, 'svc')).toContain('a');
  }, 30_000);

  it('loses nothing when the connection breaks in the middle of a catch-up', async () => {
    const prefix = '/catch-up/';
    const keys = Array.from({ length: 50 }, (_, i) => `${prefix}svc/k${String(i).padStart(2, '0')}`);
    const watcher = startWatcher(prefix, proxy.endpoint);
    await watcher.ready();
    await eventually(() => watcher.state() === 'watching', 'watching');

    proxy.cut();
    await eventually(() => watcher.state() === 'reconnecting', 'reconnecting');
    // 2500 revisions: etcd replays them in responses of at most 1000 revisions each.
    for (let round = 0; round < 50; round++) {
      await Promise.all(keys.map((key) => client.put(key).value(JSON.stringify({ address: '10.0.0.1', port: 1000 + round }))));
    }
    let appliedAtSecondCut: number | undefined;
    watcher.on('change', () => {
      if (appliedAtSecondCut !== undefined) return;
      appliedAtSecondCut = watcher.stats().eventsApplied;
      proxy.cut(); // right after the first replayed batch
      setTimeout(() => proxy.restore(), 300);
    });
    proxy.restore();

    await eventually(() => watcher.stats().eventsApplied >= 2500 && watcher.state() === 'watching', 'the full replay', 20_000);
    expect(appliedAtSecondCut).toBeGreaterThan(0);
    expect(appliedAtSecondCut).toBeLessThan(2500);
    expect(watcher.stats()).toMatchObject({ eventsApplied: 2500, resyncs: 0 });
    expect(watcher.stats().reconnects).toBeGreaterThanOrEqual(2); // the first cut and the mid-replay cut
    const instances = [...watcher.view().services.get('svc')!.values()];
    expect(instances).toHaveLength(50);
    for (const instance of instances) expect(instance.port).toBe(1049);
  }, 30_000);

  it(
    'keeps the last view while etcd is down, and picks up changes made after it restarts',
    async ({ skip }) => {
      if (!etcd.controllable) skip('this etcd cannot be stopped and restarted by tests');
      const prefix = '/restart/';
      await client.put(`${prefix}svc/a`).value(native('10.0.0.1'));
      await client.put(`${prefix}svc/b`).value(native('10.0.0.2'));
      const watcher = startWatcher(prefix, etcd.endpoint);
      const changes = recordChanges(watcher);
      await watcher.ready();
      await eventually(() => watcher.state() === 'watching', 'watching');

      await etcd.stop();
      await eventually(() => watcher.state() === 'reconnecting', 'reconnecting while etcd is down');
      // Two more failed attempts prove the watcher kept trying while etcd was down, and emitted nothing meanwhile.
      const changesWhileUp = changes.length;
      const reconnects = watcher.stats().reconnects;
      await eventually(() => watcher.stats().reconnects >= reconnects + 2, 'two failed reconnects while etcd is down');
      expect(changes.length).toBe(changesWhileUp);
      expect(idsOf(watcher.view(), 'svc')).toEqual(['a', 'b']);
      expect(watcher.state()).toBe('reconnecting');

      await etcd.start();
      await client.put(`${prefix}svc/c`).value(native('10.0.0.3'));
      await client.delete().key(`${prefix}svc/a`);
      await eventually(() => idsOf(watcher.view(), 'svc').join() === 'b,c', 'changes after the restart', 20_000);
      expect(watcher.state()).toBe('watching');
      expect(watcher.stats().reconnects).toBeGreaterThanOrEqual(1);
      for (const change of changes) expect(idsOf(change.view, 'svc')).toContain('b');
    },
    40_000,
  );
});
