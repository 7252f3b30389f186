// What reaches the admin routes: a tokenless listener answers only requests addressed to this machine (DNS rebinding),
// and request targets that are not a plain path are answered 400 without an error log.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminMetrics } from '../../src/admin/metrics.js';
import { MetricsEventHub } from './metrics-hub.js';
import { isAllowedHostHeader, startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { FixtureState } from './fixtures.js';

const TOKEN = 's3cret-admin-token';
const FOREIGN = 'rebind.attacker.example:19000';

interface LogLine {
  level: number;
  msg: string;
}

/** A server on a free loopback port whose debug-level log lines are kept for assertions. */
async function startServer(token?: string): Promise<{ server: AdminServer; port: number; logs: LogLine[] }> {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const state = new FixtureState();
  const metrics = createAdminMetrics(new MetricsEventHub(), state, { processMetrics: false });
  const server = await startAdminServer({ address: '127.0.0.1:0', token, state, metrics, logger });
  return { server, port: Number(server.address.split(':').pop()), logs };
}

/** A GET with a chosen Host header (fetch picks Host from the URL). */
function getWithHost(port: number, path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { ...headers, host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Bytes on a socket as written, so targets no HTTP client would send reach the server unchanged. */
function rawRequest(port: number, head: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const split = text.indexOf('\r\n\r\n');
      const body = text.slice(split + 4);
      resolve({ status, body: /^transfer-encoding: chunked$/im.test(text.slice(0, split)) ? dechunk(body) : body });
    });
    socket.write(`${head}\r\nConnection: close\r\n\r\n`);
  });
}

/** The payload of a chunked HTTP/1.1 body (ASCII JSON here, so characters count as bytes). */
function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 4 + size);
  }
}

describe('Host header check without a token', () => {
  let ctx: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    ctx = await startServer();
  });
  afterAll(async () => {
    await ctx?.server.close();
  });

  it('answers 403 with a way forward when the Host names another machine', async () => {
    for (const path of ['/debug/services', '/debug/clients', '/metrics', '/']) {
      const { status, body } = await getWithHost(ctx.port, path, FOREIGN);
      expect(status, path).toBe(403);
      const error = (JSON.parse(body) as { error: string }).error;
      expect(error).toContain(`Host "${FOREIGN}" is not allowed`);
      expect(error).toContain('--admin-token');
      expect(error).toContain(`http://${ctx.server.address}/`);
    }
    // A rebinding page cannot dodge the check with a loopback-looking prefix or a bracketed name.
    for (const host of ['127.0.0.1.attacker.example', 'localhost.attacker.example', '[localhost]', '0.0.0.0']) {
      expect((await getWithHost(ctx.port, '/debug/services', host)).status, host).toBe(403);
    }
    // node:http would fill in an empty Host, so this one goes out as written.
    expect((await rawRequest(ctx.port, 'GET /debug/services HTTP/1.1\r\nHost: ')).status).toBe(403);
  });

  it('serves requests addressed to localhost, a 127/8 address or [::1]', async () => {
    for (const host of ['localhost', `localhost:${ctx.port}`, 'LOCALHOST', `127.0.0.1:${ctx.port}`, '127.1.2.3', `[::1]:${ctx.port}`, '[::1]']) {
      const { status, body } = await getWithHost(ctx.port, '/debug/services', host);
      expect(status, host).toBe(200);
      expect(body).toContain('"greeter"');
    }
    expect((await getWithHost(ctx.port, '/', `[::1]:${ctx.port}`)).status).toBe(200);
  });

  it('serves an HTTP/1.0 request that carries no Host header', async () => {
    const { status, body } = await rawRequest(ctx.port, 'GET /debug/services HTTP/1.0');
    expect(status).toBe(200);
    expect(body).toContain('"greeter"');
  });

  it('leaves /healthz and /readyz open to any Host, for container health checks', async () => {
    expect((await getWithHost(ctx.port, '/healthz', FOREIGN)).status).toBe(200);
    expect((await getWithHost(ctx.port, '/readyz', 'etcd-xds:19000')).status).toBe(200);
  });

  it('reads the host part of the header the way a browser writes it', () => {
    expect(isAllowedHostHeader(undefined, '127.0.0.1')).toBe(true);
    expect(isAllowedHostHeader('[::ffff:127.0.0.1]:80', '127.0.0.1')).toBe(true);
    expect(isAllowedHostHeader('::1', '127.0.0.1')).toBe(false);
    expect(isAllowedHostHeader('[::2]', '127.0.0.1')).toBe(false);
    expect(isAllowedHostHeader('localhost:80:80', '127.0.0.1')).toBe(false);
    expect(isAllowedHostHeader('user@localhost', '127.0.0.1')).toBe(false);
  });
});

describe('Host header with a token', () => {
  let ctx: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    ctx = await startServer(TOKEN);
  });
  afterAll(async () => {
    await ctx?.server.close();
  });

  it('lets the token decide, whatever the Host', async () => {
    const authorized = { authorization: `Bearer ${TOKEN}` };
    expect((await getWithHost(ctx.port, '/debug/services', FOREIGN, authorized)).status).toBe(200);
    expect((await getWithHost(ctx.port, '/', FOREIGN, authorized)).status).toBe(200);
    expect((await getWithHost(ctx.port, '/debug/services', FOREIGN)).status).toBe(401);
  });
});

describe('request targets that are not a plain path', () => {
  let ctx: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    ctx = await startServer();
  });
  afterAll(async () => {
    await ctx?.server.close();
  });

  it('answers 400 to targets without a single leading slash, logs no error, and keeps serving', async () => {
    const host = `Host: 127.0.0.1:${ctx.port}`;
    for (const target of ['//', '//[', '//x/debug/services', 'http://127.0.0.1/debug/services', '*']) {
      const { status, body } = await rawRequest(ctx.port, `GET ${target} HTTP/1.1\r\n${host}`);
      expect(status, target).toBe(400);
      expect((JSON.parse(body) as { error: string }).error).toContain('bad request target');
    }
    expect(ctx.logs.filter((line) => line.level >= 40)).toEqual([]);
    expect(ctx.logs.some((line) => line.level === 20 && line.msg === 'admin request rejected')).toBe(true);
    const after = await rawRequest(ctx.port, `GET /debug/services HTTP/1.1\r\n${host}`);
    expect(after.status).toBe(200);
    expect(after.body).toContain('"greeter"');
  });

  it('answers 400 before the token check, so strangers get no 401 hint and no error log', async () => {
    const tokenCtx = await startServer(TOKEN);
    try {
      const { status } = await rawRequest(tokenCtx.port, `GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${tokenCtx.port}`);
      expect(status).toBe(400);
      expect(tokenCtx.logs.filter((line) => line.level >= 40)).toEqual([]);
    } finally {
      await tokenCtx.server.close();
    }
  });

  it('splits off the query and drops a fragment, as URL parsing did', async () => {
    const host = `Host: 127.0.0.1:${ctx.port}`;
    const typed = await rawRequest(ctx.port, `GET /debug/snapshot?type=endpoint#top HTTP/1.1\r\n${host}`);
    expect(typed.status).toBe(200);
    expect(typed.body).toContain('ClusterLoadAssignment');
    expect(typed.body).not.toContain('RouteConfiguration');
    expect((await rawRequest(ctx.port, `GET /healthz#x?y HTTP/1.1\r\n${host}`)).status).toBe(200);
    expect((await rawRequest(ctx.port, `GET /debug/services/gr%65eter HTTP/1.1\r\n${host}`)).status).toBe(200);
    expect((await rawRequest(ctx.port, `GET /debug/services/%E0%A4%A HTTP/1.1\r\n${host}`)).status).toBe(400);
  });
});
