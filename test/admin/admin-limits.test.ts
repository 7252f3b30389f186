// The admin listener's timeouts and caps, over raw sockets: a client that never finishes its headers, an idle
// keep-alive connection, one connection too many, and headers beyond the count.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { DEFAULT_ADMIN_LIMITS, startAdminServer, type AdminServer, type AdminServerLimits } from '../../src/admin/server.js';
import { silentLogger } from '../../src/logger.js';
import { FixtureState } from './fixtures.js';

let server: AdminServer | undefined;
const sockets: Socket[] = [];

async function start(limits: Partial<AdminServerLimits>, token?: string): Promise<AdminServer> {
  const state = new FixtureState();
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  server = await startAdminServer({ address: '127.0.0.1:0', state, metrics, logger: silentLogger(), limits, ...(token ? { token } : {}) });
  return server;
}

/** A raw connection, with everything it received and a promise of its close. */
async function open(admin: AdminServer): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const [host, port] = [admin.address.slice(0, admin.address.lastIndexOf(':')), Number(admin.address.split(':').pop())];
  const socket = connect(port, host);
  sockets.push(socket);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => received, closed };
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

describe('admin listener limits', () => {
  it('has bounded defaults', () => {
    expect(DEFAULT_ADMIN_LIMITS).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxConnections: 256, maxHeadersCount: 64 });
  });

  it('cuts off a client that never finishes its headers', async () => {
    const admin = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const slow = await open(admin);
    slow.socket.write('GET /debug/services HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    await slow.closed;
    expect(slow.received()).not.toContain('200 OK');
  });

  it('closes an idle keep-alive connection', async () => {
    const admin = await start({ keepAliveTimeoutMs: 200 });
    const idle = await open(admin);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await idle.closed;
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('drops connections beyond the cap and keeps serving the others', async () => {
    const admin = await start({ maxConnections: 2 });
    const first = await open(admin);
    await open(admin);
    const third = await open(admin);
    await third.closed;
    expect(third.received()).toBe('');
    first.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await first.closed;
    expect(first.received()).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('ignores headers beyond the count, an Authorization header included', async () => {
    const token = 'limits-token';
    const admin = await start({ maxHeadersCount: 8 }, token);
    const junk = Array.from({ length: 10 }, (_, i) => `X-Junk-${i}: ${i}\r\n`).join('');
    const late = await open(admin);
    late.socket.write(`GET /debug/summary HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${junk}Authorization: Bearer ${token}\r\n\r\n`);
    await late.closed;
    expect(late.received()).toMatch(/^HTTP\/1\.1 401/);
    const early = await open(admin);
    early.socket.write(`GET /debug/summary HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n${junk}\r\n`);
    await early.closed;
    expect(early.received()).toMatch(/^HTTP\/1\.1 200 OK/);
  });
});
