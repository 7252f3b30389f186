// /debug/config over a real admin listener: each configuration object and rejected value with its state, its
// reasons, the spec that serves and the connected nodes that spec reaches.
import { describe, expect, it } from 'vitest';
import type { ConfigEntryView, ConfigResponse } from '../../src/admin/config-view.js';
import { NodeReach } from '../../src/admin/node-reach.js';
import { StreamViews } from '../../src/admin/stream-views.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { viewKeyOf } from '../../src/views/node-view.js';
import { CONFIG_PREFIX, DrivenStream, EDGE_GATEWAY, FixtureState, GREETER_POLICY, PAYMENTS_POLICY, XSS, withEnvoyViews } from './fixtures.js';
import { useFixtureAdmin } from './fixture-server.js';

const admin = useFixtureAdmin(withEnvoyViews);
const get = admin.get;

describe('/debug/config', () => {
  it('lists every object and rejected value by key, with its state, reasons, served spec and the nodes it reaches', async () => {
    const { status, body } = await get<ConfigResponse>('/debug/config');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      revision: '24',
      total: 4,
      byState: { serving: 2, 'rejected, last good value serving': 1, 'rejected, nothing serving': 1 },
      nextCursor: null,
    });
    const byKey = new Map(body.entries.map((e) => [e.key, e]));
    expect([...byKey.keys()]).toEqual([
      `${CONFIG_PREFIX}gateways/edge`,
      `${CONFIG_PREFIX}services/${XSS}`,
      `${CONFIG_PREFIX}services/greeter`,
      `${CONFIG_PREFIX}services/payments`,
    ]);
    expect(byKey.get(`${CONFIG_PREFIX}services/greeter`)).toEqual({
      kind: 'ServicePolicy',
      name: 'greeter',
      key: `${CONFIG_PREFIX}services/greeter`,
      modRevision: '20',
      state: 'serving',
      spec: GREETER_POLICY,
      specModRevision: '20',
      rejected: null,
      // Every proxyless node, and the gateway node whose routes lead to greeter; not envoy-scoped (payments only).
      reaches: { count: 4, nodes: ['edge-proxy', 'envoy-front', 'gateway-1', 'grpc-client-7'] },
    } satisfies ConfigEntryView);

    const payments = byKey.get(`${CONFIG_PREFIX}services/payments`)!;
    expect(payments).toMatchObject({
      state: 'rejected, last good value serving',
      modRevision: '23',
      spec: PAYMENTS_POLICY,
      specModRevision: '22',
      rejected: { keepsLastGood: true, valuePreview: expect.stringContaining('"connectTimeout":"soon"') },
      reaches: { count: 4, nodes: ['edge-proxy', 'envoy-front', 'envoy-scoped', 'grpc-client-7'] },
    });
    expect(payments.rejected!.errors.map((e) => e.path)).toEqual(['connectTimeout', 'lbPolicy']);
    expect(payments.rejected!.reason).toMatch(/^connectTimeout: expected a duration like "1\.5s", got "soon"; lbPolicy: invalid enum value/);

    expect(byKey.get(`${CONFIG_PREFIX}gateways/edge`)).toMatchObject({ kind: 'Gateway', state: 'serving', spec: EDGE_GATEWAY, reaches: { count: 1, nodes: ['gateway-1'] } });
    // A value that never validated serves nothing, so it reaches nobody.
    expect(byKey.get(`${CONFIG_PREFIX}services/${XSS}`)).toMatchObject({
      state: 'rejected, nothing serving',
      spec: null,
      specModRevision: null,
      rejected: { keepsLastGood: false, reason: expect.stringContaining('service name must be') },
      reaches: { count: 0, nodes: [] },
    });
  });

  it('filters by kind, state and name, pages by key, and refuses filters it does not know', async () => {
    const gateways = await get<ConfigResponse>('/debug/config?kind=gateway');
    expect(gateways.body.entries.map((e) => e.name)).toEqual(['edge']);
    const rejected = await get<ConfigResponse>('/debug/config?state=rejected&kind=service-policy');
    expect(rejected.body.entries.map((e) => e.state)).toEqual(['rejected, nothing serving', 'rejected, last good value serving']);
    expect(rejected.body.total).toBe(2);
    const serving = await get<ConfigResponse>('/debug/config?state=serving');
    expect(serving.body.entries.map((e) => e.name)).toEqual(['edge', 'greeter']);
    expect((await get<ConfigResponse>('/debug/config?name=payments')).body.entries.map((e) => e.key)).toEqual([`${CONFIG_PREFIX}services/payments`]);

    const first = await get<ConfigResponse>('/debug/config?limit=3');
    expect(first.body.entries).toHaveLength(3);
    expect(first.body.nextCursor).toBe(`${CONFIG_PREFIX}services/greeter`);
    const rest = await get<ConfigResponse>(`/debug/config?limit=3&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
    expect(rest.body.entries.map((e) => e.name)).toEqual(['payments']);
    expect(rest.body.nextCursor).toBeNull();

    for (const bad of ['?kind=Route', '?state=broken', '?limit=0']) {
      const answer = await get<{ error: string }>(`/debug/config${bad}`);
      expect(answer.status).toBe(400);
    }
    expect((await get<{ error: string }>('/debug/config?kind=Route')).body.error).toBe('unknown kind "Route": use ServicePolicy or Gateway');
  });

  it('counts a node once when its streams receive different views', () => {
    const fixture = new FixtureState();
    withEnvoyViews(fixture);
    // A second stream of gateway-1 on another view (an unscoped Envoy view holds greeter too).
    const other = new DrivenStream({ id: '8', protocol: 'sotw', api: 'ads', peer: '127.0.0.1:50008' }, fixture.connected.at(-1)!.info().node!);
    other.engine.view = viewKeyOf({ client: 'envoy', port: 10000 });
    fixture.connected.push(other);
    const reach = new NodeReach(fixture.streams(), new StreamViews(fixture));
    expect(reach.reach(() => true)).toEqual({
      count: 5,
      nodes: ['edge-proxy', 'envoy-front', 'envoy-scoped', 'gateway-1', 'grpc-client-7'],
    });
    expect(reach.reach((spec) => spec.client === 'envoy').count).toBe(2);
  });
});

describe('the Configuration section of the page', () => {
  async function page(path: string): Promise<string> {
    const response = await admin.fetch(path);
    expect(response.status).toBe(200);
    return response.text();
  }

  it('lists rejected values first, standing out with their reason, and the nodes each object reaches', async () => {
    const home = await page('/');
    const section = home.slice(home.indexOf('<h2>Configuration</h2>'), home.indexOf('<h2>Proxies</h2>'));
    expect(section).toContain('4 keys · 2 serving · 2 rejected (1 keeping the last good value) · revision 24');
    const rows = [...section.matchAll(/<tr class="(config[^"]*)" data-key="([^"]*)" data-state="([^"]*)"/g)].map((m) => [m[1], m[3]]);
    expect(rows).toEqual([
      ['config config-rejected', 'rejected, nothing serving'],
      ['config config-rejected', 'rejected, last good value serving'],
      ['config', 'serving'],
      ['config', 'serving'],
    ]);
    expect(section).toContain('23 (serving 22)');
    expect(section).toMatch(/4 nodes<div class="meta"><span class="node">edge-proxy<\/span>, <span class="node">envoy-front<\/span>/);
    expect(section).toContain('nothing serves');
    expect(home).toMatch(/config rejected/);
  });

  it('escapes what etcd holds: a key, a reason and a value carrying markup stay text', async () => {
    for (const html of [await page('/'), await page('/config'), await page('/config?state=rejected')]) {
      expect(html).not.toContain(XSS);
      expect(html).not.toMatch(/<img/i);
      expect(html).toContain('&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;');
    }
    const rejectedOnly = await page('/config?state=rejected');
    expect(rejectedOnly.match(/<tr class="config config-rejected"/g)).toHaveLength(2);
    expect(rejectedOnly).not.toMatch(/<tr class="config"/);
    expect((await admin.fetch('/config?kind=Route')).status).toBe(400);
  });

});

describe('the Configuration section at fleet size', () => {
  const big = useFixtureAdmin((fixture) => {
    withEnvoyViews(fixture);
    for (let i = 0; i < 30; i += 1) {
      const stream = new DrivenStream({ id: `g${i}`, protocol: 'delta', api: 'ads', peer: '127.0.0.1:1' }, { ...fixture.connected[1]!.info().node!, id: `grpc-${String(i).padStart(2, '0')}` });
      stream.subscribe(TYPE_URL.cluster, ['greeter'], fixture.snap);
      fixture.connected.push(stream);
    }
  });

  it('stays bounded: the page names a few of the nodes reached and pages through keys', async () => {
    const html = await (await big.fetch(`/config?limit=1&cursor=${encodeURIComponent(`${CONFIG_PREFIX}services/${XSS}`)}`)).text();
    expect(html.match(/<tr class="config/g)).toHaveLength(1);
    expect(html).toMatch(/34 nodes<div class="meta">(?:<span class="node">[^<]+<\/span>(?:, )?){5} and 29 more/);
    expect(html).toContain('cursor=%2Fetcd-xds%2Fconfig%2Fservices%2Fgreeter');
  });
});
