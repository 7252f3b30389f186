// etcd-xds over a three-member etcd cluster while the leader crashes: the leader is killed with SIGKILL in the
// middle of a burst of writes and deletes, restarted, then the new leader is killed too. Every write and delete must
// reach a subscribed ADS stream, and the final assignment must equal what etcd holds.
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/control-plane.js';
import { createLogger } from '../../src/logger.js';
import { EdsWatch, type ObservedAssignment } from '../support/eds-watch.js';
import { EtcdCluster, hasEtcdBinary, type ClusterMember } from '../support/etcd-cluster.js';
import { eventually } from '../support/eventually.js';
import { mulberry32 } from './prng.js';

const PREFIX = '/services/';
const SERVICE = 'burst';
const WORKERS = 4;

let cluster: EtcdCluster;
let plane: ControlPlane;
let writer: Etcd3;
let watch: EdsWatch;

/** What the writers' acknowledged operations say etcd holds: instance id → "address:port". */
const model = new Map<string, string>();
let opsDone = 0;
let puts = 0;
let deletes = 0;
let retriedOps = 0;

const endpointsOf = (a: ObservedAssignment | undefined): string[] =>
  (a?.endpoints ?? []).map((e) => `${e.address}:${e.port}`).sort();

/** etcd's own content of the service, read through the live members. */
async function etcdContent(): Promise<string[]> {
  const values = await writer.getAll().prefix(`${PREFIX}${SERVICE}/`).strings();
  return Object.values(values)
    .map((v) => {
      const record = JSON.parse(v) as { address: string; port: number };
      return `${record.address}:${record.port}`;
    })
    .sort();
}

/** How long an operation is retried while the cluster elects a leader. */
const ELECTION_PATIENCE_MS = 30_000;

/** Retries one operation until etcd acknowledges it (writes during an election fail and are retried: idempotent). */
async function untilAcknowledged(op: () => Promise<unknown>, what: string): Promise<void> {
  let attempts = 0;
  await eventually(
    async () => {
      if (++attempts === 2) retriedOps++;
      await op();
      return true;
    },
    (acknowledged) => acknowledged,
    `etcd to acknowledge ${what}`,
    ELECTION_PATIENCE_MS,
  );
}

let nextPort = 20_000;

/** `count` operations by each worker on its own keys: new instances, updated ports, and deletes. */
async function burst(count: number, seed: number): Promise<void> {
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      const random = mulberry32(seed + worker);
      const mine = (): string[] => [...model.keys()].filter((id) => id.startsWith(`w${worker}-`));
      for (let i = 0; i < count; i++) {
        const existing = mine();
        const roll = random();
        if (existing.length > 3 && roll < 0.35) {
          const id = existing[Math.floor(random() * existing.length)]!;
          await untilAcknowledged(() => writer.delete().key(`${PREFIX}${SERVICE}/${id}`).exec(), `the delete of ${id}`);
          model.delete(id);
          deletes++;
        } else {
          const id = existing.length > 0 && roll < 0.6 ? existing[Math.floor(random() * existing.length)]! : `w${worker}-${i}`;
          const address = `10.1.${worker}.${(i % 250) + 1}`;
          const port = nextPort++;
          const value = JSON.stringify({ address, port });
          await untilAcknowledged(() => writer.put(`${PREFIX}${SERVICE}/${id}`).value(value).exec(), `the put of ${id}`);
          model.set(id, `${address}:${port}`);
          puts++;
        }
        opsDone++;
      }
    }),
  );
}

async function whenOpsReach(n: number): Promise<void> {
  await eventually(() => opsDone >= n, `${n} acknowledged operations`);
}

/** The member carrying the control plane's watch (the only watching client), waiting while it reconnects. */
async function watchMember(): Promise<ClusterMember> {
  const member = await eventually(() => cluster.watchMember(), (m) => m !== undefined, "an etcd member serving the control plane's watch", 10_000);
  return member!;
}

/** The stream's latest assignment, the writers' model and etcd's content all agree. */
async function expectConverged(what: string): Promise<void> {
  const expected = [...model.values()].sort();
  await watch.waitFor((a) => JSON.stringify(endpointsOf(a)) === JSON.stringify(expected), what, { timeoutMs: 20_000 });
  expect(await etcdContent()).toEqual(expected);
  expect(endpointsOf(watch.latest())).toEqual(expected);
}

describe.runIf(hasEtcdBinary())('etcd leader failover', () => {
  beforeAll(async () => {
    cluster = await EtcdCluster.create({ size: 3 });
    await cluster.start();
    writer = cluster.client();
    plane = await startControlPlane({
      etcdEndpoints: cluster.endpoints,
      prefix: PREFIX,
      xdsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      healthChecks: false,
    });
    watch = new EdsWatch(await plane.xdsReady, SERVICE);
  }, 60_000);

  afterAll(async () => {
    watch?.close();
    await plane?.close();
    writer?.close();
    await cluster?.close();
  });

  it('delivers every write and delete through two leader crashes and a restart', async () => {
    await burst(10, 1);
    await expectConverged('the seeded instances');

    // Crash the leader a quarter into a burst; the burst goes on against the two survivors. Leadership is first
    // handed to the member carrying the control plane's watch, so the crash cuts the watch too.
    await cluster.moveLeaderTo(await watchMember());
    const first = await cluster.leader();
    const burst1 = burst(60, 100);
    await whenOpsReach(opsDone + WORKERS * 15);
    await cluster.kill(first.name);
    await burst1;
    await expectConverged(`every operation of the burst after killing leader ${first.name}`);
    expect(plane.watcher.stats().reconnects).toBeGreaterThanOrEqual(1);

    // Bring it back, then crash whoever leads now, again mid-burst.
    await cluster.restart(first.name);
    await cluster.moveLeaderTo(await watchMember());
    const second = await cluster.leader();
    const burst2 = burst(60, 200);
    await whenOpsReach(opsDone + WORKERS * 15);
    await cluster.kill(second.name);
    await burst2;
    await expectConverged(`every operation of the burst after killing leader ${second.name}`);
    expect(plane.watcher.stats().reconnects).toBeGreaterThanOrEqual(2);

    // The watcher caught up to etcd's revision, not just to the same endpoint set.
    const status = await writer.maintenance.status();
    expect(plane.watcher.view().revision).toBe(String(status.header.revision));
    console.log(
      `leader failover: ${opsDone} operations (${puts} puts, ${deletes} deletes, ${retriedOps} retried during elections), ` +
        `leaders killed: ${first.name} then ${second.name}, ${watch.history.length} assignments received, ` +
        `final ${model.size} endpoints, watcher reconnects ${plane.watcher.stats().reconnects}`,
    );
  }, 120_000);
});
