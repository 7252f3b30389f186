// The admin API over a 10,000-service registry (100,000 instances) held in memory: every answer stays the size of
// what was asked for. Sizes and counts only; how fast is the bench's business.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import type { ServicesResponse } from '../../src/admin/services-view.js';
import type { SnapshotResponse } from '../../src/admin/snapshot-view.js';
import type { SummaryResponse } from '../../src/admin/summary-view.js';
import { silentLogger } from '../../src/logger.js';
import { FleetState, serviceName } from './fleet.js';

const SERVICES = 10_000;
const PER_SERVICE = 10;

let state: FleetState;
let server: AdminServer;

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://${server.address}${path}`, { headers });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  state = new FleetState(SERVICES, PER_SERVICE);
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  server = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger() });
}, 120_000);
afterAll(async () => {
  await server?.close();
});

describe('admin at 10,000 services × 10 instances', () => {
  it('the first page of / is at most 200 KB, summarises the whole fleet and links to the next page', async () => {
    const { status, text } = await get('/');
    expect(status).toBe(200);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(200 * 1024);
    expect(text).toContain(`${SERVICES} matching · showing 50`);
    expect(text.match(/<section class="card service"/g)).toHaveLength(50);
    expect(text).toContain(`cursor=${serviceName(49)}`);
    // Too many instances to list inline: each service links to its own page instead.
    expect(text).not.toContain('<tr class="instance"');
    expect(text).toContain(`href="/services/${serviceName(0)}"`);
    // A big fleet refreshes its summary only, and slowly.
    expect(text).toMatch(/data-refresh-ms="15000"/);
    const fragment = await get('/', { 'x-admin-fragment': '1' });
    expect(fragment.text.startsWith('<div id="summary"')).toBe(true);
    expect(Buffer.byteLength(fragment.text)).toBeLessThan(8 * 1024);
  });

  it('/debug/summary counts every service and instance', async () => {
    const summary = JSON.parse((await get('/debug/summary')).text) as SummaryResponse;
    expect(summary.services).toEqual({ total: SERVICES, live: SERVICES, empty: 0, 'rejected-only': 0 });
    expect(summary.instances.total).toBe(SERVICES * PER_SERVICE);
  });

  it('/debug/services defaults to 100 services and pages with limit and cursor', async () => {
    const first = JSON.parse((await get('/debug/services')).text) as ServicesResponse;
    expect(first.services).toHaveLength(100);
    expect(first.total).toBe(SERVICES);
    expect(first.nextCursor).toBe(serviceName(99));
    const page = JSON.parse((await get(`/debug/services?limit=1000&cursor=${serviceName(8999)}`)).text) as ServicesResponse;
    expect(page.services.map((s) => s.name)).toEqual(Array.from({ length: 1000 }, (_, i) => serviceName(9000 + i)));
    expect(page.services[0]!.instances).toHaveLength(PER_SERVICE);
    expect(page.nextCursor).toBeNull();
    const one = JSON.parse((await get(`/debug/services?service=${serviceName(1234)}`)).text) as ServicesResponse;
    expect(one.services.map((s) => s.name)).toEqual([serviceName(1234)]);
    const search = JSON.parse((await get('/debug/services?q=SVC-01234&limit=5')).text) as ServicesResponse;
    expect(search.total).toBe(1);
  });

  it('every page of /debug/services put together lists each service once', async () => {
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/debug/services?limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
      const page = JSON.parse((await get(path)).text) as ServicesResponse;
      names.push(...page.services.map((s) => s.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(names).toHaveLength(SERVICES);
    expect(new Set(names).size).toBe(SERVICES);
  });

  it('/debug/snapshot and one service page stay one page long', async () => {
    const snapshot = JSON.parse((await get('/debug/snapshot')).text) as SnapshotResponse;
    expect(snapshot.types.endpoint!.count).toBe(SERVICES);
    expect(snapshot.types.endpoint!.resources).toHaveLength(100);
    expect(snapshot.nextCursor).toBe(serviceName(99));
    const service = await get(`/services/${serviceName(7)}`);
    expect(service.text.match(/<tr class="instance"/g)).toHaveLength(PER_SERVICE);
  });
});
