// The per-type discovery services (EDS, CDS, LDS, RDS): streams, and the unary Fetch methods, over a real etcd.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE, expectNoResponsePending, fetchResources, type ReceivedResponse } from '../support/ads-client.js';
import { useXdsFixture } from '../support/xds-fixture.js';

const names = (r: { resources: Array<{ name: string }> }) => r.resources.map((x) => x.name).sort();

describe('per-type discovery services', () => {
  const fx = useXdsFixture('10.0.0.3', [
    ['web', 'w1', 8001],
    ['api', 'a1', 9001],
  ]);
  const open = (api: 'eds' | 'cds' | 'lds' | 'rds') => fx.open('sotw', api);
  const put = fx.put;
  const ack = (s: AdsTestStream, r: ReceivedResponse, resourceNames: string[]) =>
    s.send({ type_url: r.typeUrl, response_nonce: r.nonce, version_info: r.version, resource_names: resourceNames });

  it('StreamEndpoints: named assignments, pushes for the followed service only', async () => {
    const s = open('eds');
    // Per-type streams may leave type_url empty: the service implies it.
    s.send({ node: { ...NODE, id: 'eds-follows-web' }, resource_names: ['web'] });
    const first = await s.next();
    expect(first.typeUrl).toBe(TYPE_URL.endpoint);
    expect(names(first)).toEqual(['web']);
    ack(s, first, ['web']);
    await put('api', 'a2', 9002);
    await fx.published('api', 9002);
    await expectNoResponsePending(fx.cp.plane.xds, s);
    await put('web', 'w2', 8002);
    const pushed = await s.next();
    expect(names(pushed)).toEqual(['web']);
    expect(JSON.stringify(pushed.resources[0]!.message)).toContain('8002');
    await fx.client.delete().key('/services/web/w2');
    await fx.client.delete().key('/services/api/a2');
  });

  it('StreamClusters: wildcard with the full set, and new services pushed', async () => {
    const s = open('cds');
    s.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
    const first = await s.next();
    expect(names(first)).toEqual(['api', 'web']);
    ack(s, first, []);
    await put('db', 'd1', 5432);
    expect(names(await s.next())).toEqual(['api', 'db', 'web']);
  });

  it('StreamListeners and StreamRoutes serve the proxyless chain', async () => {
    const lds = open('lds');
    lds.send({ node: NODE, resource_names: ['web'] });
    const listener = await lds.next();
    expect(names(listener)).toEqual(['web']);
    const rds = open('rds');
    rds.send({ node: NODE, resource_names: ['web'] });
    const route = await rds.next();
    expect(JSON.stringify(route.resources[0]!.message)).toContain('"cluster":"web"');
  });

  it('a stream of one type ignores requests for another type', async () => {
    const s = open('eds');
    s.send({ node: { ...NODE, id: 'eds-asks-for-cds' }, type_url: TYPE_URL.cluster, resource_names: [] });
    await expectNoResponsePending(fx.cp.plane.xds, s);
  });

  it('FetchEndpoints returns the current assignment; FetchClusters the full set', async () => {
    const eds = await fetchResources(fx.cp.xdsAddress, 'eds', { node: NODE, resource_names: ['web'] });
    expect(names(eds)).toEqual(['web']);
    expect(JSON.stringify(eds.resources[0]!.message)).toContain('8001');
    expect(eds.version).not.toBe('');
    const cds = await fetchResources(fx.cp.xdsAddress, 'cds', { node: NODE });
    expect(names(cds)).toContain('web');
    await expect(fetchResources(fx.cp.xdsAddress, 'eds', { node: NODE, type_url: TYPE_URL.cluster })).rejects.toThrow(/serves/);
  });
});
