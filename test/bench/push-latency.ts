// Push latency through the real path: etcd put → watch → snapshot → xDS response received by N raw ADS streams.
// Part of `npm run bench`; needs an etcd (ETCD_ENDPOINTS or the etcd binary), like the tests.
import { Etcd3 } from 'etcd3';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { startTestControlPlane } from '../support/control-plane.js';
import { startTestEtcd } from '../support/etcd.js';

const STREAMS = Number(process.env.BENCH_PUSH_STREAMS ?? 200);
const ROUNDS = Number(process.env.BENCH_PUSH_ROUNDS ?? 30);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function benchPushLatency(): Promise<void> {
  const etcd = await startTestEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  await client.put('/services/bench/i0').value('10.9.0.1:80');
  const cp = await startTestControlPlane(etcd);
  const streams = Array.from({ length: STREAMS }, () => new AdsTestStream(cp.xdsAddress, 'sotw'));
  try {
    for (const s of streams) s.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['bench'] });
    for (const s of streams) {
      const r = await s.next();
      s.send({ type_url: TYPE_URL.endpoint, resource_names: ['bench'], response_nonce: r.nonce, version_info: r.version });
    }
    const lastStream: number[] = [];
    const firstStream: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const started = performance.now();
      await client.put(`/services/bench/i${round}`).value(`10.9.0.${(round % 250) + 2}:80`);
      const arrivals = await Promise.all(
        streams.map(async (s) => {
          const r = await s.next(10_000);
          const at = performance.now() - started;
          s.send({ type_url: TYPE_URL.endpoint, resource_names: ['bench'], response_nonce: r.nonce, version_info: r.version });
          return at;
        }),
      );
      firstStream.push(Math.min(...arrivals));
      lastStream.push(Math.max(...arrivals));
      await client.delete().key(`/services/bench/i${round}`);
      await Promise.all(streams.map(async (s) => {
        const r = await s.next(10_000);
        s.send({ type_url: TYPE_URL.endpoint, resource_names: ['bench'], response_nonce: r.nonce, version_info: r.version });
      }));
      if (round % 10 === 0) console.log(`  push latency: round ${round}/${ROUNDS}`);
    }
    const fmt = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`;
    };
    console.log(`etcd put → EDS response, ${STREAMS} SotW streams, ${ROUNDS} rounds (includes the 10 ms coalescing window):`);
    console.log(`  first stream: ${fmt(firstStream)}`);
    console.log(`  last stream:  ${fmt(lastStream)}`);
  } finally {
    for (const s of streams) s.close();
    await cp.plane.close();
    client.close();
    await etcd.close();
  }
}
