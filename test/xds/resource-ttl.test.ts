// Resource TTL with heartbeats, for clients announcing xds.config.supports-resource-ttl (and, in SotW,
// xds.config.resource-in-sotw): resources carry the TTL, and body-less heartbeats renew it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE, expectNoResponsePending } from '../support/ads-client.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';

const TTL_MS = 600;
const TTL = 'xds.config.supports-resource-ttl';
const IN_SOTW = 'xds.config.resource-in-sotw';

describe('resource TTL and heartbeats', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cp: TestControlPlane;
  const streams: AdsTestStream[] = [];
  const open = (protocol: 'sotw' | 'delta') => {
    const s = new AdsTestStream(cp.xdsAddress, protocol);
    streams.push(s);
    return s;
  };

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    await client.put('/services/ttl/i1').value('10.0.0.9:80');
    cp = await startTestControlPlane(etcd, { resourceTtlMs: TTL_MS });
  });

  afterAll(async () => {
    for (const s of streams) s.close();
    await cp?.plane.close();
    client?.close();
    await etcd?.close();
  });

  it('delta: resources carry the TTL and heartbeats (name and version, no body) renew it', async () => {
    const s = open('delta');
    s.send({ node: { ...NODE, client_features: [TTL] }, type_url: TYPE_URL.endpoint, resource_names_subscribe: ['ttl'] });
    const first = await s.next();
    expect(first.resources[0]).toMatchObject({ name: 'ttl', ttlSeconds: TTL_MS / 1000 });
    expect(first.resources[0]!.heartbeat).toBeUndefined();
    s.send({ type_url: TYPE_URL.endpoint, response_nonce: first.nonce });
    const beat = await s.next(TTL_MS * 2);
    expect(beat.resources).toEqual([expect.objectContaining({ name: 'ttl', version: first.resources[0]!.version, heartbeat: true, ttlSeconds: TTL_MS / 1000 })]);
  });

  it('SotW with resource-in-sotw: Resource wrappers with the TTL, then heartbeats', async () => {
    const s = open('sotw');
    s.send({ node: { ...NODE, client_features: [TTL, IN_SOTW] }, type_url: TYPE_URL.endpoint, resource_names: ['ttl'] });
    const first = await s.next();
    expect(first.resources[0]).toMatchObject({ name: 'ttl', ttlSeconds: TTL_MS / 1000 });
    expect(JSON.stringify(first.resources[0]!.message)).toContain('10.0.0.9');
    s.send({ type_url: TYPE_URL.endpoint, resource_names: ['ttl'], response_nonce: first.nonce, version_info: first.version });
    const beat = await s.next(TTL_MS * 2);
    expect(beat.version).toBe(first.version);
    expect(beat.resources).toEqual([expect.objectContaining({ name: 'ttl', heartbeat: true })]);
  });

  it('delta: after a NACK, heartbeats carry the version the client ACKed, not the rejected one', async () => {
    await client.put('/services/ttl-nack/i1').value('10.0.0.10:80');
    const s = open('delta');
    s.send({ node: { ...NODE, id: 'ttl-nacker', client_features: [TTL] }, type_url: TYPE_URL.endpoint, resource_names_subscribe: ['ttl-nack'] });
    // The new key may reach the snapshot after the subscription: then the name is first reported removed.
    let first = await s.next();
    while (first.resources.length === 0) first = await s.next();
    const acked = first.resources[0]!.version;
    s.send({ type_url: TYPE_URL.endpoint, response_nonce: first.nonce });
    await client.put('/services/ttl-nack/i2').value('10.0.0.11:80');
    // The client rejects every update (the change may arrive in more than one push); once nothing is in flight, the
    // heartbeat renews what it ACKed.
    let rejected = 0;
    for (;;) {
      const response = await s.next(TTL_MS * 4);
      if (response.resources[0]?.heartbeat && rejected > 0) {
        expect(response.resources).toEqual([expect.objectContaining({ name: 'ttl-nack', version: acked, heartbeat: true })]);
        break;
      }
      if (response.resources[0]?.heartbeat) continue;
      expect(response.resources[0]!.version).not.toBe(acked);
      s.send({ type_url: TYPE_URL.endpoint, response_nonce: response.nonce, error_detail: { code: 3, message: 'rejected by test' } });
      rejected += 1;
    }
  });

  it('clients that do not announce TTL support get plain resources and no heartbeats', async () => {
    const s = open('delta');
    s.send({ node: { ...NODE, id: 'no-ttl-support' }, type_url: TYPE_URL.endpoint, resource_names_subscribe: ['ttl'] });
    const first = await s.next();
    expect(first.resources[0]!.ttlSeconds).toBeUndefined();
    s.send({ type_url: TYPE_URL.endpoint, response_nonce: first.nonce });
    await expectNoResponsePending(cp.plane.xds, s);
    // One heartbeat round visits every stream: a heartbeat to a stream subscribed after this point proves a round
    // ran since, and it sent this stream nothing.
    const witness = open('delta');
    witness.send({ node: { ...NODE, id: 'ttl-witness', client_features: [TTL] }, type_url: TYPE_URL.endpoint, resource_names_subscribe: ['ttl'] });
    const witnessFirst = await witness.next();
    witness.send({ type_url: TYPE_URL.endpoint, response_nonce: witnessFirst.nonce });
    expect((await witness.next(TTL_MS * 2)).resources).toEqual([expect.objectContaining({ name: 'ttl', heartbeat: true })]);
    await expectNoResponsePending(cp.plane.xds, s);
  });
});
