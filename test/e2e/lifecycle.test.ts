// An instance's whole life as xDS clients see it, against the real control plane over a real etcd: registered by
// the real CLI or the SDK, crashed, drained under load, its lease revoked from outside, and etcd going away.
import net from 'node:net';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { register, type Registration, type RegistrationEvents } from '../../src/registration/register.js';
import { startCli, type CliProcess } from '../support/cli-process.js';
import { startTestControlPlane, writeXdsBootstrap, type TestControlPlane } from '../support/control-plane.js';
import { EdsWatch, endpointsOf, healthOf, type ObservedAssignment } from '../support/eds-watch.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { GreeterLoad } from '../support/greeter-load.js';
import { eventually } from '../support/eventually.js';

type RegisteredEvent = RegistrationEvents['registered'][0];

const GRPC_NODE = 'lifecycle-grpc-client';
const TTL_SECONDS = 2;

/** Waits until `count` calls that started at or after `since` have settled (the load keeps running). */
async function callsStartedAfter(load: GreeterLoad, since: number, count: number, what: string): Promise<void> {
  await eventually(() => load.calls.filter((call) => call.startedAt >= since).length >= count, what, 20_000);
}

interface InstanceJson {
  instanceId: string;
  lease: string;
  health: string;
  healthPublished: boolean;
}
interface ServicesJson {
  watch: { state: string };
  services: Array<{ name: string; instances: InstanceJson[] }>;
}
interface ClientResourcesJson {
  types: { endpoint?: { resources: Array<{ name: string; acked: boolean; resource: Record<string, unknown> }> } };
}
interface ClientsJson {
  clients: Array<{ node: { id: string } | null; types: { endpoint?: { lastAcked: { at: string | null } | null } } }>;
}

/** Health states of the endpoint on `port` from its first HEALTHY on, repeats collapsed, absence as 'gone'. */
function healthSequence(history: ObservedAssignment[], port: number): string[] {
  const first = history.findIndex((a) => healthOf(a, port) === 'HEALTHY');
  const states = history.slice(Math.max(first, 0)).map((a) => healthOf(a, port) ?? 'gone');
  return states.filter((state, i) => i === 0 || state !== states[i - 1]);
}

describe('instance lifecycle seen through xDS', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cp: TestControlPlane;
  const watches: EdsWatch[] = [];
  const clis: CliProcess[] = [];
  const cleanups: Array<() => unknown> = [];

  const watch = (service: string): EdsWatch => {
    const w = new EdsWatch(cp.xdsAddress, service);
    watches.push(w);
    return w;
  };
  const cli = (args: string[]): CliProcess => {
    const p = startCli(['register', ...args, '--etcd-endpoints', etcd.endpoint, '--log-level', 'warn']);
    clis.push(p);
    return p;
  };
  const greeter = async (service: string, instanceId: string): Promise<GreeterServer> => {
    const server = await startGreeterServer({ service, instanceId, host: '127.0.0.1' });
    cleanups.push(() => server.close());
    return server;
  };
  const sdkRegister = async (service: string, instanceId: string, port: number, drainSeconds = 2): Promise<Registration> => {
    const registration = await register({
      service,
      instanceId,
      port,
      address: '127.0.0.1',
      ttlSeconds: TTL_SECONDS,
      drainSeconds,
      etcd: { endpoints: [etcd.endpoint] },
    });
    cleanups.push(() => registration.deregister());
    return registration;
  };
  const services = async (): Promise<ServicesJson> => (await fetch(`${cp.adminUrl}/debug/services`)).json() as Promise<ServicesJson>;
  const instanceView = async (service: string, instanceId: string): Promise<InstanceJson | undefined> =>
    (await services()).services.find((s) => s.name === service)?.instances.find((i) => i.instanceId === instanceId);

  /**
   * When the grpc-js-xds client ACKed an assignment of `service` listing `port` as DRAINING, as the control plane
   * recorded it (the ACK's arrival time). Polls until the client's acked copy of the resource is that one.
   */
  async function grpcAckedDrainingAt(service: string, port: number): Promise<number> {
    await eventually(
      async () => (await fetch(`${cp.adminUrl}/debug/clients/${GRPC_NODE}/resources`)).json() as Promise<ClientResourcesJson>,
      (view) => {
        const cla = view.types.endpoint?.resources.find((r) => r.name === service);
        return cla !== undefined && cla.acked && endpointsOf(cla.resource).some((e) => e.port === port && e.health === 'DRAINING');
      },
      `the gRPC client to ACK ${service} with port ${port} DRAINING`,
      5_000,
    );
    const clients = (await (await fetch(`${cp.adminUrl}/debug/clients`)).json()) as ClientsJson;
    const at = clients.clients.find((c) => c.node?.id === GRPC_NODE)?.types.endpoint?.lastAcked?.at;
    if (!at) throw new Error('the gRPC client has no ACKed EDS version');
    return Date.parse(at);
  }

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    cp = await startTestControlPlane(etcd);
    process.env.GRPC_XDS_BOOTSTRAP = writeXdsBootstrap(cp.xdsAddress, GRPC_NODE);
    (await import('@grpc/grpc-js-xds')).register();
  });

  afterEach(async () => {
    for (const p of clis.splice(0)) if (p.running()) p.child.kill('SIGKILL');
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    for (const w of watches) w.close();
    await cp?.plane.close();
    client?.close();
    await etcd?.close();
  });

  it('drops a SIGKILLed CLI registration from EDS within the lease TTL', async () => {
    const listener = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => listener.close(resolve)));
    const port = (listener.address() as net.AddressInfo).port;
    const eds = watch('crash');

    const child = cli(['--service', 'crash', '--port', String(port), '--address', '127.0.0.1', '--ttl', String(TTL_SECONDS), '--instance-id', 'c1']);
    const registered = await eds.waitFor((a) => healthOf(a, port) === 'HEALTHY', `port ${port} HEALTHY (CLI output: ${child.output()})`, { timeoutMs: 20_000 });

    child.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await child.exited).signal).toBe('SIGKILL');
    const gone = await eds.waitFor((a) => healthOf(a, port) === undefined, `port ${port} gone`, {
      from: registered.index + 1,
      timeoutMs: TTL_SECONDS * 1000 + 5_000,
    });
    expect(gone.assignment.at - killedAt).toBeLessThanOrEqual(TTL_SECONDS * 1000 + 3_000);
    // The service's last instance left: its assignment is published empty, not withdrawn.
    expect(gone.assignment.present).toBe(true);
    expect(gone.assignment.endpoints).toEqual([]);
  });

  /**
   * Two greeters behind `xds:///<service>` under steady sequential calls; `leaves` drains via `startDrain` while
   * its server keeps running until its key is gone. Returns once the drain is over and the server closed.
   */
  async function drainUnderLoad(options: {
    service: string;
    eds: EdsWatch;
    leaving: GreeterServer;
    startDrain: () => void;
  }): Promise<{ load: GreeterLoad; ackedAt: number }> {
    const { service, eds, leaving } = options;
    const calls = greeterClient(`xds:///${service}`);
    cleanups.push(() => calls.close());
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) seen.add((await calls.sayHello(`warm-up ${i}`)).instance_id);
        return [...seen].sort();
      },
      (seen) => seen.join() === 'leaves,stays',
      'calls reaching both greeters',
    );
    const load = new GreeterLoad(calls, 20);
    load.start();
    await callsStartedAfter(load, Date.now(), 5, 'calls under load before the drain');
    const from = eds.history.length;
    options.startDrain();
    const draining = await eds.waitFor((a) => healthOf(a, leaving.port) === 'DRAINING', 'the leaving greeter DRAINING', { from });
    const ackedAt = await grpcAckedDrainingAt(service, leaving.port);
    await eds.waitFor((a) => healthOf(a, leaving.port) === undefined, 'the leaving greeter gone', { from: draining.index + 1 });
    await callsStartedAfter(load, Date.now(), 5, 'calls after the removal');
    await leaving.close();
    await callsStartedAfter(load, Date.now(), 5, 'calls after the leaving greeter closed');
    await load.stop();
    return { load, ackedAt };
  }

  function expectCleanDrain(load: GreeterLoad, ackedAt: number): void {
    expect(load.failures()).toEqual([]);
    expect(load.answeredBy('leaves').length).toBeGreaterThan(0);
    // Calls made after the client ACKed the DRAINING assignment all go to the instance that stays.
    expect(load.answeredBy('leaves', ackedAt)).toEqual([]);
    expect(load.answeredBy('stays', ackedAt).length).toBeGreaterThan(5);
  }

  it('SIGTERM on the CLI: HEALTHY → DRAINING → gone, exit 0, and not one failed call under load', async () => {
    const service = 'drain-cli';
    const eds = watch(service);
    const stays = await greeter(service, 'stays');
    const leaving = await greeter(service, 'leaves');
    await sdkRegister(service, 'stays', stays.port);
    const child = cli(['--service', service, '--port', String(leaving.port), '--address', '127.0.0.1', '--ttl', String(TTL_SECONDS),
      '--drain-seconds', '2', '--instance-id', 'leaves']);
    await eds.waitFor((a) => healthOf(a, leaving.port) === 'HEALTHY', `the CLI's greeter HEALTHY (output: ${child.output()})`, { timeoutMs: 20_000 });

    const { load, ackedAt } = await drainUnderLoad({ service, eds, leaving, startDrain: () => child.child.kill('SIGTERM') });

    expect(healthSequence(eds.history, leaving.port)).toEqual(['HEALTHY', 'DRAINING', 'gone']);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(await client.get(`/services/${service}/leaves`).string()).toBeNull();
    expectCleanDrain(load, ackedAt);
  });

  it('SDK drain(): the same sequence, and not one failed call under load', async () => {
    const service = 'drain-sdk';
    const eds = watch(service);
    const stays = await greeter(service, 'stays');
    const leaving = await greeter(service, 'leaves');
    await sdkRegister(service, 'stays', stays.port);
    const registration = await sdkRegister(service, 'leaves', leaving.port);
    await eds.waitFor((a) => healthOf(a, leaving.port) === 'HEALTHY', 'the leaving greeter HEALTHY');
    let drained: Promise<void> | undefined;

    const { load, ackedAt } = await drainUnderLoad({ service, eds, leaving, startDrain: () => (drained = registration.drain()) });

    await drained;
    expect(healthSequence(eds.history, leaving.port)).toEqual(['HEALTHY', 'DRAINING', 'gone']);
    expectCleanDrain(load, ackedAt);
  });

  it('re-registers under a new lease when the lease is revoked from outside', async () => {
    const service = 'revoke';
    const eds = watch(service);
    const server = await greeter(service, 'r1');
    const registration = await sdkRegister(service, 'r1', server.port);
    await eds.waitFor((a) => healthOf(a, server.port) === 'HEALTHY', 'r1 HEALTHY');
    const oldLease = registration.leaseId()!;
    expect((await instanceView(service, 'r1'))?.lease).toBe(oldLease);

    const from = eds.history.length;
    const reRegistered = new Promise<RegisteredEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no re-registration within 10 s of the revoke')), 10_000);
      registration.once('registered', (event) => {
        clearTimeout(timer);
        resolve(event);
      });
    });
    await client.leaseClient.leaseRevoke({ ID: oldLease });
    const event = await reRegistered;
    expect(event).toMatchObject({ again: true, previousLeaseId: oldLease });
    expect(event.leaseId).not.toBe(oldLease);

    const view = await eventually(() => instanceView(service, 'r1'), (v) => v?.lease === event.leaseId && v.healthPublished, 'the new lease in /debug/services');
    expect(view?.health).toBe('HEALTHY');
    expect((await client.get(`/services/${service}/r1`).exec()).kvs[0]?.lease).toBe(event.leaseId);
    await eds.waitFor((a) => healthOf(a, server.port) === 'HEALTHY', 'r1 HEALTHY again', { from });
    expect(healthOf(eds.latest()!, server.port)).toBe('HEALTHY');
  });

  // Last: it stops etcd.
  it('keeps serving the last assignment while etcd is down longer than the TTL, and re-registers after', async (ctx) => {
    if (!etcd.controllable) ctx.skip('ETCD_ENDPOINTS names an etcd this test cannot stop and restart');
    const service = 'outage';
    const eds = watch(service);
    const server = await greeter(service, 'o1');
    const registration = await sdkRegister(service, 'o1', server.port);
    await eds.waitFor((a) => healthOf(a, server.port) === 'HEALTHY', 'o1 HEALTHY');
    const calls = greeterClient(`xds:///${service}`);
    cleanups.push(() => calls.close());
    await eventually(() => calls.sayHello('warm-up'), (r) => r.instance_id === 'o1', 'a first call answered by o1');

    const load = new GreeterLoad(calls, 20);
    load.start();
    const from = eds.history.length;
    const stoppedAt = Date.now();
    const lost = new Promise<void>((resolve) => registration.once('lost', () => resolve()));
    await etcd.stop();
    // Down longer than the TTL: the SDK has given the lease up for lost, with calls going on meanwhile.
    await lost;
    await callsStartedAfter(load, stoppedAt, 21, 'calls during the outage');
    const outageCalls = load.calls.filter((c) => c.startedAt >= stoppedAt);
    await etcd.start();
    await load.stop();

    expect(load.failures()).toEqual([]);
    expect(outageCalls.length).toBeGreaterThan(20);
    expect(outageCalls.every((c) => c.instanceId === 'o1')).toBe(true);
    // Nothing told clients the instance was gone while etcd could not say so.
    for (const assignment of eds.history.slice(from)) expect(healthOf(assignment, server.port)).toBe('HEALTHY');

    // Back: the key exists under the registration's live lease, and the admin API and EDS agree. A restarted etcd
    // renews the leases it had, so the SDK usually keeps its lease; a lost one would show up here as a new lease.
    const key = `/services/${service}/o1`;
    await eventually(
      async () => {
        const lease = registration.leaseId();
        const kv = (await client.get(key).exec()).kvs[0];
        const ttl = lease ? Number((await client.leaseClient.leaseTimeToLive({ ID: lease })).TTL) : -1;
        // The registry view is only current again once the watcher has resynced and watches.
        const all = await services();
        const view = all.services.find((x) => x.name === service)?.instances.find((i) => i.instanceId === 'o1');
        return { watch: all.watch.state, lease, keyLease: kv?.lease, ttl, adminLease: view?.lease, health: view?.health, published: view?.healthPublished };
      },
      (s) =>
        s.watch === 'watching' && s.lease !== undefined && s.keyLease === s.lease && s.adminLease === s.lease && s.ttl > 0 &&
        s.health === 'HEALTHY' && s.published === true,
      'o1 registered again in etcd and published',
      20_000,
    );
    expect(healthOf(eds.latest()!, server.port)).toBe('HEALTHY');
    expect((await calls.sayHello('after the outage')).instance_id).toBe('o1');
  });
});
