// Delta xDS (DeltaAggregatedResources and the per-type Delta* methods) against the whole control plane over a
// real etcd, with a raw client.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE, expectNoResponsePending, type ReceivedResponse } from '../support/ads-client.js';
import { startTestControlPlane } from '../support/control-plane.js';
import { useXdsFixture } from '../support/xds-fixture.js';

const EDS = TYPE_URL.endpoint;
const CDS = TYPE_URL.cluster;

const names = (r: ReceivedResponse) => r.resources.map((x) => x.name).sort();
const endpointCount = (r: ReceivedResponse, name: string) =>
  ((r.resources.find((x) => x.name === name)?.message.endpoints as Array<{ lb_endpoints: unknown[] }> | undefined) ?? []).reduce(
    (n, l) => n + l.lb_endpoints.length,
    0,
  );

describe('delta xDS', () => {
  const fx = useXdsFixture('10.0.0.2', [
    ['one', 'i1', 1001],
    ['two', 'i1', 2001],
  ]);
  const open = (api: 'ads' | 'eds' | 'cds' = 'ads') => fx.open('delta', api);
  const put = fx.put;
  const ack = (s: AdsTestStream, r: ReceivedResponse) => s.send({ type_url: r.typeUrl, response_nonce: r.nonce });
  const expectNothingPending = (s: AdsTestStream) => expectNoResponsePending(fx.cp.plane.xds, s);

  it('answers a wildcard CDS stream that unsubscribes a name it had named explicitly', async () => {
    const s = open('ads');
    s.send({ node: NODE, type_url: CDS, resource_names_subscribe: ['*', 'one', 'ghost'] });
    const first = await s.next();
    expect(names(first)).toEqual(['one', 'two']);
    expect(first.removed).toEqual(['ghost']);
    ack(s, first);
    s.send({ type_url: CDS, response_nonce: first.nonce, resource_names_unsubscribe: ['one', 'ghost'] });
    const answer = await s.next();
    // 'one' is still covered by the wildcard: sent again; 'ghost' does not exist: removed.
    expect(names(answer)).toEqual(['one']);
    expect(answer.removed).toEqual(['ghost']);
  });

  for (const api of ['ads', 'eds'] as const) {
    it(`${api}: two subscriptions, then only the updated one, then an empty assignment when its instances go`, async () => {
      const s = open(api);
      s.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['one', 'two'] });
      const first = await s.next();
      expect(names(first)).toEqual(['one', 'two']);
      expect(first.resources.every((r) => r.version)).toBe(true);
      ack(s, first);
      await put('one', `i2-${api}`, 1002);
      const update = await s.next();
      expect(names(update)).toEqual(['one']);
      ack(s, update);
      await fx.client.delete().key(`/services/one/i2-${api}`);
      ack(s, await s.next());
      await fx.client.delete().key('/services/two/i1');
      const emptied = await s.next();
      expect(names(emptied)).toEqual(['two']);
      expect(endpointCount(emptied, 'two')).toBe(0);
      expect(emptied.removed).toEqual([]);
      ack(s, emptied);
      await put('two', 'i1', 2001);
      ack(s, await s.next());
    });
  }

  it('answers an unknown name with removed_resources', async () => {
    const s = open();
    s.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['nobody-registers-this'] });
    const r = await s.next();
    expect(r.resources).toEqual([]);
    expect(r.removed).toEqual(['nobody-registers-this']);
  });

  it('honours initial_resource_versions on reconnect: nothing, or only the stale one, is re-sent', async () => {
    const s = open();
    s.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['one', 'two'] });
    const first = await s.next();
    ack(s, first);
    const versions = Object.fromEntries(first.resources.map((r) => [r.name, r.version!]));

    const upToDate = open();
    upToDate.send({ node: { ...NODE, id: 'reconnects-up-to-date' }, type_url: EDS, resource_names_subscribe: ['one', 'two'], initial_resource_versions: versions });
    await expectNothingPending(upToDate);

    const oneStale = open();
    oneStale.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['one', 'two'], initial_resource_versions: { ...versions, two: 'stale' } });
    expect(names(await oneStale.next())).toEqual(['two']);
  });

  it('stops sending a resource after it is unsubscribed', async () => {
    const s = open();
    s.send({ node: { ...NODE, id: 'unsubscribes-two' }, type_url: EDS, resource_names_subscribe: ['one', 'two'] });
    ack(s, await s.next());
    s.send({ type_url: EDS, resource_names_unsubscribe: ['two'] });
    // The unsubscribe is read (and owed no answer) before two changes.
    await expectNothingPending(s);
    await put('two', 'unsub', 2009);
    await fx.published('two', 2009);
    await expectNothingPending(s);
    await put('one', 'unsub', 1009);
    expect(names(await s.next())).toEqual(['one']);
    await fx.client.delete().key('/services/two/unsub');
    await fx.client.delete().key('/services/one/unsub');
  });

  for (const api of ['ads', 'cds'] as const) {
    it(`${api}: wildcard CDS gets every cluster, then additions and removals`, async () => {
      const gc = await startTestControlPlane(fx.etcd, { serviceGcMs: 300 });
      const s = new AdsTestStream(gc.xdsAddress, 'delta', api);
      try {
        s.send({ node: NODE, type_url: CDS });
        const first = await s.next();
        expect(names(first)).toEqual(['one', 'two']);
        ack(s, first);
        await put(`three-${api}`, 'i1', 3001);
        const added = await s.next();
        expect(names(added)).toEqual([`three-${api}`]);
        ack(s, added);
        await fx.client.delete().key(`/services/three-${api}/i1`);
        // The cluster stays while the service has been empty for less than --service-gc, then is removed.
        const removed = await s.next(5_000);
        expect(removed.removed).toEqual([`three-${api}`]);
      } finally {
        s.close();
        await gc.plane.close();
      }
    });
  }

  it('records a NACK on delta, keeps the last good version and does not re-send', async () => {
    const s = open();
    s.send({ node: { ...NODE, id: 'delta-nacker' }, type_url: EDS, resource_names_subscribe: ['one'] });
    const good = await s.next();
    ack(s, good);
    await put('one', 'nack', 1010);
    const bad = await s.next();
    s.send({ type_url: EDS, response_nonce: bad.nonce, error_detail: { code: 3, message: 'delta rejected' } });
    await expectNothingPending(s);
    const info = fx.cp.plane.xds.streamInfos().find((i) => i.node?.id === 'delta-nacker')!;
    const eds = info.types.get(EDS)!;
    expect(eds.status).toBe('NACKED');
    expect(eds.lastNack?.message).toBe('delta rejected');
    expect(eds.acked.get('one')).toBe(good.resources[0]!.version);
    await fx.client.delete().key('/services/one/nack');
  });
});
