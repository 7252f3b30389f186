// (a) One instance added, then removed, on one service: etcd put → EDS response received by one raw ADS stream,
// and the server's CPU per change (its idle CPU rate subtracted).
import type { Etcd3 } from 'etcd3';
import { AdsFleet, decodeAssignment, type AdsStream } from '../ads-fleet.js';
import { instanceKey, registration, serviceName } from '../fleet.js';
import { sleep, withTimeout } from '../lifecycle.js';
import { percentile } from '../measure.js';
import type { ServeChild } from '../serve-child.js';

export interface ChangeLatency {
  changes: number;
  p50: number;
  p99: number;
  cpuPerChangeMs: number;
  idleCpuPerSecondMs: number;
  samples: number[];
}

/** Resolves at the arrival of the first response whose assignment satisfies `holds`. */
export function responseWhere(stream: AdsStream, holds: (ports: Set<number>) => boolean, timeoutMs: number, what: string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve) => {
      stream.onResponse = (response, at) => {
        const resource = response.resources[0];
        const ports = new Set(resource ? decodeAssignment(resource).endpoints.map((e) => e.port) : []);
        if (holds(ports)) {
          stream.onResponse = undefined;
          resolve(at);
        }
      };
    }),
    timeoutMs,
    what,
  ).finally(() => (stream.onResponse = undefined));
}

export async function measureChangeLatency(serve: ServeChild, client: Etcd3, prefix: string, rounds: number): Promise<ChangeLatency> {
  const service = 5;
  const name = serviceName(service);
  const fleet = new AdsFleet(await serve.xdsAddress, 1);
  try {
    const stream = fleet.open([name]);
    await fleet.allAnswered(1, 60_000, `the first EDS response for ${name}`);
    await sleep(500);
    const idleFrom = serve.cpuMs();
    await sleep(1_000);
    const idleCpuPerSecondMs = serve.cpuMs() - idleFrom;

    const samples: number[] = [];
    const cpuFrom = serve.cpuMs();
    const wallFrom = performance.now();
    for (let round = 0; round < rounds; round++) {
      const port = 10_000 + 1_000 + round;
      const key = instanceKey(prefix, name, `bench-${round}`);
      let started = performance.now();
      const added = responseWhere(stream, (ports) => ports.has(port), 30_000, `EDS with instance ${key}`);
      await withTimeout(client.put(key).value(registration(service, 1_000 + round)), 30_000, `etcd put ${key}`);
      samples.push((await added) - started);
      await sleep(30);
      started = performance.now();
      const removed = responseWhere(stream, (ports) => !ports.has(port), 30_000, `EDS without instance ${key}`);
      await withTimeout(client.delete().key(key), 30_000, `etcd delete ${key}`);
      samples.push((await removed) - started);
      await sleep(30);
    }
    const wallMs = performance.now() - wallFrom;
    const busyMs = serve.cpuMs() - cpuFrom - (idleCpuPerSecondMs * wallMs) / 1_000;
    return {
      changes: samples.length,
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      cpuPerChangeMs: Math.max(0, busyMs) / samples.length,
      idleCpuPerSecondMs,
      samples,
    };
  } finally {
    await fleet.close();
  }
}
