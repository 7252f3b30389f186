// State-of-the-world ADS rules, seen by a raw client (grpc-js + Envoy's protos) against the whole control plane
// over a real etcd.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE, expectNoResponsePending, type ReceivedResponse } from '../support/ads-client.js';
import { startTestControlPlane } from '../support/control-plane.js';
import { useXdsFixture } from '../support/xds-fixture.js';

const EDS = TYPE_URL.endpoint;
const CDS = TYPE_URL.cluster;
const LDS = TYPE_URL.listener;

const endpointPorts = (r: ReceivedResponse, name: string) =>
  ((r.resources.find((x) => x.name === name)?.message.endpoints as Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { port_value: number } } } }> }>) ?? [])
    .flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.port_value))
    .sort();

describe('ADS state-of-the-world protocol', () => {
  const fx = useXdsFixture('10.0.0.1', [
    ['alpha', 'a1', 1001],
    ['beta', 'b1', 2001],
  ]);
  const open = () => fx.open('sotw');
  const put = fx.put;
  const expectNothingPending = (s: AdsTestStream) => expectNoResponsePending(fx.cp.plane.xds, s);

  it('answers a grown resource_names at once with the newly named resources, and a shrunk one with nothing', async () => {
    const s = open();
    s.send({ node: NODE, type_url: EDS, resource_names: ['alpha'] });
    const first = await s.next();
    expect(first.resources.map((r) => r.name)).toEqual(['alpha']);
    // EDS clients keep what a response leaves out: alpha, which the client holds, is not repeated.
    s.send({ type_url: EDS, resource_names: ['alpha', 'beta'], response_nonce: first.nonce, version_info: first.version });
    const second = await s.next();
    expect(second.resources.map((r) => r.name)).toEqual(['beta']);
    s.send({ type_url: EDS, resource_names: ['beta'], response_nonce: second.nonce, version_info: second.version });
    // The shrink is not answered (beta is held): the next response is the push of beta's change.
    await put('beta', 'b9', 2009);
    const pushed = await s.next();
    expect(pushed.resources.map((r) => r.name)).toEqual(['beta']);
    expect(endpointPorts(pushed, 'beta')).toEqual([2001, 2009]);
    await fx.client.delete().key('/services/beta/b9');
    expect(endpointPorts(await s.next(), 'beta')).toEqual([2001]);
  });

  it('answers a subscription change sent with the nonce it already ACKed (as Envoy does when a cluster is added)', async () => {
    const s = open();
    s.send({ node: { ...NODE, id: 'reuses-acked-nonce' }, type_url: EDS, resource_names: ['alpha'] });
    const first = await s.next();
    s.send({ type_url: EDS, resource_names: ['alpha'], response_nonce: first.nonce, version_info: first.version });
    await expectNothingPending(s);
    s.send({ type_url: EDS, resource_names: ['alpha', 'beta'], response_nonce: first.nonce, version_info: first.version });
    expect((await s.next()).resources.map((r) => r.name)).toEqual(['beta']);
  });

  it('sends nothing more after an ACK, and ignores a stale nonce', async () => {
    const s = open();
    s.send({ node: { ...NODE, id: 'acks-then-replays' }, type_url: EDS, resource_names: ['alpha'] });
    const first = await s.next();
    s.send({ type_url: EDS, resource_names: ['alpha'], response_nonce: first.nonce, version_info: first.version });
    await expectNothingPending(s);
    await put('alpha', 'a2', 1002);
    const pushed = await s.next();
    expect(endpointPorts(pushed, 'alpha')).toEqual([1001, 1002]);
    // Answering the older response again (stale nonce) with a different subscription is ignored.
    s.send({ type_url: EDS, resource_names: ['beta'], response_nonce: first.nonce, version_info: first.version });
    await expectNothingPending(s);
    await fx.client.delete().key('/services/alpha/a2');
    expect(endpointPorts(await s.next(), 'alpha')).toEqual([1001]);
  });

  it('records a NACK, does not re-send the rejected version, and the admin API shows it', async () => {
    const s = open();
    s.send({ node: { ...NODE, id: 'nacker' }, type_url: EDS, resource_names: ['beta'] });
    const first = await s.next();
    s.send({ type_url: EDS, resource_names: ['beta'], response_nonce: first.nonce, version_info: first.version });
    await put('beta', 'b2', 2002);
    const rejected = await s.next();
    s.send({
      type_url: EDS,
      resource_names: ['beta'],
      response_nonce: rejected.nonce,
      version_info: first.version,
      error_detail: { code: 3, message: 'endpoint 2002 rejected by test' },
    });
    await expectNothingPending(s);
    const clients = (await (await fetch(`${fx.cp.adminUrl}/debug/clients`)).json()) as { clients: Array<Record<string, unknown>> };
    const nacker = JSON.stringify(clients.clients.find((c) => JSON.stringify(c).includes('nacker')));
    expect(nacker).toContain('NACKED');
    expect(nacker).toContain('endpoint 2002 rejected by test');
    expect(nacker).toContain(first.version);
  });

  it('sends an update of service A only to streams that follow A', async () => {
    const followsA = open();
    const followsB = open();
    followsA.send({ node: NODE, type_url: EDS, resource_names: ['alpha'] });
    followsB.send({ node: { ...NODE, id: 'follows-beta' }, type_url: EDS, resource_names: ['beta'] });
    for (const s of [followsA, followsB]) {
      const r = await s.next();
      s.send({ type_url: EDS, resource_names: r.resources.map((x) => x.name), response_nonce: r.nonce, version_info: r.version });
    }
    await put('alpha', 'a3', 1003);
    // A's push and any push to B go out in the one fan-out of the snapshot that carries a3.
    expect(endpointPorts(await followsA.next(), 'alpha')).toContain(1003);
    await expectNothingPending(followsB);
    await fx.client.delete().key('/services/alpha/a3');
  });

  it('holds the full set in wildcard CDS and LDS responses, and pushes a new service', async () => {
    const s = open();
    s.send({ node: NODE, type_url: CDS, resource_names: [] });
    const cds = await s.next();
    expect(cds.resources.map((r) => r.name).sort()).toEqual(['alpha', 'beta']);
    s.send({ type_url: CDS, resource_names: [], response_nonce: cds.nonce, version_info: cds.version });
    s.send({ type_url: LDS, resource_names: [] });
    const lds = await s.next();
    expect(lds.resources.map((r) => r.name).sort()).toEqual(['alpha', 'beta']);
    s.send({ type_url: LDS, resource_names: [], response_nonce: lds.nonce, version_info: lds.version });
    await put('gamma', 'g1', 3001);
    const [cdsPush, ldsPush] = [await s.next(), await s.next()];
    expect(cdsPush.typeUrl).toBe(CDS);
    expect(cdsPush.resources.map((r) => r.name).sort()).toEqual(['alpha', 'beta', 'gamma']);
    expect(ldsPush.typeUrl).toBe(LDS);
    expect(ldsPush.resources.map((r) => r.name).sort()).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('answers a reconnecting client (old version, empty nonce) and serves names that appear later', async () => {
    const s = open();
    s.send({ node: NODE, type_url: EDS, resource_names: ['alpha', 'later'], version_info: 'some-old-version' });
    const first = await s.next();
    expect(first.resources.map((r) => r.name)).toEqual(['alpha']);
    s.send({ type_url: EDS, resource_names: ['alpha', 'later'], response_nonce: first.nonce, version_info: first.version });
    await put('later', 'l1', 4001);
    // EDS responses need not repeat unchanged resources: only the one that appeared is sent.
    const appeared = await s.next();
    expect(appeared.resources.map((r) => r.name)).toEqual(['later']);
  });

  it('versions derive from content: a second control plane over the same etcd hands out the same versions', async () => {
    const other = await startTestControlPlane(fx.etcd);
    const b = new AdsTestStream(other.xdsAddress, 'sotw');
    try {
      const a = open();
      for (const s of [a, b]) s.send({ node: NODE, type_url: CDS, resource_names: [] });
      const [ra, rb] = [await a.next(), await b.next()];
      expect(ra.version).toBe(rb.version);
      for (const s of [a, b]) s.send({ type_url: EDS, resource_names: ['beta'] });
      expect((await a.next()).version).toBe((await b.next()).version);
    } finally {
      b.close();
      await other.plane.close();
    }
  });
});
