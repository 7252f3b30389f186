// An operator takes an instance out by hand: `etcd-xds drain` then `etcd-xds deregister`, while a proxyless
// grpc-js-xds client keeps calling. EDS shows HEALTHY → DRAINING → gone, not one call fails, and the instance's own
// `etcd-xds register` process keeps to the operator's decisions instead of writing the key back.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeterClient, startGreeterServer, type GreeterServer } from '../../src/demo/greeter.js';
import { register, type Registration } from '../../src/registration/register.js';
import { startCli, type CliProcess } from '../support/cli-process.js';
import { startTestControlPlane, writeXdsBootstrap, type TestControlPlane } from '../support/control-plane.js';
import { EdsWatch, endpointsOf, healthOf, type ObservedAssignment } from '../support/eds-watch.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
import { GreeterLoad } from '../support/greeter-load.js';

const SERVICE = 'op-drained';
const GRPC_NODE = 'operator-drain-grpc-client';

/** Health states of the endpoint on `port` from its first HEALTHY on, repeats collapsed, absence as 'gone'. */
function healthSequence(history: ObservedAssignment[], port: number): string[] {
  const first = history.findIndex((a) => healthOf(a, port) === 'HEALTHY');
  const states = history.slice(Math.max(first, 0)).map((a) => healthOf(a, port) ?? 'gone');
  return states.filter((state, i) => i === 0 || state !== states[i - 1]);
}

interface ClientResourcesJson {
  types: { endpoint?: { resources: Array<{ name: string; acked: boolean; resource: Record<string, unknown> }> } };
}
interface ClientsJson {
  clients: Array<{ node: { id: string } | null; types: { endpoint?: { lastAcked: { at: string | null } | null } } }>;
}

describe('operator drain, then deregister, under load', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cp: TestControlPlane;
  let eds: EdsWatch;
  let stays: GreeterServer;
  let leaves: GreeterServer;
  let staysRegistration: Registration;
  let registerCli: CliProcess;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    cp = await startTestControlPlane(etcd);
    process.env.GRPC_XDS_BOOTSTRAP = writeXdsBootstrap(cp.xdsAddress, GRPC_NODE);
    (await import('@grpc/grpc-js-xds')).register();
    stays = await startGreeterServer({ service: SERVICE, instanceId: 'stays', host: '127.0.0.1' });
    leaves = await startGreeterServer({ service: SERVICE, instanceId: 'leaves', host: '127.0.0.1' });
  });

  /** When the grpc-js-xds client ACKed the assignment listing `port` as DRAINING, as the control plane recorded it. */
  async function grpcAckedDrainingAt(port: number): Promise<number> {
    await eventually(
      async () => (await fetch(`${cp.adminUrl}/debug/clients/${GRPC_NODE}/resources`)).json() as Promise<ClientResourcesJson>,
      (view) => {
        const cla = view.types.endpoint?.resources.find((r) => r.name === SERVICE);
        return cla !== undefined && cla.acked && endpointsOf(cla.resource).some((e) => e.port === port && e.health === 'DRAINING');
      },
      `the gRPC client to ACK ${SERVICE} with port ${port} DRAINING`,
    );
    const clients = (await (await fetch(`${cp.adminUrl}/debug/clients`)).json()) as ClientsJson;
    const at = clients.clients.find((c) => c.node?.id === GRPC_NODE)?.types.endpoint?.lastAcked?.at;
    if (!at) throw new Error('the gRPC client has no ACKed EDS version');
    return Date.parse(at);
  }

  afterAll(async () => {
    if (registerCli?.running()) registerCli.child.kill('SIGKILL');
    eds?.close();
    await staysRegistration?.deregister();
    await stays?.close();
    await leaves?.close();
    await cp?.plane.close();
    client?.close();
    await etcd?.close();
  });

  it('moves the instance through DRAINING to gone in EDS with no failed call, and register keeps to it', async () => {
    eds = new EdsWatch(cp.xdsAddress, SERVICE);
    staysRegistration = await register({ service: SERVICE, instanceId: 'stays', port: stays.port, address: '127.0.0.1', ttlSeconds: 2, etcd: client });
    registerCli = startCli([
      'register', '--service', SERVICE, '--instance-id', 'leaves', '--port', String(leaves.port), '--address', '127.0.0.1',
      '--ttl', '2', '--etcd-endpoints', etcd.endpoint, '--log-level', 'warn',
    ]);
    await eds.waitFor((a) => healthOf(a, leaves.port) === 'HEALTHY', `the CLI's instance HEALTHY (output: ${registerCli.output()})`, { timeoutMs: 20_000 });

    const calls = greeterClient(`xds:///${SERVICE}`);
    const load = new GreeterLoad(calls, 10);
    let ackedAt = Number.POSITIVE_INFINITY;
    load.start();
    try {
      await eventually(async () => load.answeredBy('leaves').length, (n) => n >= 5, 'calls reaching the instance to drain');
      const from = eds.history.length;

      const drain = startCli(['drain', `${SERVICE}/leaves`, '--etcd-endpoints', etcd.endpoint]);
      expect(await drain.exited, drain.output()).toEqual({ code: 0, signal: null });
      expect(drain.output()).toMatch(new RegExp(`/services/${SERVICE}/leaves is draining \\(lease \\d+ kept\\)`));
      const draining = await eds.waitFor((a) => healthOf(a, leaves.port) === 'DRAINING', 'the instance DRAINING', { from });
      await eventually(async () => registerCli.output(), (out) => out.includes('an operator marked'), 'register to notice the drain');
      // Once the client has ACKed the DRAINING assignment, calls go to the other instance only.
      ackedAt = await grpcAckedDrainingAt(leaves.port);
      await eventually(async () => load.answeredBy('stays', ackedAt).length, (n) => n >= 10, 'calls after the drain');

      const deregister = startCli(['deregister', `${SERVICE}/leaves`, '--etcd-endpoints', etcd.endpoint]);
      expect(await deregister.exited, deregister.output()).toEqual({ code: 0, signal: null });
      expect(deregister.output()).toContain(`/services/${SERVICE}/leaves deregistered`);
      await eds.waitFor((a) => healthOf(a, leaves.port) === undefined, 'the instance gone', { from: draining.index + 1 });
      await eventually(async () => registerCli.output(), (out) => out.includes('an operator deregistered'), 'register to notice the delete');
      const goneAt = Date.now();
      await eventually(async () => load.answeredBy('stays', goneAt).length, (n) => n >= 10, 'calls after the deregistration');
    } finally {
      await load.stop();
      calls.close();
    }

    expect(healthSequence(eds.history, leaves.port)).toEqual(['HEALTHY', 'DRAINING', 'gone']);
    expect(load.failures()).toEqual([]);
    expect(load.answeredBy('leaves').length).toBeGreaterThan(0);
    expect(load.answeredBy('leaves', ackedAt)).toEqual([]);
    // The register process did not write the key back: still absent, and it still runs until told to stop.
    expect(await client.get(`/services/${SERVICE}/leaves`).string()).toBeNull();
    expect(registerCli.running()).toBe(true);
    registerCli.child.kill('SIGTERM');
    expect(await registerCli.exited).toEqual({ code: 0, signal: null });
    expect(registerCli.output()).not.toMatch(/^deregistered/m);
  });
});
