// The checker end to end: RegistryView in, probes against real HTTP/TCP/gRPC servers, verdicts and changes out.
// Tests about when probes run fake the checker's clock (its setTimeout) and step it, so they count probes per
// step of fake time rather than against the wall clock; the servers answer in real time.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as realSetTimeout } from 'node:timers';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HealthChecker, type HealthCheckerOptions } from '../../src/health/health-checker.js';
import { silentLogger } from '../../src/logger.js';
import type { HealthCheckSpec, Instance, RegistryView } from '../../src/registry/types.js';
import { freePort } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
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
    // Real time, also while a test fakes the checker's clock.
    realSetTimeout(() => {
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

/** Fakes the clock the checker schedules with (setTimeout/clearTimeout); real I/O and the test's waiting go on. */
function fakeCheckerClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  cleanups.push(() => void vi.useRealTimers());
}

/** No probe running or waiting for a slot. */
function idle(health: HealthChecker): boolean {
  return health.load.inFlight === 0 && health.load.waiting === 0;
}

/** Moves the fake clock on by `ms` (firing the probe timers due), then waits until the probes it started settle. */
async function advance(health: HealthChecker, ms: number): Promise<void> {
  vi.advanceTimersByTime(ms);
  await eventually(() => idle(health), 'the probes started to settle');
}

function totalProbes(health: HealthChecker, key: string): number {
  return health.probeStates().find((state) => state.key === key)?.totalProbes ?? 0;
}

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

    await eventually(() => health.verdict(key) === 'healthy', 'a verdict of healthy');
    expect(changes).toEqual([]); // healthy-until-proven-otherwise: the first success is no flip

    server.status = 500;
    await eventually(() => health.verdict(key) === 'unhealthy', 'a verdict of unhealthy');
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
    await eventually(() => health.verdict(key) === 'healthy', 'a verdict of healthy');
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
    fakeCheckerClock();
    const server = await backend();
    server.status = 503;
    const health = checker({ defaults: { intervalMs: 100, unhealthyThreshold: 3 } });
    const key = '/services/web/a';
    health.update(viewOf([instance('web', 'a', server.port, { type: 'http', path: '/healthz' })]));
    // One probe per step of the fake clock, so each intermediate state is seen.
    const verdicts: Array<string | null> = [];
    for (let probe = 1; probe <= 3; probe++) {
      await advance(health, 110);
      expect(totalProbes(health, key)).toBe(probe);
      verdicts.push(health.probeStates()[0]!.verdict);
    }
    expect(verdicts).toEqual([null, null, 'unhealthy']);
    expect(health.probeStates()[0]!.consecutiveFailures).toBe(3);
  });

  it('probes each instance once per interval, within the jitter', async () => {
    fakeCheckerClock();
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 100, jitterRatio: 0.1 } });
    const key = '/services/web/a';
    health.update(viewOf([instance('web', 'a', server.port, { type: 'http', path: '/healthz' })]));
    await advance(health, 100); // the first probe comes within one interval
    expect(totalProbes(health, key)).toBe(1);
    for (let probe = 2; probe <= 5; probe++) {
      // The next is armed when the last settles, 90–110 ms later (interval ± 10 %): none before, one by then.
      vi.advanceTimersByTime(89);
      expect(health.load.inFlight).toBe(0);
      expect(totalProbes(health, key)).toBe(probe - 1);
      await advance(health, 21);
      expect(totalProbes(health, key)).toBe(probe);
    }
    expect(server.hits('/healthz')).toBe(5);
  });

  it('never has more than `concurrency` probes in flight, and still reaches every instance', async () => {
    fakeCheckerClock();
    const server = await backend();
    server.responseDelayMs = 30;
    const health = checker({ concurrency: 4, defaults: { intervalMs: 100 } });
    const instances = Array.from({ length: 50 }, (_, i) =>
      instance('web', `i${i}`, server.port, { type: 'http', path: `/healthz/${i}` }),
    );
    health.update(viewOf(instances));
    vi.advanceTimersByTime(100); // every first probe is due: four start, the rest wait for a slot
    expect(health.load).toEqual({ inFlight: 4, waiting: 46 });
    await eventually(() => idle(health), 'the queue to drain');
    expect(health.verdicts().size).toBe(50);
    expect(server.totalHits()).toBe(50);
    expect(server.maxInFlight).toBeLessThanOrEqual(4);
    expect(server.maxInFlight).toBeGreaterThanOrEqual(2);
  });

  it('spreads the first probes of many new instances over the interval', async () => {
    fakeCheckerClock();
    const server = await backend();
    const health = checker({ concurrency: 200, defaults: { intervalMs: 1000 } });
    const instances = Array.from({ length: 100 }, (_, i) =>
      instance('web', `i${i}`, server.port, { type: 'http', path: `/ready/${i}` }),
    );
    health.update(viewOf(instances));
    vi.advanceTimersByTime(100);
    // Uniformly random first delays put ~10 of 100 in the first tenth of the interval; all of them is a herd.
    const firstTenth = health.load.inFlight;
    expect(firstTenth).toBeLessThan(50);
    await advance(health, 900);
    expect(server.firstHitAt.size).toBe(100);
  });

  it('times out a probe that gets no answer', async () => {
    const server = await backend();
    server.responseDelayMs = 2000;
    const health = checker({ defaults: { intervalMs: 50, timeoutMs: 100, unhealthyThreshold: 1 } });
    const key = '/services/web/a';
    health.update(viewOf([instance('web', 'a', server.port, { type: 'http', path: '/slow' })]));
    await eventually(() => health.verdict(key) === 'unhealthy', 'a verdict of unhealthy');
    expect(health.probeStates()[0]!.lastError).toBe('timeout after 100 ms');
    expect(server.maxInFlight).toBe(1);
  });
});

describe('HealthChecker following the registry', () => {
  it('stops probing a removed instance and keeps probing the others', async () => {
    fakeCheckerClock();
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 50, jitterRatio: 0 } });
    const a = instance('web', 'a', server.port, { type: 'http', path: '/a' });
    const b = instance('web', 'b', server.port, { type: 'http', path: '/b' });
    health.update(viewOf([a, b]));
    await advance(health, 50);
    expect(health.verdicts().size).toBe(2);

    health.update(viewOf([a], '2')); // idle: no probe of b is on the wire
    expect(health.verdict(b.key)).toBeUndefined();
    expect(health.probeStates().map((state) => state.key)).toEqual([a.key]);
    const bHits = server.hits('/b');
    const aHits = server.hits('/a');
    for (let step = 0; step < 5; step++) await advance(health, 50);
    expect(server.hits('/a')).toBe(aHits + 5); // five intervals later: five more probes of a, none of b
    expect(server.hits('/b')).toBe(bHits);
  });

  it('stops probing an instance whose healthCheck is dropped, and ignores instances without one', async () => {
    fakeCheckerClock();
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 50, jitterRatio: 0 } });
    const checked = instance('web', 'a', server.port, { type: 'http', path: '/a' });
    health.update(viewOf([checked, instance('web', 'plain', server.port)]));
    await advance(health, 50);
    expect(health.verdict(checked.key)).toBe('healthy');
    expect(health.verdict('/services/web/plain')).toBeUndefined();
    expect(health.probeStates()).toHaveLength(1);

    health.update(viewOf([instance('web', 'a', server.port)], '2'));
    expect(health.probeStates()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0); // nothing left that could probe
    const hits = server.hits('/a');
    await advance(health, 500);
    expect(server.hits('/a')).toBe(hits);
  });

  it('keeps state when nothing relevant changed and restarts on a spec change', async () => {
    fakeCheckerClock();
    const server = await backend();
    server.status = 500;
    const health = checker({ defaults: { intervalMs: 50, jitterRatio: 0, unhealthyThreshold: 1 } });
    const changes: string[][] = [];
    health.onChange((keys) => changes.push([...keys]));
    const before = instance('web', 'a', server.port, { type: 'http', path: '/old' });
    health.update(viewOf([before]));
    await advance(health, 50);
    expect(health.verdict(before.key)).toBe('unhealthy');
    expect(changes).toEqual([[before.key]]);

    // Weight, metadata and revision are not the probe's business: same counters, same verdict, no event.
    const probesSoFar = health.probeStates()[0]!.totalProbes;
    health.update(viewOf([{ ...before, weight: 5, metadata: { v: '2' }, modRevision: '9' }], '9'));
    expect(health.verdict(before.key)).toBe('unhealthy');
    expect(health.probeStates()[0]!.totalProbes).toBe(probesSoFar);
    expect(changes).toHaveLength(1);

    server.status = 200;
    const after = { ...before, healthCheck: { type: 'http', path: '/new' } as const, modRevision: '10' };
    health.update(viewOf([after], '10'));
    // A restart starts over: no verdict, no counters; the key stops being unhealthy, which listeners hear.
    expect(health.verdict(before.key)).toBeUndefined();
    expect(health.probeStates()[0]).toMatchObject({ totalProbes: 0, lastResult: null, target: `http://127.0.0.1:${server.port}/new` });
    expect(changes).toEqual([[before.key], [before.key]]);
    const oldHits = server.hits('/old');
    await advance(health, 50);
    expect(health.verdict(before.key)).toBe('healthy');
    for (let step = 0; step < 3; step++) await advance(health, 50);
    expect(server.hits('/old')).toBe(oldHits);
    expect(server.hits('/new')).toBe(4);
    expect(changes).toHaveLength(2);
  });

  it('uses spec.port over the instance port', async () => {
    const server = await backend();
    const health = checker({ defaults: { intervalMs: 50 } });
    const item = instance('web', 'a', await freePort(), { type: 'http', path: '/admin', port: server.port });
    health.update(viewOf([item]));
    await eventually(() => health.verdict(item.key) === 'healthy', 'a verdict of healthy');
    expect(server.hits('/admin')).toBeGreaterThan(0);
  });

  it('stop() clears every timer: no probes and no pending timeouts afterwards', async () => {
    fakeCheckerClock();
    const server = await backend();
    const health = new HealthChecker({ logger: silentLogger(), defaults: { intervalMs: 50 } });
    const instances = Array.from({ length: 10 }, (_, i) =>
      instance('web', `i${i}`, server.port, { type: 'http', path: `/s/${i}` }),
    );
    health.update(viewOf(instances));
    await advance(health, 50);
    expect(health.verdicts().size).toBe(10);
    // Each instance holds exactly one timer at any time: here, with no probe in flight, its next probe.
    expect(vi.getTimerCount()).toBe(10);
    health.stop();
    expect(vi.getTimerCount()).toBe(0);
    const hits = server.totalHits();
    await advance(health, 1000);
    expect(server.totalHits()).toBe(hits);
    health.update(viewOf(instances, '2'));
    expect(vi.getTimerCount()).toBe(0);
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
    await eventually(
      () => health.verdict(open.key) === 'healthy' && health.verdict(closed.key) === 'unhealthy',
      'the open port healthy and the closed one unhealthy',
    );
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

    await eventually(() => health.verdict(item.key) === 'healthy', 'a verdict of healthy');
    statuses.setStatus('greeter', 'NOT_SERVING');
    await eventually(() => health.verdict(item.key) === 'unhealthy', 'a verdict of unhealthy');
    expect(health.probeStates()[0]).toMatchObject({ type: 'grpc', lastError: 'status NOT_SERVING' });
    statuses.setStatus('greeter', 'SERVING');
    await eventually(() => health.verdict(item.key) === 'healthy', 'a verdict of healthy');
    expect(changes).toEqual([[item.key], [item.key]]);
  });
});
