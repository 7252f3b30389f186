// (c)/(d) Fan-out: one instance of a service changes and S streams subscribed to it must each receive the new
// assignment. The floor, measured in the same run and interleaved round by round: etcd put → watch event, plus a
// bare grpc-js server writing the bytes etcd-xds itself sent to the same number of streams over as many connections.
import type { Etcd3 } from 'etcd3';
import { AdsFleet } from '../ads-fleet.js';
import type { BareServer } from '../bare-server.js';
import { instanceKey, putAll, registration } from '../fleet.js';
import { progress, sleep, waitFor, withTimeout } from '../lifecycle.js';
import { median, percentile } from '../measure.js';
import type { ServeChild } from '../serve-child.js';
import { responseWhere } from './change-latency.js';

/** put → watch event latency of etcd alone, from this process, on a key nobody else reads. */
export async function etcdWatchLatency(client: Etcd3, rounds: number): Promise<number[]> {
  const prefix = '/bench-watch-probe/';
  const watcher = await withTimeout(client.watch().prefix(prefix).create(), 30_000, 'an etcd watch');
  try {
    const samples: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const seen = withTimeout(
        new Promise<number>((resolve) => {
          const onPut = (kv: { value: Buffer }) => {
            if (kv.value.toString() !== String(round)) return;
            watcher.off('put', onPut);
            resolve(performance.now());
          };
          watcher.on('put', onPut);
        }),
        10_000,
        'an etcd watch event',
      );
      const started = performance.now();
      await withTimeout(client.put(`${prefix}k`).value(String(round)), 30_000, 'an etcd put');
      samples.push((await seen) - started);
      await sleep(10);
    }
    return samples;
  } finally {
    await watcher.cancel();
  }
}

export interface Delivery {
  /** Every stream's delivery time in every round, ms. */
  perStream: number[];
  /** The last stream's delivery time per round, ms. */
  lastStream: number[];
  /** p99 over the streams, per round (per change), ms. */
  roundP99: number[];
  bytes: number;
}

/** Arms every stream, runs the trigger (which returns its start time), waits until every stream received. */
async function deliveryRound(fleet: AdsFleet, trigger: () => Promise<number>, timeoutMs: number, into: Delivery): Promise<void> {
  const arrivals = new Array<number>(fleet.streams.length).fill(Number.NaN);
  fleet.streams.forEach((stream, i) => {
    stream.onResponse = (response, at) => {
      if (Number.isNaN(arrivals[i]!)) arrivals[i] = at;
      into.bytes = response.bytes;
    };
  });
  const started = await trigger();
  await waitFor(`all ${fleet.streams.length} streams to receive the push`, timeoutMs, () => {
    const failed = fleet.streams.find((s) => s.error);
    if (failed) throw failed.error;
    return arrivals.every((a) => !Number.isNaN(a)) ? true : undefined;
  }, 5);
  for (const stream of fleet.streams) stream.onResponse = undefined;
  const times = arrivals.map((a) => a - started);
  into.perStream.push(...times);
  into.lastStream.push(Math.max(...times));
  into.roundP99.push(percentile(times, 99));
}

export interface FanOutResult {
  endpoints: number;
  streams: number;
  connections: number;
  rounds: number;
  product: Delivery;
  bare: Delivery;
  /** p99 over every stream of every round. */
  productP99: number;
  bareP99: number;
  /** Median over the rounds of each round's p99: one stalled round (a busy machine) does not decide it alone. */
  productRoundP99: number;
  bareRoundP99: number;
}

export interface FanOutOptions {
  service: string;
  /** Index used for the service's addresses. */
  serviceIndex: number;
  endpoints: number;
  streams: number;
  connections: number;
  rounds: number;
  roundTimeoutMs: number;
}

export async function measureFanOut(serve: ServeChild, bare: BareServer, client: Etcd3, prefix: string, options: FanOutOptions): Promise<FanOutResult> {
  const { service, serviceIndex, endpoints, streams, connections, rounds, roundTimeoutMs } = options;
  const keys = function* (): Generator<[string, string]> {
    for (let i = 0; i < endpoints; i++) yield [instanceKey(prefix, service, i), registration(serviceIndex, i)];
  };
  await putAll(client, keys(), endpoints, `${service} registrations`);
  const xds = await serve.xdsAddress;

  // Every endpoint must be served before the streams subscribe, or the first rounds would measure the build-up.
  const probe = new AdsFleet(xds, 1);
  try {
    const stream = probe.open([service]);
    const ready = responseWhere(stream, (ports) => ports.size === endpoints, 120_000, `${service} served with ${endpoints} endpoints`);
    await ready;
  } finally {
    await probe.close();
  }

  const product = new AdsFleet(xds, connections);
  const floor = new AdsFleet(bare.address, connections);
  try {
    for (let i = 0; i < streams; i++) product.open([service]);
    product.streams[0]!.keepLast = true;
    await product.allAnswered(1, roundTimeoutMs * 2, `${streams} streams to receive ${service}`);

    const productDelivery: Delivery = { perStream: [], lastStream: [], roundP99: [], bytes: 0 };
    const bareDelivery: Delivery = { perStream: [], lastStream: [], roundP99: [], bytes: 0 };
    const changeInstance = async (round: number) => {
      const started = performance.now();
      const value = registration(serviceIndex, 0, { weight: (round + 2) % 2 === 1 ? 2 : 1 });
      await withTimeout(client.put(instanceKey(prefix, service, 0)).value(value), 30_000, `etcd put of ${service}`);
      return started;
    };
    // One change first: the bytes the bare server pushes are the ones etcd-xds pushed after a change.
    await deliveryRound(product, () => changeInstance(-1), roundTimeoutMs, { perStream: [], lastStream: [], roundP99: [], bytes: 0 });
    await bare.load(product.streams[0]!.lastBytes!);
    product.streams[0]!.keepLast = false;
    for (let i = 0; i < streams; i++) floor.open([service]);
    await floor.allAnswered(1, roundTimeoutMs * 2, `${streams} streams to receive the bare server's bytes`);

    for (let round = 0; round < rounds; round++) {
      await sleep(50);
      await deliveryRound(product, () => changeInstance(round), roundTimeoutMs, productDelivery);
      await sleep(50);
      await deliveryRound(floor, async () => bare.push(), roundTimeoutMs, bareDelivery);
      if (rounds >= 5 && (round + 1) % 5 === 0) progress(`${service}: round ${round + 1}/${rounds}`);
    }
    return {
      endpoints,
      streams,
      connections,
      rounds,
      product: productDelivery,
      bare: bareDelivery,
      productP99: percentile(productDelivery.perStream, 99),
      bareP99: percentile(bareDelivery.perStream, 99),
      productRoundP99: median(productDelivery.roundP99),
      bareRoundP99: median(bareDelivery.roundP99),
    };
  } finally {
    await product.close();
    await floor.close();
  }
}
