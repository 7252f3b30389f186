// (b) Cold start: spawn → /readyz 200 on the big prefix, minus the same on an empty prefix (node, module loading and
// connecting cancel out), against the floor of a bare paged range read + JSON.parse of the same prefix.
import { rangeReadFloor } from '../fleet.js';
import { progress } from '../lifecycle.js';
import { readyAfter, startServe, type ServeChild } from '../serve-child.js';

export interface ColdStart {
  emptyReadyMs: number[];
  fullReadyMs: number[];
  floorMs: number[];
  floorKeys: number;
  /** The child that came up on the full prefix last, left running for the other scenarios. */
  serve: ServeChild;
}

async function timeToReady(label: string, etcdEndpoint: string, prefix: string): Promise<{ ms: number; serve: ServeChild }> {
  const started = performance.now();
  const serve = await startServe(label, etcdEndpoint, prefix);
  try {
    const ms = await readyAfter(serve, started, 300_000);
    return { ms, serve };
  } catch (err) {
    await serve.stop();
    throw err;
  }
}

export async function measureColdStart(etcdEndpoint: string, emptyPrefix: string, prefix: string, repeats: { empty: number; full: number; floor: number }): Promise<ColdStart> {
  const emptyReadyMs: number[] = [];
  for (let i = 0; i < repeats.empty; i++) {
    const { ms, serve } = await timeToReady('serve-empty', etcdEndpoint, emptyPrefix);
    emptyReadyMs.push(ms);
    await serve.stop();
  }
  progress(`cold start on an empty prefix: ${emptyReadyMs.map((m) => m.toFixed(0)).join(', ')} ms`);
  const floorMs: number[] = [];
  let floorKeys = 0;
  for (let i = 0; i < repeats.floor; i++) {
    const floor = await rangeReadFloor(etcdEndpoint, prefix);
    floorMs.push(floor.ms);
    floorKeys = floor.keys;
  }
  progress(`range-read floor (${floorKeys} keys): ${floorMs.map((m) => m.toFixed(0)).join(', ')} ms`);
  const fullReadyMs: number[] = [];
  let serve: ServeChild | undefined;
  for (let i = 0; i < repeats.full; i++) {
    await serve?.stop();
    const started = await timeToReady('serve-big', etcdEndpoint, prefix);
    serve = started.serve;
    fullReadyMs.push(started.ms);
    progress(`cold start on ${floorKeys} registrations: ${started.ms.toFixed(0)} ms`);
  }
  return { emptyReadyMs, fullReadyMs, floorMs, floorKeys, serve: serve! };
}
