// The human page in a real browser: what a person sees, that it stays live, and that user input stays text.
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { silentLogger } from '../../src/logger.js';
import { FixtureState, INSTANCES, NACK_MESSAGE, XSS, waitingStream, withEnvoyViews } from './fixtures.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'page-test-token';
const SCREENSHOT = 'test-artifacts/admin-page.png';

/** Parses `rgb(r, g, b)` as getComputedStyle reports colours. */
function rgb(colour: string): [number, number, number] {
  const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(colour);
  if (!match) throw new Error(`not an rgb colour: ${colour}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}
/** The few browser globals the checks use (the project compiles without the DOM lib). */
interface PageElement {
  textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
interface BrowserGlobals {
  document: { querySelector(selector: string): PageElement | null };
  getComputedStyle(element: PageElement): { color: string };
  __xss?: number;
}

/**
 * Finds and measures in one task of the page, so a refresh swapping #content in between cannot hand
 * getComputedStyle a detached element.
 */
function colourOf(page: Page, selector: string): Promise<string> {
  return page.evaluate((sel) => {
    const browser = globalThis as unknown as BrowserGlobals;
    const element = browser.document.querySelector(sel);
    if (!element) throw new Error(`no element matches ${sel}`);
    return browser.getComputedStyle(element).color;
  }, selector);
}
const isRed = ([r, g, b]: [number, number, number]) => r > 150 && g < 90 && b < 90;
const isGreen = ([r, g, b]: [number, number, number]) => g > 100 && r < 90 && b < 120;

describe.skipIf(process.env.SKIP_BROWSER_TESTS === '1')('admin page in Chromium', () => {
  let state: FixtureState;
  let server: AdminServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium" (or set SKIP_BROWSER_TESTS=1)`);
    }
    state = new FixtureState();
    withEnvoyViews(state);
    const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
    server = await startAdminServer({ address: '127.0.0.1:0', token: TOKEN, state, metrics, logger: silentLogger(), pageRefreshMs: 500 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    await page.goto(`http://${server.address}/?token=${TOKEN}`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows each service with its instances, addresses and coloured health', async () => {
    const greeter = page.locator('section.service[data-service="greeter"]');
    await expect(greeter.locator('h3').textContent()).resolves.toBe('greeter');
    const rows = greeter.locator('tr.instance');
    expect(await rows.count()).toBe(3);
    // Query and measure in one task of the page: a refresh swapping #content in between would detach the rows.
    const seen = await page.evaluate(() => {
      const browser = globalThis as unknown as BrowserGlobals & { document: { querySelectorAll(s: string): PageElement[] } };
      return [...browser.document.querySelectorAll('section.service[data-service="greeter"] tr.instance')].map((tr) => {
        const pill = tr.querySelector('td.health .pill')!;
        return {
          address: tr.querySelector('td.address')?.textContent?.trim(),
          health: pill.textContent?.trim(),
          colour: browser.getComputedStyle(pill).color,
        };
      });
    });
    expect(seen.map((s) => [s.address, s.health])).toEqual([
      ['10.0.0.5:8080', 'HEALTHY'],
      ['10.0.0.6:8080', 'DRAINING'],
      ['10.0.0.7:8080', 'UNHEALTHY'],
    ]);
    expect(isGreen(rgb(seen[0]!.colour))).toBe(true);
    expect(isRed(rgb(seen[2]!.colour))).toBe(true);
    expect(seen[1]!.colour).not.toBe(seen[0]!.colour);
    await expect(greeter.textContent()).resolves.toContain('connect ECONNREFUSED 10.0.0.7:8080');
    await expect(page.locator('section.service[data-service="payments"] td.address').textContent()).resolves.toBe('[fd00::1]:9090');
  });

  it('lists rejected registrations with their reasons and who watches each service', async () => {
    const greeter = page.locator('section.service[data-service="greeter"]');
    await expect(greeter.locator('.rejected').textContent()).resolves.toMatch(/\/services\/greeter\/bad.*hostname/);
    await expect(page.locator('section.service[data-service="orphan"]').textContent()).resolves.toContain('No valid instance');
    await expect(greeter.locator('.subscribers').textContent()).resolves.toMatch(/envoy-front \(CDS\*, EDS, LDS\*, RDS\).*grpc-client-7 \(CDS, EDS\)/);
  });

  it('shows a NACKing proxy with its error in red', async () => {
    const row = page.locator('tr.client[data-status="NACKED"]');
    await expect(row.locator('.node').textContent()).resolves.toBe('grpc-client-7');
    await expect(row.locator('td.type-endpoint').textContent()).resolves.toContain('NACKED');
    const error = row.locator('.nack-error');
    await expect(error.textContent()).resolves.toContain(NACK_MESSAGE);
    expect(isRed(rgb(await colourOf(page, 'tr.client[data-status="NACKED"] .nack-error')))).toBe(true);
    expect(isGreen(rgb(await colourOf(page, 'tr.client[data-status="SYNCED"] td.type-cluster .pill')))).toBe(true);
  });

  it('shows the configuration: rejected values first, in red with their reason, and the nodes each object reaches', async () => {
    const states = await page.locator('table.configuration tr.config').evaluateAll((rows) =>
      rows.map((row) => (row as unknown as { getAttribute(name: string): string | null }).getAttribute('data-state')),
    );
    expect(states).toEqual(['rejected, nothing serving', 'rejected, last good value serving', 'serving', 'serving']);
    const keeping = page.locator('tr.config-rejected[data-state="rejected, last good value serving"]');
    await expect(keeping.locator('.reason').textContent()).resolves.toMatch(/^connectTimeout: expected a duration like "1\.5s", got "soon"; lbPolicy: invalid enum value/);
    await expect(keeping.locator('.reason').textContent()).resolves.toContain('invalid enum value "<img src=x onerror=');
    expect(isRed(rgb(await colourOf(page, 'tr.config-rejected[data-state="rejected, nothing serving"] .pill')))).toBe(true);
    expect(isGreen(rgb(await colourOf(page, 'tr.config[data-state="serving"] .pill')))).toBe(true);
    await expect(page.locator('tr.config[data-key="/etcd-xds/config/gateways/edge"] td').last().textContent()).resolves.toBe('1 nodegateway-1');
    await expect(page.locator('tr.client', { hasText: 'envoy-scoped' }).locator('.view').textContent()).resolves.toBe('envoy :10000 · depends on payments');
  });

  it('renders user input as text, never as markup', async () => {
    const metadata = page.locator('section.service[data-service="payments"] .kv');
    await expect(metadata.textContent()).resolves.toBe(`note=${XSS}`);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).__xss)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
  });

  it('refreshes itself with the token it was opened with', async () => {
    const saved = state.view;
    const services = new Map(saved.services);
    const fresh = { ...INSTANCES.a, instanceId: 'z', key: '/services/greeter/z', address: '10.0.0.99' };
    services.set('greeter', new Map(saved.services.get('greeter')!).set('z', fresh));
    state.view = { ...saved, services };
    await page.locator('tr.instance[data-instance="z"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#refresh-status').textContent()).resolves.toMatch(/live · updated/);
    state.view = saved;
    await page.locator('tr.instance[data-instance="z"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(pageErrors).toEqual([]);
  });

  it('searches services by name and pages through them', async () => {
    await page.goto(`http://${server.address}/?token=${TOKEN}&q=PAY`);
    const names = await page.locator('section.service h3').allTextContents();
    expect(names).toEqual(['payments']);
    await page.goto(`http://${server.address}/?token=${TOKEN}&limit=1`);
    expect(await page.locator('section.service h3').allTextContents()).toEqual(['greeter']);
    await page.locator('a.next').first().click();
    await page.waitForURL(/cursor=greeter/);
    expect(await page.locator('section.service h3').allTextContents()).toEqual(['orphan']);
    expect(new URL(page.url()).searchParams.get('token')).toBe(TOKEN);
  });

  it('shows one service on its own page, a long instance id cut with the whole id on hover', async () => {
    const saved = state.view;
    const longId = `i-${'x'.repeat(5000)}`;
    const long = { ...INSTANCES.a, instanceId: longId, key: `/services/greeter/${longId}`, address: '10.0.0.77' };
    const services = new Map(saved.services);
    services.set('greeter', new Map(saved.services.get('greeter')!).set(longId, long));
    state.view = { ...saved, services };
    try {
      await page.goto(`http://${server.address}/?token=${TOKEN}`);
      await page.locator('section.service[data-service="greeter"] h3 a').click();
      await page.waitForURL(/\/services\/greeter\?token=/);
      const row = page.locator(`tr.instance[data-instance="${longId}"]`);
      const cell = row.locator('td').first();
      expect((await cell.textContent())!.length).toBeLessThan(100);
      await expect(cell.locator('.clipped').getAttribute('title')).resolves.toBe(longId);
      // The status columns stay in sight next to it.
      const health = await row.locator('td.health .pill').boundingBox();
      expect(health).not.toBeNull();
      expect(health!.x + health!.width).toBeLessThan(1400);
      await expect(page.locator('.subscribers').textContent()).resolves.toMatch(/envoy-front \(CDS\*, EDS, LDS\*, RDS\)/);
    } finally {
      state.view = saved;
    }
  });

  it('shows a proxy waiting for a resource that is not served as waiting, not synced', async () => {
    const saved = state.connected;
    state.connected = [...saved, waitingStream(state.snap)];
    try {
      await page.goto(`http://${server.address}/?token=${TOKEN}`);
      const row = page.locator('tr.client[data-status="NOT_FOUND"]');
      await expect(row.locator('.node').textContent()).resolves.toBe('waiting-client');
      await expect(row.locator('td.type-listener .pill').textContent()).resolves.toBe('WAITING (NOT_FOUND)');
      await expect(row.locator('td.type-listener .pill').getAttribute('title')).resolves.toContain('nosuch');
      await expect(page.locator('#summary').textContent()).resolves.toMatch(/1\s*waiting \(not found\)/);
    } finally {
      state.connected = saved;
    }
  });

  it('saves a screenshot for people to look at', async () => {
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
