// Active health checks through the whole control plane: registrations carrying a healthCheck are probed, a failing
// probe publishes the endpoint UNHEALTHY in EDS (and back HEALTHY on recovery), the admin API shows the probe, and a
// real grpc-js-xds client stops calling the unhealthy backend.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { register, type RegisterOptions, type Registration } from '../../src/registration/register.js';
import { startTestControlPlane, writeXdsBootstrap, type TestControlPlane } from '../support/control-plane.js';
import { EdsWatch, healthOf } from '../support/eds-watch.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

const GRPC_NODE = 'health-grpc-client';
const PROBE_INTERVAL_MS = 200;
/** The checker waits intervalMs × (1 ± 10 %) after a probe settles before the next. */
const LEAST_PROBE_SPACING_MS = PROBE_INTERVAL_MS * 0.9;
/** Node arms timers on a millisecond clock: one may fire up to a millisecond or so before its delay in real time. */
const TIMER_ROUNDING_MS = 5;

interface ProbeJson {
  type: string;
  target: string;
  verdict: 'healthy' | 'unhealthy' | null;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  lastResult: 'ok' | 'fail' | null;
  lastError: string | null;
  totalProbes: number;
}
interface InstanceJson {
  instanceId: string;
  health: string;
  healthPublished: boolean;
  probe: ProbeJson | null;
}
interface ServicesJson {
  services: Array<{ name: string; instances: InstanceJson[] }>;
}

/** An HTTP backend whose /healthz answers 200 or 503 on demand and records when each probe arrives. */
interface HealthzBackend {
  readonly port: number;
  probes(): number;
  /** performance.now() at each probe's arrival, in order. */
  probeTimes(): readonly number[];
  setHealthy(healthy: boolean): void;
  close(): Promise<void>;
}

async function startHealthzBackend(): Promise<HealthzBackend> {
  let healthy = true;
  const probeTimes: number[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      probeTimes.push(performance.now());
      res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'failing');
    } else {
      res.writeHead(200).end('hello');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    probes: () => probeTimes.length,
    probeTimes: () => probeTimes,
    setHealthy: (value) => {
      healthy = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('active health checks seen through xDS', () => {
  let etcd: TestEtcd;
  let cp: TestControlPlane;
  const watches: EdsWatch[] = [];
  const cleanups: Array<() => unknown> = [];

  const watch = (service: string): EdsWatch => {
    const w = new EdsWatch(cp.xdsAddress, service);
    watches.push(w);
    return w;
  };
  const registerInstance = async (options: Omit<RegisterOptions, 'address' | 'etcd' | 'ttlSeconds'>): Promise<Registration> => {
    const registration = await register({ ...options, address: '127.0.0.1', ttlSeconds: 5, etcd: { endpoints: [etcd.endpoint] } });
    cleanups.push(() => registration.deregister());
    return registration;
  };
  const instanceView = async (service: string, instanceId: string): Promise<InstanceJson | undefined> => {
    const body = (await (await fetch(`${cp.adminUrl}/debug/services`)).json()) as ServicesJson;
    return body.services.find((s) => s.name === service)?.instances.find((i) => i.instanceId === instanceId);
  };

  beforeAll(async () => {
    etcd = await startTestEtcd();
    cp = await startTestControlPlane(etcd);
    process.env.GRPC_XDS_BOOTSTRAP = writeXdsBootstrap(cp.xdsAddress, GRPC_NODE);
    (await import('@grpc/grpc-js-xds')).register();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    for (const w of watches) w.close();
    await cp?.plane.close();
    await etcd?.close();
  });

  it('HTTP /healthz failing → UNHEALTHY in EDS, recovered → HEALTHY, probe state in /debug/services, no probe storm', async () => {
    const backend = await startHealthzBackend();
    cleanups.push(() => backend.close());
    const eds = watch('web');
    const registration = await registerInstance({
      service: 'web',
      instanceId: 'w1',
      port: backend.port,
      healthCheck: { type: 'http', path: '/healthz', intervalMs: PROBE_INTERVAL_MS, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
      drainSeconds: 0,
    });
    const healthy = await eds.waitFor((a) => healthOf(a, backend.port) === 'HEALTHY', 'w1 HEALTHY');
    const passing = await eventually(() => instanceView('web', 'w1'), (v) => v?.probe?.verdict === 'healthy', 'a first passing probe');
    expect(passing?.probe).toMatchObject({ type: 'http', target: `http://127.0.0.1:${backend.port}/healthz`, lastResult: 'ok', lastError: null });

    backend.setHealthy(false);
    const unhealthy = await eds.waitFor((a) => healthOf(a, backend.port) === 'UNHEALTHY', 'w1 UNHEALTHY', { from: healthy.index + 1 });
    const failing = await instanceView('web', 'w1');
    expect(failing).toMatchObject({ health: 'UNHEALTHY', healthPublished: true });
    expect(failing?.probe).toMatchObject({ verdict: 'unhealthy', lastResult: 'fail' });
    expect(failing?.probe?.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(failing?.probe?.lastError).toContain('503');

    backend.setHealthy(true);
    await eds.waitFor((a) => healthOf(a, backend.port) === 'HEALTHY', 'w1 HEALTHY again', { from: unhealthy.index + 1 });
    const recovered = await instanceView('web', 'w1');
    expect(recovered).toMatchObject({ health: 'HEALTHY', healthPublished: true });
    expect(recovered?.probe).toMatchObject({ verdict: 'healthy', lastResult: 'ok', consecutiveFailures: 0 });

    // Probes keep their pace over a few more: each comes at least an interval less the jitter after the one before
    // (a probe is armed only once the previous one settled), never in a burst. Only a lower bound on time holds on
    // a loaded machine.
    const PACED_PROBES = 5;
    const before = backend.probes();
    await eventually(() => backend.probes() >= before + PACED_PROBES, `${PACED_PROBES} more probes`);
    const arrivals = backend.probeTimes().slice(before, before + PACED_PROBES);
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(LEAST_PROBE_SPACING_MS - TIMER_ROUNDING_MS);
    // The admin API counts the same probes (one may be in flight, or land while it is asked).
    const received = backend.probes();
    const counted = (await instanceView('web', 'w1'))?.probe?.totalProbes ?? 0;
    expect(Math.abs(received - counted)).toBeLessThanOrEqual(1);

    // Once the instance is gone, so are its probes (one in flight at most). A witness probed by the same checker at
    // the same interval counts the intervals that pass meanwhile.
    const witness = await startHealthzBackend();
    cleanups.push(() => witness.close());
    await registerInstance({
      service: 'web-witness',
      instanceId: 'x1',
      port: witness.port,
      healthCheck: { type: 'http', path: '/healthz', intervalMs: PROBE_INTERVAL_MS, timeoutMs: 500 },
      drainSeconds: 0,
    });
    await eventually(() => witness.probes() >= 1, 'a first probe of the witness');
    await registration.deregister();
    await eds.waitFor((a) => healthOf(a, backend.port) === undefined, 'w1 gone', { from: unhealthy.index + 1 });
    // The checker follows the registry before the snapshot is published: w1's probing has stopped by now.
    const atRemoval = backend.probes();
    const WITNESSED_PROBES = 5;
    const witnessAtRemoval = witness.probes();
    await eventually(() => witness.probes() >= witnessAtRemoval + WITNESSED_PROBES, `${WITNESSED_PROBES} more probes of the witness`);
    expect(backend.probes() - atRemoval).toBeLessThanOrEqual(1);
  });

  it('gRPC health NOT_SERVING → UNHEALTHY in EDS, and the proxyless client only calls the healthy greeter', async () => {
    const service = 'hello';
    const eds = watch(service);
    const greeters: Record<'g1' | 'g2', GreeterServer> = {
      g1: await startGreeterServer({ service, instanceId: 'g1', host: '127.0.0.1' }),
      g2: await startGreeterServer({ service, instanceId: 'g2', host: '127.0.0.1' }),
    };
    cleanups.push(() => Promise.all(Object.values(greeters).map((g) => g.close())));
    for (const [instanceId, server] of Object.entries(greeters)) {
      await registerInstance({ service, instanceId, port: server.port, healthCheck: { type: 'grpc', intervalMs: PROBE_INTERVAL_MS }, drainSeconds: 0 });
    }
    const { g1, g2 } = greeters;
    const both = await eds.waitFor((a) => healthOf(a, g1.port) === 'HEALTHY' && healthOf(a, g2.port) === 'HEALTHY', 'g1 and g2 HEALTHY');

    const calls = greeterClient(`xds:///${service}`);
    cleanups.push(() => calls.close());
    const spread = async (count: number): Promise<string[]> => {
      const seen = new Set<string>();
      for (let i = 0; i < count; i++) seen.add((await calls.sayHello(`call ${i}`)).instance_id);
      return [...seen].sort();
    };
    await eventually(() => spread(20), (seen) => seen.join() === 'g1,g2', 'calls reaching both greeters');

    g2.setServing(false);
    const unhealthy = await eds.waitFor((a) => healthOf(a, g2.port) === 'UNHEALTHY', 'g2 UNHEALTHY', { from: both.index + 1 });
    expect(healthOf(unhealthy.assignment, g1.port)).toBe('HEALTHY');
    const probe = (await instanceView(service, 'g2'))?.probe;
    expect(probe).toMatchObject({ type: 'grpc', target: `grpc://127.0.0.1:${g2.port}/`, verdict: 'unhealthy', lastResult: 'fail' });
    expect(probe?.lastError).toContain('NOT_SERVING');

    await eventually(() => spread(20), (seen) => seen.join() === 'g1', 'calls only on g1');
    const g2Calls = g2.calls();
    expect(await spread(40)).toEqual(['g1']);
    expect(g2.calls()).toBe(g2Calls);

    g2.setServing(true);
    await eds.waitFor((a) => healthOf(a, g2.port) === 'HEALTHY', 'g2 HEALTHY again', { from: unhealthy.index + 1 });
    await eventually(() => spread(20), (seen) => seen.join() === 'g1,g2', 'g2 back in rotation');
  });
});
