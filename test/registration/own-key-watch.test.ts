// The watch a registration keeps on its own key, against a real etcd: a delete while the registration's lease lives
// is an operator's, unless it is older than the registration's write under that lease (after an outage the watch
// catches up and may deliver the old lease's expiry after the key was written again).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { OwnKeyWatch } from '../../src/registration/own-key-watch.js';
import { useTestEtcd } from '../support/etcd-suite.js';
import { eventually } from '../support/eventually.js';

const db = useTestEtcd();

/** Watches `key` as a registration whose write under `lease` was at `writtenAt`; returns what it concluded. */
async function watchOwn(key: string, lease: string, writtenAt: () => string) {
  const events: string[] = [];
  const watch = new OwnKeyWatch(db.client, key, () => lease, writtenAt, {
    onDrainingValue: () => events.push('draining'),
    onDeletedWhileLeased: () => events.push('deleted by an operator'),
  }, silentLogger());
  await watch.start();
  return { events, watch };
}

describe('OwnKeyWatch', () => {
  it('takes a draining value for a drain and a later delete under a live lease for an operator\'s', async () => {
    const key = '/services/own/operator';
    const lease = String((await db.client.leaseClient.leaseGrant({ TTL: 60 })).ID);
    const written = (await db.client.put(key).value('{"status":"serving"}').lease(lease).exec()).header.revision;
    const { events, watch } = await watchOwn(key, lease, () => written);
    try {
      await db.client.put(key).value('{"status":"draining"}').lease(lease);
      await db.client.delete().key(key);
      await eventually(async () => [...events], (e) => e.length === 2, 'both noticed');
      expect(events).toEqual(['draining', 'deleted by an operator']);
    } finally {
      await watch.close();
    }
  });

  it('ignores a delete older than the write under the current lease', async () => {
    const key = '/services/own/stale';
    const lease = String((await db.client.leaseClient.leaseGrant({ TTL: 60 })).ID);
    await db.client.put(key).value('{"status":"serving"}').lease(lease);
    // The registration's own write is later than any delete this test makes (as after an outage, when the watch
    // delivers the old lease's expiry after the key was written again).
    const { events, watch } = await watchOwn(key, lease, () => '9223372036854775807');
    try {
      const deleted = (await db.client.delete().key(key).exec()).header.revision;
      // A later write proves the watch has delivered the delete before it.
      await db.client.put(key).value('{"status":"draining"}').lease(lease);
      await eventually(async () => [...events], (e) => e.length === 1, 'the later write noticed');
      expect(events).toEqual(['draining']);
      expect(BigInt(deleted)).toBeGreaterThan(0n);
    } finally {
      await watch.close();
    }
  });
});
