// Each probe kind against real sockets and servers, without the scheduler.
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { grpcProbe } from '../../src/health/grpc-probe.js';
import { httpProbe } from '../../src/health/http-probe.js';
import { tcpProbe } from '../../src/health/tcp-probe.js';
import { freePort } from '../support/etcd.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function never(): AbortSignal {
  return new AbortController().signal;
}

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((addresses) =>
    (addresses ?? []).some((address) => address.address === '::1'),
  );
}

describe('tcp probe', () => {
  it('is ok against a listening port and fails against a closed one', async () => {
    const accepted: net.Socket[] = [];
    const port = await listen(net.createServer((socket) => accepted.push(socket)));
    const open = tcpProbe('127.0.0.1', port);
    expect(open.target).toBe(`127.0.0.1:${port}`);
    expect(await open.run(never())).toEqual({ ok: true });

    const closedPort = await freePort();
    const closed = await tcpProbe('127.0.0.1', closedPort).run(never());
    expect(closed.ok).toBe(false);
    expect(closed.ok === false && closed.error).toMatch(/ECONNREFUSED/);
  });

  it('reports the abort reason when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('timeout after 5 ms'));
    const outcome = await tcpProbe('127.0.0.1', 1).run(controller.signal);
    expect(outcome).toEqual({ ok: false, error: 'timeout after 5 ms' });
  });
});

describe('http probe', () => {
  it('works on ports that fetch refuses (the WHATWG bad-ports list, e.g. 6000, 10080)', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    let port: number | undefined;
    for (const candidate of [6000, 6665, 10080, 2049, 6666, 6667]) {
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(candidate, '127.0.0.1', () => resolve(true));
      });
      if (bound) {
        port = candidate;
        break;
      }
    }
    expect(port, 'one of the bad ports is free on this machine').toBeDefined();
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await expect(httpProbe('127.0.0.1', port!, { path: '/healthz' }).run(never())).resolves.toEqual({ ok: true });
  });

  it('accepts any 2xx by default and only expectedStatus when given', async () => {
    const port = await listen(
      http.createServer((req, res) => {
        res.statusCode = Number(req.url?.slice(1));
        res.end('body that the probe does not need');
      }),
    );
    expect(await httpProbe('127.0.0.1', port, { path: '/204' }).run(never())).toEqual({ ok: true });
    expect(await httpProbe('127.0.0.1', port, { path: '/500' }).run(never())).toEqual({
      ok: false,
      error: 'HTTP 500 (expected 2xx)',
    });
    // Redirects are judged, not followed.
    expect(await httpProbe('127.0.0.1', port, { path: '/302' }).run(never())).toMatchObject({ ok: false });
    expect(await httpProbe('127.0.0.1', port, { path: '/200', expectedStatus: 204 }).run(never())).toEqual({
      ok: false,
      error: 'HTTP 200 (expected 204)',
    });
    expect(await httpProbe('127.0.0.1', port, { path: '/418', expectedStatus: 418 }).run(never())).toEqual({ ok: true });
  });

  it('fails on a refused connection and settles when aborted mid-request', async () => {
    const refused = await httpProbe('127.0.0.1', await freePort(), { path: '/healthz' }).run(never());
    expect(refused.ok === false && refused.error).toMatch(/ECONNREFUSED/);

    const hanging = new Set<http.ServerResponse>();
    const server = http.createServer((_req, res) => hanging.add(res));
    const port = await listen(server);
    cleanups.push(() => server.closeAllConnections());
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('timeout after 50 ms')), 50);
    const outcome = await httpProbe('127.0.0.1', port, { path: '/slow' }).run(controller.signal);
    expect(outcome).toEqual({ ok: false, error: 'timeout after 50 ms' });
    expect(hanging.size).toBe(1);
  });

  it.skipIf(!hasIpv6Loopback())('puts IPv6 addresses in brackets (http, tcp, grpc)', async () => {
    const paths: string[] = [];
    const port = await listen(
      http.createServer((req, res) => {
        paths.push(req.url ?? '');
        res.end();
      }),
      '::1',
    );
    const probe = httpProbe('::1', port, { path: 'ready' });
    expect(probe.target).toBe(`http://[::1]:${port}/ready`);
    expect(await probe.run(never())).toEqual({ ok: true });
    expect(paths).toEqual(['/ready']);
    expect(await tcpProbe('::1', port).run(never())).toEqual({ ok: true });

    const health = new HealthImplementation({ '': 'SERVING' });
    const server = new grpc.Server();
    health.addToServer(server);
    const grpcPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync('[::1]:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    const grpcCheck = grpcProbe('::1', grpcPort);
    cleanups.push(() => grpcCheck.close());
    expect(grpcCheck.target).toBe(`grpc://[::1]:${grpcPort}/`);
    expect(await grpcCheck.run(never())).toEqual({ ok: true });
  });
});

describe('grpc probe', () => {
  async function healthServer(statuses: Record<string, 'SERVING' | 'NOT_SERVING'>) {
    const health = new HealthImplementation(statuses);
    const server = new grpc.Server();
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    return { health, port };
  }

  it('is ok only while the service is SERVING, and fails for an unknown service', async () => {
    const { health, port } = await healthServer({ greeter: 'SERVING', '': 'SERVING' });
    const probe = grpcProbe('127.0.0.1', port, { service: 'greeter' });
    cleanups.push(() => probe.close());
    expect(probe.target).toBe(`grpc://127.0.0.1:${port}/greeter`);
    expect(await probe.run(never())).toEqual({ ok: true });
    health.setStatus('greeter', 'NOT_SERVING');
    expect(await probe.run(never())).toEqual({ ok: false, error: 'status NOT_SERVING' });
    health.setStatus('greeter', 'SERVING');
    expect(await probe.run(never())).toEqual({ ok: true });

    const unknown = grpcProbe('127.0.0.1', port, { service: 'nope' });
    cleanups.push(() => unknown.close());
    const outcome = await unknown.run(never());
    expect(outcome.ok === false && outcome.error).toMatch(/^NOT_FOUND/);

    const whole = grpcProbe('127.0.0.1', port);
    cleanups.push(() => whole.close());
    expect(await whole.run(never())).toEqual({ ok: true });
  });

  it('fails when nothing listens', async () => {
    const probe = grpcProbe('127.0.0.1', await freePort(), { service: 'greeter' });
    cleanups.push(() => probe.close());
    const outcome = await probe.run(never());
    expect(outcome.ok === false && outcome.error).toMatch(/^UNAVAILABLE/);
  });
});
