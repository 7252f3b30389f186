// (f) Idle streams: how much a connected, ACKed EDS stream costs the server in RSS, against the bare grpc-js server
// holding the same streams (same connections, same response bytes). Streams are added in steps and the cost is the
// slope of RSS over the stream count, so a process's own drift (startup garbage collected late) weighs less.
import { AdsFleet } from '../ads-fleet.js';
import type { BareServer } from '../bare-server.js';
import { sleep } from '../lifecycle.js';
import { median, slope } from '../measure.js';
import type { ChildNode } from '../serve-child.js';

const STEPS = 4;

export interface IdleStreams {
  streams: number;
  connections: number;
  /** [streams, RSS bytes] after each step, starting with none. */
  product: Array<[number, number]>;
  bare: Array<[number, number]>;
  productPerStream: number;
  barePerStream: number;
}

async function steadyRss(node: ChildNode): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(node.rssBytes());
    await sleep(100);
  }
  return median(samples);
}

/** RSS after each step of streams, each stream following one of `services`. */
async function rssOverStreams(node: ChildNode, address: string, services: string[], streams: number, connections: number, onFirst?: (fleet: AdsFleet) => void) {
  await sleep(500);
  const points: Array<[number, number]> = [[0, await steadyRss(node)]];
  const fleet = new AdsFleet(address, connections);
  try {
    for (let step = 1; step <= STEPS; step++) {
      const upTo = Math.round((streams * step) / STEPS);
      while (fleet.streams.length < upTo) fleet.open([services[fleet.streams.length % services.length]!]);
      fleet.streams[0]!.keepLast = true;
      await fleet.allAnswered(1, 120_000, `${upTo} idle streams to receive their first response`);
      // Give both servers the same time to read the ACKs and settle.
      await sleep(300);
      points.push([upTo, await steadyRss(node)]);
    }
    onFirst?.(fleet);
    return points;
  } finally {
    await fleet.close();
  }
}

/** `bare` must be fresh (no stream has used it yet) for its RSS to compare. */
export async function measureIdleStreams(serve: ChildNode, xdsAddress: string, bare: BareServer, services: string[], streams: number, connections: number): Promise<IdleStreams> {
  let captured: Buffer | undefined;
  const product = await rssOverStreams(serve, xdsAddress, services, streams, connections, (fleet) => (captured = fleet.streams[0]!.lastBytes));
  await bare.load(captured!);
  const floor = await rssOverStreams(bare, bare.address, services, streams, connections);
  return { streams, connections, product, bare: floor, productPerStream: slope(product), barePerStream: slope(floor) };
}
