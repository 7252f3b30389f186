// Who may read the admin API: loopback needs nothing, any other bind needs a token, and the token is enforced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import {
  NON_LOOPBACK_WITHOUT_TOKEN,
  isLoopbackHost,
  parseListenAddress,
  startAdminServer,
  type AdminServer,
} from '../../src/admin/server.js';
import { silentLogger } from '../../src/logger.js';
import { FixtureState } from './fixtures.js';

const TOKEN = 's3cret-admin-token';

function options(address: string, token?: string) {
  const state = new FixtureState();
  return { address, token, state, metrics: createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false }), logger: silentLogger() };
}

describe('listen address', () => {
  it('parses host:port forms and defaults a bare port to loopback', () => {
    expect(parseListenAddress('127.0.0.1:19000')).toEqual({ host: '127.0.0.1', port: 19000 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListenAddress(':19000')).toEqual({ host: '127.0.0.1', port: 19000 });
    expect(parseListenAddress('19000')).toEqual({ host: '127.0.0.1', port: 19000 });
    expect(() => parseListenAddress('localhost')).toThrow(/host:port/);
    expect(() => parseListenAddress('1.2.3.4:99999')).toThrow(/bad port/);
  });

  it('knows which hosts are loopback', () => {
    for (const host of ['127.0.0.1', '127.3.4.5', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'admin.example', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('binding a non-loopback address', () => {
  it('refuses to start without a token', async () => {
    await expect(startAdminServer(options('0.0.0.0:0'))).rejects.toThrow(NON_LOOPBACK_WITHOUT_TOKEN);
    await expect(startAdminServer(options('[::]:0'))).rejects.toThrow(NON_LOOPBACK_WITHOUT_TOKEN);
  });

  it('starts with a token', async () => {
    const server = await startAdminServer(options('0.0.0.0:0', TOKEN));
    try {
      const port = server.address.split(':').pop();
      expect(server.address).toMatch(/^0\.0\.0\.0:\d+$/);
      const response = await fetch(`http://127.0.0.1:${port}/debug/services`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('with a token', () => {
  let server: AdminServer;
  const url = (path: string) => `http://${server.address}${path}`;
  beforeAll(async () => {
    server = await startAdminServer(options('127.0.0.1:0', TOKEN));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('leaves /healthz and /readyz open', async () => {
    expect((await fetch(url('/healthz'))).status).toBe(200);
    expect((await fetch(url('/readyz'))).status).toBe(200);
  });

  it('answers 401 without the token or with a wrong one, 200 with the right bearer token', async () => {
    for (const path of ['/debug/services', '/debug/clients', '/debug/snapshot', '/metrics', '/']) {
      const missing = await fetch(url(path));
      expect(missing.status, path).toBe(401);
      expect(missing.headers.get('www-authenticate')).toContain('Bearer');
      expect((await fetch(url(path), { headers: { authorization: 'Bearer wrong' } })).status, path).toBe(401);
      expect((await fetch(url(path), { headers: { authorization: `Basic ${TOKEN}` } })).status, path).toBe(401);
      expect((await fetch(url(path), { headers: { authorization: `Bearer ${TOKEN}` } })).status, path).toBe(200);
    }
  });

  it('accepts ?token= for the page only, since a browser cannot add a header to a navigation', async () => {
    const page = await fetch(url(`/?token=${TOKEN}`));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('etcd-xds');
    expect((await fetch(url(`/?token=nope`))).status).toBe(401);
    expect((await fetch(url(`/debug/services?token=${TOKEN}`))).status).toBe(401);
  });
});
