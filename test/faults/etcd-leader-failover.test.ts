// etcd-xds over a three-member etcd cluster while the leader crashes: the leader is killed with SIGKILL in the
// middle of a burst of writes and deletes, restarted, then the new leader is killed too. Every write and delete must
// reach a subscribed ADS stream, and the final assignment must equal what etcd holds.
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/control-plane.js';
import { createLogger } from '../../src/logger.js';
import { EdsWatch, type ObservedAssignment } from '../support/eds-watch.js';
import { EtcdCluster, hasEtcdBinary, type ClusterMember } from '../support/etcd-cluster.js';
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

/** Retries one operation until etcd acknowledges it (writes during an election fail and are retried: idempotent). */
async function untilAcknowledged(op: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await op();
      return;
    } catch (err) {
      if (attempt === 0) retriedOps++;
      if (attempt > 200) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
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
          await untilAcknowledged(() => writer.delete().key(`${PREFIX}${SERVICE}/${id}`).exec());
          model.delete(id);
          deletes++;
        } else {
          const id = existing.length > 0 && roll < 0.6 ? existing[Math.floor(random() * existing.length)]! : `w${worker}-${i}`;
          const address = `10.1.${worker}.${(i % 250) + 1}`;
          const port = nextPort++;
          const value = JSON.stringify({ address, port });
          await untilAcknowledged(() => writer.put(`${PREFIX}${SERVICE}/${id}`).value(value).exec());
          model.set(id, `${address}:${port}`);
          puts++;
        }
        opsDone++;
      }
    }),
  );
}

async function whenOpsReach(n: number): Promise<void> {
  while (opsDone < n) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** The member carrying the control plane's watch (the only watching client), waiting while it reconnects. */
async function watchMember(): Promise<ClusterMember> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const member = await cluster.watchMember();
    if (member) return member;
    if (Date.now() > deadline) throw new Error('no etcd member serves the control plane\'s watch');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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
