// What an operator sees, against the real control plane: a real grpc-js-xds client that ACKs everything and a raw
// ADS client that NACKs, as shown by /debug/clients, /debug/services/<name>/subscribers, /metrics and the page.
import { existsSync, mkdirSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startTestControlPlane, writeXdsBootstrap, type TestControlPlane } from '../support/control-plane.js';
import { eventually } from '../support/eventually.js';

const SERVICE = 'visible';
const NACK_MESSAGE = 'test client refuses this assignment';

interface ClientJson {
  node: { id: string } | null;
  status: string;
  types: Record<string, { status: string; lastNack: { message: string } | null; lastAcked: { version: string } | null }>;
}

async function metricValue(adminUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('operator visibility end to end', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cp: TestControlPlane;
  let backends: GreeterServer[];
  let greeter: ReturnType<typeof greeterClient>;
  let nacker: AdsTestStream;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    backends = await Promise.all([1, 2, 3].map((i) => startGreeterServer({ service: SERVICE, instanceId: `b${i}`, host: '127.0.0.1' })));
    for (const [i, b] of backends.slice(0, 2).entries()) {
      await client.put(`/services/${SERVICE}/b${i + 1}`).value(JSON.stringify({ address: '127.0.0.1', port: b.port, locality: { region: 'r1', zone: 'z1' } }));
    }
    await client.put(`/services/${SERVICE}/broken`).value('{"address": "not-an-ip", "port": 1}');
    cp = await startTestControlPlane(etcd);
    process.env.GRPC_XDS_BOOTSTRAP = writeXdsBootstrap(cp.xdsAddress, 'grpc-e2e');
    (await import('@grpc/grpc-js-xds')).register();
    greeter = greeterClient(`xds:///${SERVICE}`);
    await greeter.sayHello('warm-up');

    nacker = new AdsTestStream(cp.xdsAddress, 'sotw');
    nacker.send({ node: { ...NODE, id: 'nacking-proxy' }, type_url: TYPE_URL.endpoint, resource_names: [SERVICE] });
    const response = await nacker.next();
    nacker.send({ type_url: TYPE_URL.endpoint, resource_names: [SERVICE], response_nonce: response.nonce, error_detail: { code: 3, message: NACK_MESSAGE } });
  });

  afterAll(async () => {
    nacker?.close();
    greeter?.close();
    await cp?.plane.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    client?.close();
    await etcd?.close();
  });

  it('/debug/clients shows the gRPC client SYNCED on every type and the raw client NACKED with its message', async () => {
    const clients = await eventually(
      async () => ((await (await fetch(`${cp.adminUrl}/debug/clients`)).json()) as { clients: ClientJson[] }).clients,
      (list) => list.some((c) => c.node?.id === 'nacking-proxy' && c.status === 'NACKED') && list.some((c) => c.node?.id === 'grpc-e2e' && c.status === 'SYNCED'),
      'both clients in their final state',
    );
    const grpcClient = clients.find((c) => c.node?.id === 'grpc-e2e')!;
    expect(Object.keys(grpcClient.types).sort()).toEqual(['cluster', 'endpoint', 'listener', 'route']);
    for (const type of Object.values(grpcClient.types)) expect(type.status).toBe('SYNCED');
    const nacking = clients.find((c) => c.node?.id === 'nacking-proxy')!;
    expect(nacking.types.endpoint!.status).toBe('NACKED');
    expect(nacking.types.endpoint!.lastNack!.message).toBe(NACK_MESSAGE);
  });

  it('/debug/services/<name>/subscribers lists exactly the subscribers, per type', async () => {
    const body = (await (await fetch(`${cp.adminUrl}/debug/services/${SERVICE}/subscribers`)).json()) as {
      count: number;
      byType: Record<string, Array<{ nodeId: string }>>;
    };
    expect(body.count).toBe(2);
    const ids = (type: string) => body.byType[type]!.map((s) => s.nodeId).sort();
    expect(ids('endpoint')).toEqual(['grpc-e2e', 'nacking-proxy']);
    expect(ids('cluster')).toEqual(['grpc-e2e']);
    expect(ids('listener')).toEqual(['grpc-e2e']);
    expect(ids('route')).toEqual(['grpc-e2e']);
  });

  it('/debug/services shows published instances and the rejected entry with its reason', async () => {
    const body = JSON.stringify(await (await fetch(`${cp.adminUrl}/debug/services/${SERVICE}`)).json());
    expect(body).toContain(`"port":${backends[0]!.port}`);
    expect(body).toContain(`/services/${SERVICE}/broken`);
    expect(body).toMatch(/not-an-ip/);
  });

  it('metrics counters move with pushes, ACKs and NACKs', async () => {
    const nacksBefore = await metricValue(cp.adminUrl, 'etcd_xds_nacks_total', 'endpoint');
    const acksBefore = await metricValue(cp.adminUrl, 'etcd_xds_acks_total', 'endpoint');
    const sentBefore = await metricValue(cp.adminUrl, 'etcd_xds_responses_sent_total', 'endpoint');
    expect(nacksBefore).toBeGreaterThanOrEqual(1);
    await client.put(`/services/${SERVICE}/b3`).value(JSON.stringify({ address: '127.0.0.1', port: backends[2]!.port, weight: 3 }));
    const pushed = await nacker.next();
    nacker.send({ type_url: TYPE_URL.endpoint, resource_names: [SERVICE], response_nonce: pushed.nonce, error_detail: { message: NACK_MESSAGE } });
    await eventually(() => metricValue(cp.adminUrl, 'etcd_xds_nacks_total', 'endpoint'), (v) => v === nacksBefore + 1, 'one more NACK counted');
    await eventually(() => metricValue(cp.adminUrl, 'etcd_xds_acks_total', 'endpoint'), (v) => v > acksBefore, 'the gRPC client ACK counted');
    expect(await metricValue(cp.adminUrl, 'etcd_xds_responses_sent_total', 'endpoint')).toBeGreaterThanOrEqual(sentBefore + 2);
    const text = await (await fetch(`${cp.adminUrl}/metrics`)).text();
    expect(text).toMatch(/etcd_xds_push_latency_seconds_count\S* [1-9]/);
    expect(text).toMatch(/etcd_xds_rejected_registrations\S* 1/);
  });

  it.skipIf(process.env.SKIP_BROWSER_TESTS === '1')('the page shows the service, its instances and the NACKED proxy in Chromium', async () => {
    const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
    if (!existsSync(executablePath)) throw new Error(`Chromium is not installed at ${executablePath}: run "apt-get install -y chromium"`);
    const browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(`${cp.adminUrl}/`);
      const text = await page.locator('body').innerText();
      expect(text).toContain(SERVICE);
      expect(text).toContain(`127.0.0.1:${backends[0]!.port}`);
      expect(text).toContain('nacking-proxy');
      expect(text).toContain('NACKED');
      expect(text).toContain(NACK_MESSAGE);
      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/admin-page-e2e.png', fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
