// Soak run (not in CI): `npm run soak -- --minutes N` (default 30). etcd-xds over a three-member etcd on loopback,
// under churn of registrations, reconnect storms of ADS clients and etcd member crashes (SIGKILL, then restart).
// At the end the churn stops and every watched service's assignment must equal etcd's content. Prints streams
// served, changes delivered, faults injected, heap (after gc) and RSS at start and end, and the longest event-loop
// stall. Exits 1 when the final state disagrees, 2 on bad flags.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Etcd3 } from 'etcd3';
import { startControlPlane } from '../../src/control-plane.js';
import { createLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { endpointsOf } from '../support/eds-watch.js';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { Random } from '../faults/prng.js';

const USAGE = 'usage: npm run soak -- [--minutes N] [--seed N]   (N > 0; default 30 minutes)';

function options(): { minutes: number; seed: number } {
  try {
    const { values } = parseArgs({ options: { minutes: { type: 'string' }, seed: { type: 'string' } }, strict: true });
    const minutes = Number(values.minutes ?? 30);
    const seed = Number(values.seed ?? Date.now() % 2 ** 31);
    if (!Number.isFinite(minutes) || minutes <= 0 || !Number.isInteger(seed)) throw new Error('--minutes must be a positive number and --seed an integer');
    return { minutes, seed };
  } catch (err) {
    console.error(`soak: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const PREFIX = '/services/';
const SERVICES = 20;
const CLIENTS = 100;
const MiB = 1 << 20;
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): string {
  gc?.();
  gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return `heap ${(heapUsed / MiB).toFixed(1)} MiB${gc ? '' : ' (no --expose-gc)'}, RSS ${(rss / MiB).toFixed(1)} MiB`;
}

/** An EDS subscriber that ACKs every response and keeps only its latest assignment. */
class SoakClient {
  private readonly stream: AdsTestStream;
  latest: string[] | undefined;
  received = 0;
  private closed = false;
  constructor(address: string, readonly service: string, id: string) {
    this.stream = new AdsTestStream(address, 'sotw');
    this.stream.send({ node: { ...NODE, id }, type_url: TYPE_URL.endpoint, resource_names: [service] });
    void this.pump();
  }
  private async pump(): Promise<void> {
    while (!this.closed && !this.stream.ended) {
      const response = await this.stream.next(1_000).catch(() => undefined);
      if (!response) continue;
      this.received++;
      const resource = response.resources.find((r) => r.name === this.service);
      this.latest = resource ? endpointsOf(resource.message).map((e) => `${e.address}:${e.port}`).sort() : [];
      this.stream.send({ type_url: TYPE_URL.endpoint, resource_names: [this.service], response_nonce: response.nonce, version_info: response.version });
    }
  }
  get ended(): boolean {
    return this.stream.ended;
  }
  close(): void {
    this.closed = true;
    this.stream.close();
  }
}

async function etcdContent(client: Etcd3, service: string): Promise<string[]> {
  const values = await client.getAll().prefix(`${PREFIX}${service}/`).strings();
  return Object.values(values).sort();
}

async function main(): Promise<void> {
  const { minutes, seed } = options();
  const durationMs = minutes * 60_000;
  const r = new Random(seed);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const counts = { writes: 0, deletes: 0, failedWrites: 0, storms: 0, memberKills: 0, leaderKills: 0, clientsOpened: 0, retiredReceived: 0 };

  const cluster = await EtcdCluster.create({ size: 3 });
  await cluster.start();
  const writer = cluster.client();
  const plane = await startControlPlane({
    etcdEndpoints: cluster.endpoints,
    prefix: PREFIX,
    xdsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    logger: createLogger(process.env.SOAK_LOG_LEVEL ?? 'silent'),
    healthChecks: false,
  });
  const address = await plane.xdsReady;
  let streamsServed = 0;
  plane.xds.on('streamOpened', () => streamsServed++);

  const service = (i: number): string => `soak-${i}`;
  const live = new Map<string, Set<string>>(); // service → instance keys
  for (let i = 0; i < SERVICES; i++) live.set(service(i), new Set());
  let clients: SoakClient[] = [];
  const openClients = (): void => {
    clients = Array.from({ length: CLIENTS }, (_, i) => new SoakClient(address, service(i % SERVICES), `soak-client-${counts.clientsOpened + i}`));
    counts.clientsOpened += CLIENTS;
  };
  openClients();

  console.log(`soak: ${minutes} min, seed ${seed}, etcd members ${cluster.endpoints.join(' ')}, xDS ${address}, admin http://${plane.adminAddress}`);
  console.log(`soak start: ${memory()}`);
  loop.enable();
  const startedAt = Date.now();
  const deadline = startedAt + durationMs;
  let stopping = false;

  // Churn: a registration added, moved or removed every 20 ms on average, retried while etcd elects a leader.
  const churn = (async () => {
    let n = 0;
    while (!stopping) {
      const name = service(r.int(SERVICES));
      const keys = live.get(name)!;
      try {
        if (keys.size > 2 && r.chance(0.4)) {
          const key = [...keys][r.int(keys.size)]!;
          await writer.delete().key(key).exec();
          keys.delete(key);
          counts.deletes++;
        } else {
          const key = keys.size > 0 && r.chance(0.3) ? [...keys][r.int(keys.size)]! : `${PREFIX}${name}/i${n++}`;
          await writer.put(key).value(`10.${r.int(256)}.${r.int(256)}.${1 + r.int(254)}:${1 + r.int(65_535)}`).exec();
          keys.add(key);
          counts.writes++;
        }
      } catch {
        counts.failedWrites++; // during an election; the model is unchanged only if etcd did not apply it
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, r.int(40)));
    }
  })();

  // Faults: a reconnect storm and an etcd member crash, each several times per run (at least once in 1 minute).
  const stormEveryMs = Math.min(20_000, durationMs / 4);
  const crashEveryMs = Math.min(60_000, durationMs / 3);
  const faults = (async () => {
    let nextStorm = startedAt + stormEveryMs;
    let nextCrash = startedAt + crashEveryMs;
    while (!stopping) {
      const now = Date.now();
      if (now >= nextStorm) {
        for (const c of clients) {
          counts.retiredReceived += c.received;
          c.close();
        }
        openClients();
        counts.storms++;
        nextStorm += stormEveryMs;
      }
      if (now >= nextCrash) {
        const leader = await cluster.leader().catch(() => undefined);
        const victim = r.chance(0.5) && leader ? leader : r.pick(cluster.members.filter((m) => m.running));
        if (victim) {
          await cluster.kill(victim.name);
          counts.memberKills++;
          if (victim.name === leader?.name) counts.leaderKills++;
          await new Promise((resolve) => setTimeout(resolve, 3_000));
          await cluster.restart(victim.name);
        }
        nextCrash += crashEveryMs;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();

  const progress = setInterval(() => {
    const received = counts.retiredReceived + clients.reduce((sum, c) => sum + c.received, 0);
    console.log(
      `soak ${((Date.now() - startedAt) / 1000).toFixed(0)}s: ${counts.writes} puts, ${counts.deletes} deletes, ` +
        `${streamsServed} streams served, ${received} responses, ${counts.storms} storms, ${counts.memberKills} member kills, ${memory()}`,
    );
  }, Math.min(60_000, durationMs / 4));

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())));
  stopping = true;
  clearInterval(progress);
  await churn;
  await faults;

  // Settle: every watched service's latest assignment equals etcd's content (failed writes may or may not have
  // applied, so etcd, not the churn's model, is the reference).
  const expected = new Map<string, string[]>();
  for (let i = 0; i < SERVICES; i++) expected.set(service(i), await etcdContent(writer, service(i)));
  const settleBy = Date.now() + 30_000;
  const wrong = (): SoakClient[] => clients.filter((c) => JSON.stringify(c.latest ?? []) !== JSON.stringify(expected.get(c.service)));
  while (wrong().length > 0 && Date.now() < settleBy) await new Promise((resolve) => setTimeout(resolve, 200));
  loop.disable();
  const mismatched = wrong();
  const ended = clients.filter((c) => c.ended).length;
  const received = counts.retiredReceived + clients.reduce((sum, c) => sum + c.received, 0);
  const endMemory = memory();

  console.log(
    `soak end after ${((Date.now() - startedAt) / 60_000).toFixed(1)} min: ${streamsServed} streams served, ${received} changes delivered ` +
      `(EDS responses to subscribed clients), ${counts.writes} puts and ${counts.deletes} deletes (${counts.failedWrites} failed during elections), ` +
      `faults injected: ${counts.storms} reconnect storms of ${CLIENTS} clients, ${counts.memberKills} etcd member kills ` +
      `(${counts.leaderKills} of the leader), watcher reconnects ${plane.watcher.stats().reconnects}, resyncs ${plane.watcher.stats().resyncs}`,
  );
  console.log(`soak end: ${endMemory}; longest event-loop stall ${(loop.max / 1e6).toFixed(0)} ms (client and server share this process)`);
  console.log(
    mismatched.length === 0 && ended === 0
      ? `soak result: OK — all ${clients.length} clients hold etcd's content for their service; ${plane.xds.streamInfos().length} streams open`
      : `soak result: FAIL — ${mismatched.length} clients disagree with etcd (e.g. ${mismatched[0]?.service}: ` +
          `${JSON.stringify(mismatched[0]?.latest)} vs ${JSON.stringify(expected.get(mismatched[0]?.service ?? ''))}), ${ended} streams ended`,
  );

  for (const c of clients) c.close();
  await plane.close();
  writer.close();
  await cluster.close();
  process.exit(mismatched.length === 0 && ended === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error('soak failed:', err);
  process.exit(1);
});
