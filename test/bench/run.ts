// `npm run bench`: speed and memory figures for the hot paths, printed (never asserted in unit tests).
//   1. snapshot build, full and after one instance changes (re-encodes only that service)
//   2. fan-out: deciding and framing pushes for many streams after one change
//   3. memory held per stream
import { SnapshotBuilder, diffSnapshots } from '../../src/snapshot/builder.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { StreamEngine, type StreamObserver } from '../../src/xds/stream.js';
import { encodeDeltaResponse, encodeSotwResponse } from '../../src/xds/wire.js';
import type { Instance } from '../../src/registry/types.js';
import { instance } from '../support/snapshots.js';
import { benchPushLatency } from './push-latency.js';

const SERVICES = Number(process.env.BENCH_SERVICES ?? 1000);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 10);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 5000);

const quietObserver: StreamObserver = { sent() {}, acked() {}, nacked() {}, ignored() {} };

function fleet(changedPort = 0): Map<string, Instance[]> {
  const services = new Map<string, Instance[]>();
  for (let s = 0; s < SERVICES; s++) {
    const name = `svc-${s}`;
    services.set(
      name,
      Array.from({ length: INSTANCES }, (_, i) =>
        instance(name, `i-${i}`, 10_000 + i + (s === 0 && i === 0 ? changedPort : 0), {
          address: `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`,
          locality: { region: 'eu-west-1', zone: `eu-west-1${'abc'[i % 3]}` },
        }),
      ),
    );
  }
  return services;
}

function time<T>(label: string, fn: () => T): T {
  const started = performance.now();
  const result = fn();
  console.log(`${label.padEnd(58)} ${(performance.now() - started).toFixed(1).padStart(9)} ms`);
  return result;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

console.log(`etcd-xds bench: ${SERVICES} services × ${INSTANCES} instances, ${STREAMS} streams (node ${process.version})\n`);
const noVerdict = () => undefined;
time('snapshot: first build in the process (includes protobufjs warm-up)', () => new SnapshotBuilder().build({ services: fleet(), verdictOf: noVerdict }));
const builder = new SnapshotBuilder();
const first = time('snapshot: full build, warm (encode every resource)', () => builder.build({ services: fleet(), verdictOf: noVerdict }));
time('snapshot: rebuild with nothing changed', () => builder.build({ services: fleet(), verdictOf: noVerdict }));
const second = time('snapshot: rebuild after one instance changed', () => builder.build({ services: fleet(1), verdictOf: noVerdict }));
const diff = time('snapshot: diff', () => diffSnapshots(first, second));
console.log(`  changed: ${[...diff].map(([t, n]) => `${t.split('.').pop()}=${n.size}`).join(' ')}`);

global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const streams = time(`streams: open ${STREAMS} SotW EDS streams (1 service each)`, () =>
  Array.from({ length: STREAMS }, (_, i) => {
    const engine = new StreamEngine({ id: String(i), protocol: 'sotw', api: 'ads', peer: 'bench', observer: quietObserver });
    const [response] = engine.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: [`svc-${i % SERVICES}`] }, first);
    engine.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: response!.nonce, resourceNames: [`svc-${i % SERVICES}`] }, first);
    return engine;
  }),
);
global.gc?.();
console.log(`  heap per stream: ${((process.memoryUsage().heapUsed - heapBefore) / STREAMS / 1024).toFixed(1)} KiB`);

let framedBytes = 0;
const pushes = time('fan-out: decide + frame pushes after one change', () => {
  let count = 0;
  for (const engine of streams) {
    for (const response of engine.handleSnapshot(second, diff)) {
      framedBytes += encodeSotwResponse(response).length;
      count += 1;
    }
  }
  return count;
});
console.log(`  pushes: ${pushes} of ${STREAMS} streams (only subscribers of the changed service), ${framedBytes} bytes framed`);

const wildcard = Array.from({ length: 100 }, (_, i) => new StreamEngine({ id: `w${i}`, protocol: 'delta', api: 'ads', peer: 'bench', observer: quietObserver }));
time('delta: 100 wildcard CDS streams, initial full set', () => {
  for (const engine of wildcard) for (const r of engine.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', subscribe: [], unsubscribe: [] }, first)) encodeDeltaResponse(r);
});
time('delta: 100 wildcard CDS streams, one cluster changed', () => {
  for (const engine of wildcard) for (const r of engine.handleSnapshot(second, diff)) encodeDeltaResponse(r);
});
console.log(`\nheap used: ${mib(process.memoryUsage().heapUsed)}, rss: ${mib(process.memoryUsage().rss)}`);

console.log('');
await benchPushLatency();
