// (f) Idle streams: how much a connected, ACKed EDS stream costs the server in RSS, against the bare grpc-js server
// holding the same number of streams (same connections, same response bytes).
import { AdsFleet } from '../ads-fleet.js';
import type { BareServer } from '../bare-server.js';
import { sleep } from '../lifecycle.js';
import { median } from '../measure.js';
import type { ChildNode } from '../serve-child.js';

export interface IdleStreams {
  streams: number;
  connections: number;
  productBefore: number;
  productAfter: number;
  bareBefore: number;
  bareAfter: number;
  productPerStream: number;
  barePerStream: number;
}

async function steadyRss(node: ChildNode): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(node.rssBytes());
    await sleep(200);
  }
  return median(samples);
}

/** RSS before and after `streams` idle streams, each following one of `services`. */
async function rssOfStreams(node: ChildNode, address: string, services: string[], streams: number, connections: number, onFirst?: (fleet: AdsFleet) => void) {
  await sleep(500);
  const before = await steadyRss(node);
  const fleet = new AdsFleet(address, connections);
  try {
    for (let k = 0; k < streams; k++) fleet.open([services[k % services.length]!]);
    fleet.streams[0]!.keepLast = true;
    await fleet.allAnswered(1, 120_000, `${streams} idle streams to receive their first response`);
    // Give both servers the same time to read the ACKs and settle.
    await sleep(1_000);
    const after = await steadyRss(node);
    onFirst?.(fleet);
    return { before, after };
  } finally {
    await fleet.close();
  }
}

/** `bare` must be fresh (no stream has used it yet) for its RSS to compare; it is stopped afterwards. */
export async function measureIdleStreams(serve: ChildNode, xdsAddress: string, bare: BareServer, services: string[], streams: number, connections: number): Promise<IdleStreams> {
  let captured: Buffer | undefined;
  const product = await rssOfStreams(serve, xdsAddress, services, streams, connections, (fleet) => (captured = fleet.streams[0]!.lastBytes));
  try {
    await bare.load(captured!);
    const floor = await rssOfStreams(bare, bare.address, services, streams, connections);
    return {
      streams,
      connections,
      productBefore: product.before,
      productAfter: product.after,
      bareBefore: floor.before,
      bareAfter: floor.after,
      productPerStream: (product.after - product.before) / streams,
      barePerStream: (floor.after - floor.before) / streams,
    };
  } finally {
    await bare.stop();
  }
}
