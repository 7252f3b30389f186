// Why RegistryWatcher does not rely on the etcd3 library's own watch reconnect: the library resumes a
// reconnected watch from `request.start_revision`, which it sets from the *header* revision of each response.
// During a catch-up etcd puts the store's current revision in that header before the older events have been
// delivered, so a reconnect at that moment would skip them. If this test starts failing, the library changed:
// re-read node_modules/etcd3/lib/watch.js before simplifying the watcher.
import type { Etcd3, IWatchResponse } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEtcdClient } from '../../src/registry/etcd-client.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

let etcd: TestEtcd;
let client: Etcd3;

beforeAll(async () => {
  etcd = await startTestEtcd();
  client = createEtcdClient(etcd.endpoint);
});

afterAll(async () => {
  client?.close();
  await etcd?.close();
});

it('etcd3 moves its resume revision past events it has not delivered yet', async () => {
  const first = await client.put('/lib/k0').value('v').exec();
  for (let round = 0; round < 30; round++) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.put(`/lib/k${i}`).value(`v${round}`)));
  }
  const latest = await client.get('/lib/k0').exec();
  const currentRevision = BigInt(latest.header.revision);

  const watcher = client.watch().prefix('/lib/').startRevision(first.header.revision).watcher();
  let resumeAtConnect: string | undefined;
  const batches: Array<{ lastEvent: bigint; resumeFrom: bigint }> = [];
  watcher.on('connected', () => (resumeAtConnect = String(watcher.request.start_revision)));
  watcher.on('data', (response: IWatchResponse) => {
    const last = response.events[response.events.length - 1];
    if (last) batches.push({ lastEvent: BigInt(last.kv.mod_revision), resumeFrom: BigInt(String(watcher.request.start_revision)) });
  });
  await eventually(() => batches.some((b) => b.lastEvent === currentRevision), 'the replay to finish');
  await watcher.cancel();

  // Connected, no event delivered yet, and a reconnect would already start after the current revision.
  expect(BigInt(resumeAtConnect!)).toBe(currentRevision + 1n);
  // After the first replayed batch, the resume point is beyond events still to come.
  expect(batches.length).toBeGreaterThan(1);
  expect(batches[0]!.resumeFrom).toBeGreaterThan(batches[0]!.lastEvent + 1n);
});
