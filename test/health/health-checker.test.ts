// The checker end to end: RegistryView in, probes against real HTTP/TCP/gRPC servers, verdicts and changes out.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HealthChecker, type HealthCheckerOptions } from '../../src/health/health-checker.js';
import { silentLogger } from '../../src/logger.js';
import type { HealthCheckSpec, Instance, RegistryView } from '../../src/registry/types.js';
import { freePort } from '../support/etcd.js';
import { instance as testInstance } from '../support/snapshots.js';

function instance(service: string, instanceId: string, port: number, healthCheck?: HealthCheckSpec): Instance {
  return testInstance(service, instanceId, port, healthCheck ? { healthCheck } : {});
}

function viewOf(instances: Instance[], revision = '1'): RegistryView {
  const services = new Map<string, Map<string, Instance>>();
  for (const item of instances) {
    const byId = services.get(item.service) ?? new Map<string, Instance>();
    byId.set(item.instanceId, item);
    services.set(item.service, byId);
  }
  return { services, rejected: new Map(), revision };
}

/** An HTTP backend that counts requests per path and how many it is serving at once. */
class HttpBackend {
  status = 200;
  responseDelayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly hitsByPath = new Map<string, number>();
  readonly firstHitAt = new Map<string, number>();
  readonly server = http.createServer((req, res) => {
    const path = req.url ?? '';
    this.hitsByPath.set(path, (this.hitsByPath.get(path) ?? 0) + 1);
    if (!this.firstHitAt.has(path)) this.firstHitAt.set(path, performance.now());
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
    };
    res.once('finish', finish);
    res.once('close', finish);
    setTimeout(() => {
      res.statusCode = this.status;
      res.end();
    }, this.responseDelayMs);
  });
  port = 0;

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  hits(path: string): number {
    return this.hitsByPath.get(path) ?? 0;
  }

  totalHits(): number {
    return [...this.hitsByPath.values()].reduce((sum, n) => sum + n, 0);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function backend(): Promise<HttpBackend> {
  const started = await new HttpBackend().start();
  cleanups.push(() => started.close());
  return started;
}

function checker(options: Partial<HealthCheckerOptions> = {}): HealthChecker {
  const created = new HealthChecker({ logger: silentLogger(), ...options });
  cleanups.push(() => created.stop());
  return created;
}

const waitLong = { timeout: 5000, interval: 10 };

describe('HealthChecker over HTTP', () => {
  it('flips unhealthy after unhealthyThreshold failures and back, firing onChange once per flip', async () => {
    const server = await backend();
    const logs: Array<{ level: number; msg: string; key?: string; reason?: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const health = checker({ logger, defaults: { intervalMs: 50, unhealthyThreshold: 2, healthyThreshold: 2 } });
    const changes: string[][] = [];
    health.onChange((keys) => changes.push([...keys]));
    const key = '/services/web/a';
    health.update(viewOf([instance('web', 'a', server.port, { type: 'http', path: '/healthz' })]));
    expect(health.verdict(key)).toBeUndefined();

    await vi.waitFor(() => expect(health.verdict(key)).toBe('healthy'), waitLong);
    expect(changes).toEqual([]); // healthy-until-proven-otherwise: the first success is no flip

    server.status = 500;
    await vi.waitFor(() => expect(health.verdict(key)).toBe('unhealthy'), waitLong);
    expect(changes).toEqual([[key]]);
    const [state] = health.probeStates();
    expect(state).toMatchObject({
      key,
      service: 'web',
      instanceId: 'a',
      type: 'http',
      target: `http://127.0.0.1:${server.port}/healthz`,
      verdict: 'unhealthy',
      lastResult: 'fail',
      lastError: 'HTTP 500 (expected 2xx)',
    });
    expect(state!.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(health.verdicts()).toEqual(new Map([[key, 'unhealthy']]));

    server.status = 200;
    await vi.waitFor(() => expect(health.verdict(key)).toBe('healthy'), waitLong);
    expect(changes).toEqual([[key], [key]]);
    // One log line per flip, saying which instance and why.
    const flips = logs.filter((line) => line.msg.startsWith('instance '));
    expect(flips.map(({ msg, key: logged }) => [msg, logged])).toEqual([
      ['instance unhealthy', key],
      ['instance healthy again', key],
    ]);
    expect(flips[0]).toMatchObject({ level: 40, reason: 'HTTP 500 (expected 2xx)' });
    expect(flips[1]).toMatchObject({ level: 30, reason: '2 consecutive successful probe(s)' });
    expect(health.probeStates()[0]).toMatchObject({ lastResult: 'ok', consecutiveFailures: 0 });
    expect(health.probeStates()[0]!.lastError).toBeUndefined();
  });

  it('does not mark an instance unhealthy before unhealthyThreshold failures', async () => {
    const server = await backend();
    server.status = 503;
    const health = checker({ defaults: { intervalMs: 100, unhealthyThreshold: 3 } });
    const key = '/services/web/a';
    health.update(viewOf([instance('web', 'a', server.port, { type: 'http', path: '/healthz' })]));
    // Sample (failures → verdict) far more often than probes run, so each intermediate state is seen.
    const seen = new Map<number, string | null>();
    const sampler = setInterval(() => {
      const state = health.probeStates()[0];
      if (state && !seen.has(state.consecutiveFailures)) seen.set(state.consecutiveFailures, state.verdict);
    }, 2);
    cleanups.push(() => clearInterval(sampler));
    await vi.waitFor(() => expect(health.verdict(key)).toBe('unhealthy'), waitLong);
    clearInterval(sampler);
    expect(seen.get(1)).toBeNull();
    expect(seen.get(2)).toBeNull();
    expect(health.probeStates()[0]!.consecutiveFailures).toBeGreaterThanOrEqual(3);
  });

  it('probes each instance at most about once per interval', async () => {
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 100, jitterRatio: 0.1 } });
    health.update(viewOf([instance('web', 'a', server.port, { type: 'http', path: '/healthz' })]));
    await vi.waitFor(() => expect(server.hits('/healthz')).toBeGreaterThan(0), waitLong);
    const before = server.hits('/healthz');
    await sleep(1000);
    const received = server.hits('/healthz') - before;
    // Shortest gap is 90 ms (interval − 10 % jitter): at most ⌈1000/90⌉ probes plus one already armed.
    expect(received).toBeLessThanOrEqual(Math.ceil(1000 / 90) + 1);
    expect(received).toBeGreaterThanOrEqual(3);
  });

  it('never has more than `concurrency` probes in flight, and still reaches every instance', async () => {
    const server = await backend();
    server.responseDelayMs = 30;
    const health = checker({ concurrency: 4, defaults: { intervalMs: 100 } });
    const instances = Array.from({ length: 50 }, (_, i) =>
      instance('web', `i${i}`, server.port, { type: 'http', path: `/healthz/${i}` }),
    );
    health.update(viewOf(instances));
    let maxLoad = 0;
    const sampler = setInterval(() => (maxLoad = Math.max(maxLoad, health.load.inFlight)), 5);
    cleanups.push(() => clearInterval(sampler));
    await vi.waitFor(() => expect(health.verdicts().size).toBe(50), waitLong);
    await sleep(300);
    expect(server.maxInFlight).toBeLessThanOrEqual(4);
    expect(server.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(maxLoad).toBeLessThanOrEqual(4);
  });

  it('spreads the first probes of many new instances over the interval', async () => {
    const server = await backend();
    const health = checker({ concurrency: 200, defaults: { intervalMs: 1000 } });
    const instances = Array.from({ length: 100 }, (_, i) =>
      instance('web', `i${i}`, server.port, { type: 'http', path: `/ready/${i}` }),
    );
    const startedAt = performance.now();
    health.update(viewOf(instances));
    await vi.waitFor(() => expect(server.firstHitAt.size).toBe(100), waitLong);
    const firstTenth = [...server.firstHitAt.values()].filter((at) => at - startedAt < 100).length;
    // Uniformly random first delays put ~10 of 100 in the first tenth of the interval; all of them is a herd.
    expect(firstTenth).toBeLessThan(50);
  });

  it('times out a probe that gets no answer', async () => {
    const server = await backend();
    server.responseDelayMs = 2000;
    const health = checker({ defaults: { intervalMs: 50, timeoutMs: 100, unhealthyThreshold: 1 } });
    const key = '/services/web/a';
    health.update(viewOf([instance('web', 'a', server.port, { type: 'http', path: '/slow' })]));
    await vi.waitFor(() => expect(health.verdict(key)).toBe('unhealthy'), waitLong);
    expect(health.probeStates()[0]!.lastError).toBe('timeout after 100 ms');
    expect(server.maxInFlight).toBe(1);
  });
});

describe('HealthChecker following the registry', () => {
  it('stops probing a removed instance and keeps probing the others', async () => {
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 50 } });
    const a = instance('web', 'a', server.port, { type: 'http', path: '/a' });
    const b = instance('web', 'b', server.port, { type: 'http', path: '/b' });
    health.update(viewOf([a, b]));
    await vi.waitFor(() => expect(health.verdicts().size).toBe(2), waitLong);

    health.update(viewOf([a], '2'));
    expect(health.verdict(b.key)).toBeUndefined();
    expect(health.probeStates().map((state) => state.key)).toEqual([a.key]);
    await sleep(60); // a probe already on the wire may still land
    const bHits = server.hits('/b');
    const aHits = server.hits('/a');
    await sleep(400);
    expect(server.hits('/b')).toBe(bHits);
    expect(server.hits('/a')).toBeGreaterThan(aHits);
  });

  it('stops probing an instance whose healthCheck is dropped, and ignores instances without one', async () => {
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 50 } });
    const checked = instance('web', 'a', server.port, { type: 'http', path: '/a' });
    health.update(viewOf([checked, instance('web', 'plain', server.port)]));
    await vi.waitFor(() => expect(health.verdict(checked.key)).toBe('healthy'), waitLong);
    expect(health.verdict('/services/web/plain')).toBeUndefined();
    expect(health.probeStates()).toHaveLength(1);

    health.update(viewOf([instance('web', 'a', server.port)], '2'));
    expect(health.probeStates()).toEqual([]);
    await sleep(60);
    const hits = server.hits('/a');
    await sleep(300);
    expect(server.hits('/a')).toBe(hits);
  });

  it('keeps state when nothing relevant changed and restarts on a spec change', async () => {
    const server = await backend();
    server.status = 500;
    const health = checker({ defaults: { intervalMs: 50, unhealthyThreshold: 1 } });
    const changes: string[][] = [];
    health.onChange((keys) => changes.push([...keys]));
    const before = instance('web', 'a', server.port, { type: 'http', path: '/old' });
    health.update(viewOf([before]));
    await vi.waitFor(() => expect(health.verdict(before.key)).toBe('unhealthy'), waitLong);
    expect(changes).toEqual([[before.key]]);

    // Weight, metadata and revision are not the probe's business: same counters, same verdict, no event.
    const probesSoFar = health.probeStates()[0]!.totalProbes;
    health.update(viewOf([{ ...before, weight: 5, metadata: { v: '2' }, modRevision: '9' }], '9'));
    expect(health.verdict(before.key)).toBe('unhealthy');
    expect(health.probeStates()[0]!.totalProbes).toBeGreaterThanOrEqual(probesSoFar);
    expect(changes).toHaveLength(1);

    server.status = 200;
    const after = { ...before, healthCheck: { type: 'http', path: '/new' } as const, modRevision: '10' };
    health.update(viewOf([after], '10'));
    // A restart starts over: no verdict, no counters; the key stops being unhealthy, which listeners hear.
    expect(health.verdict(before.key)).toBeUndefined();
    expect(health.probeStates()[0]).toMatchObject({ totalProbes: 0, lastResult: null, target: `http://127.0.0.1:${server.port}/new` });
    expect(changes).toEqual([[before.key], [before.key]]);
    await vi.waitFor(() => expect(health.verdict(before.key)).toBe('healthy'), waitLong);
    await sleep(60);
    const oldHits = server.hits('/old');
    await sleep(300);
    expect(server.hits('/old')).toBe(oldHits);
    expect(server.hits('/new')).toBeGreaterThan(0);
    expect(changes).toHaveLength(2);
  });

  it('uses spec.port over the instance port', async () => {
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 50 } });
    const item = instance('web', 'a', await freePort(), { type: 'http', path: '/admin', port: server.port });
    health.update(viewOf([item]));
    await vi.waitFor(() => expect(health.verdict(item.key)).toBe('healthy'), waitLong);
    expect(server.hits('/admin')).toBeGreaterThan(0);
  });

  it('stop() clears every timer: no probes and no pending timeouts afterwards', async () => {
    const server = await backend();
    const pendingTimeouts = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const health = new HealthChecker({ logger: silentLogger(), defaults: { intervalMs: 50 } });
    const instances = Array.from({ length: 10 }, (_, i) =>
      instance('web', `i${i}`, server.port, { type: 'http', path: `/s/${i}` }),
    );
    health.update(viewOf(instances));
    await vi.waitFor(() => expect(health.verdicts().size).toBe(10), waitLong);
    // Each instance holds exactly one timer at any time: its next probe, or the timeout of its probe in flight.
    // (Other timers, such as the backend's, come and go, so only the synchronous difference is exact.)
    const timersWhileRunning = pendingTimeouts();
    health.stop();
    expect(timersWhileRunning - pendingTimeouts()).toBe(10);
    await sleep(60);
    const hits = server.totalHits();
    await sleep(300);
    expect(server.totalHits()).toBe(hits);
    health.update(viewOf(instances, '2'));
    await sleep(200);
    expect(server.totalHits()).toBe(hits);
    expect(health.probeStates()).toEqual([]);
  });
});

describe('HealthChecker with tcp and grpc probes', () => {
  it('judges a listening port healthy and a closed port unhealthy', async () => {
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 50, unhealthyThreshold: 2 } });
    const open = instance('db', 'open', server.port, { type: 'tcp' });
    const closed = instance('db', 'closed', await freePort(), { type: 'tcp' });
    health.update(viewOf([open, closed]));
    await vi.waitFor(() => {
      expect(health.verdict(open.key)).toBe('healthy');
      expect(health.verdict(closed.key)).toBe('unhealthy');
    }, waitLong);
    const closedState = health.probeStates().find((state) => state.key === closed.key)!;
    expect(closedState.lastError).toMatch(/ECONNREFUSED/);
  });

  it('follows a grpc.health.v1 server flipping between SERVING and NOT_SERVING', async () => {
    const statuses = new HealthImplementation({ greeter: 'SERVING' });
    const server = new grpc.Server();
    statuses.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
    const health = checker({ defaults: { intervalMs: 50, unhealthyThreshold: 2 } });
    const changes: string[][] = [];
    health.onChange((keys) => changes.push([...keys]));
    const item = instance('greeter', 'g1', port, { type: 'grpc', service: 'greeter' });
    health.update(viewOf([item]));

    await vi.waitFor(() => expect(health.verdict(item.key)).toBe('healthy'), waitLong);
    statuses.setStatus('greeter', 'NOT_SERVING');
    await vi.waitFor(() => expect(health.verdict(item.key)).toBe('unhealthy'), waitLong);
    expect(health.probeStates()[0]).toMatchObject({ type: 'grpc', lastError: 'status NOT_SERVING' });
    statuses.setStatus('greeter', 'SERVING');
    await vi.waitFor(() => expect(health.verdict(item.key)).toBe('healthy'), waitLong);
    expect(changes).toEqual([[item.key], [item.key]]);
  });
});
