// (e) Bulk churn, like a rolling restart: instances of random services are rewritten at a steady rate while
// streams each following several services must receive every change. Each write carries a sequence number in its
// metadata, so a delivery is matched to the change it reflects (a later write of the same instance covers earlier ones).
import type { Etcd3 } from 'etcd3';
import { AdsFleet, assignmentName, decodeAssignment } from '../ads-fleet.js';
import { instanceKey, registration, serviceName } from '../fleet.js';
import { progress, sleep, waitFor } from '../lifecycle.js';
import { childPidsNamed, cpuMs, percentile, runQueueWaitMs, slope } from '../measure.js';
import type { ServeChild } from '../serve-child.js';

export interface ChurnOptions {
  services: number;
  perService: number;
  streams: number;
  servicesPerStream: number;
  connections: number;
  seconds: number;
  /** Changes per second. */
  rate: number;
  /** How long to wait after the churn for the last deliveries. */
  drainSeconds: number;
}

export interface ChurnResult extends ChurnOptions {
  issued: number;
  /** Changes the bench could not issue because too many puts were still in flight (etcd too slow). */
  skipped: number;
  deliveries: number;
  undelivered: number;
  p50: number;
  p99: number;
  cores: number;
  /** What else used the 2 cores meanwhile: etcd (when the bench spawned it) and the bench's own clients. */
  etcdCores: number | undefined;
  benchCores: number;
  /** Share of the churn the server's event loop was runnable but got no CPU (a machine busy with other work). */
  serverStarved: number;
  rssStart: number;
  rssEnd: number;
  /** RSS slope after the warm-up fifth, bytes per minute. */
  rssSlopePerMinute: number;
  backlogFirstThird: number;
  backlogLastThird: number;
  samples: Array<{ second: number; rss: number; cpuMs: number; backlog: number }>;
}

interface Pending {
  seq: number;
  at: number;
}

const MAX_PUTS_IN_FLIGHT = 2_000;

export async function measureChurn(serve: ServeChild, client: Etcd3, prefix: string, options: ChurnOptions): Promise<ChurnResult> {
  const { services, perService, streams, servicesPerStream, connections, seconds, rate } = options;
  const fleet = new AdsFleet(await serve.xdsAddress, connections);
  const followers = new Map<number, number[]>();
  // Per stream: "<service>/<instance>" → changes not yet seen, oldest first.
  const pending = Array.from({ length: streams }, () => new Map<string, Pending[]>());
  const lastBytes = Array.from({ length: streams }, () => new Map<string, Buffer>());
  const latencies: number[] = [];
  let backlog = 0;
  try {
    for (let k = 0; k < streams; k++) {
      const followed = Array.from({ length: servicesPerStream }, (_, j) => (k * servicesPerStream + j) % services);
      for (const s of followed) followers.set(s, [...(followers.get(s) ?? []), k]);
      const stream = fleet.open(followed.map(serviceName));
      stream.onResponse = (response, at) => {
        for (const any of response.resources) {
          const assignment = decodeIfChanged(lastBytes[k]!, any);
          if (!assignment) continue;
          const s = Number(/^svc-(\d+)$/.exec(assignment.name)?.[1] ?? -1);
          for (const endpoint of assignment.endpoints) {
            const waiting = pending[k]!.get(`${s}/${endpoint.port - 10_000}`);
            const seq = Number(endpoint.metadata.seq ?? 0);
            while (waiting && waiting.length > 0 && waiting[0]!.seq <= seq) {
              latencies.push(at - waiting.shift()!.at);
              backlog -= 1;
            }
          }
        }
      };
    }
    await fleet.allAnswered(1, 120_000, `${streams} churn streams to receive their services`);
    await sleep(1_000);

    let seq = 0;
    let issued = 0;
    let skipped = 0;
    let inFlight = 0;
    const keysInFlight = new Set<string>();
    let putError: Error | undefined;
    const samples: ChurnResult['samples'] = [];
    const etcdPid = childPidsNamed('etcd')[0];
    const etcdFrom = etcdPid === undefined ? 0 : cpuMs(etcdPid);
    const benchFrom = process.cpuUsage();
    const cpuFrom = serve.cpuMs();
    const waitFrom = runQueueWaitMs(serve.pid);
    const started = performance.now();
    const sample = () =>
      samples.push({ second: (performance.now() - started) / 1_000, rss: serve.rssBytes(), cpuMs: serve.cpuMs() - cpuFrom, backlog });
    sample();
    let nextSample = 1;
    while (performance.now() - started < seconds * 1_000) {
      if (putError) throw putError;
      const due = Math.floor(((performance.now() - started) / 1_000) * rate) - issued - skipped;
      for (let n = 0; n < due; n++) {
        if (inFlight >= MAX_PUTS_IN_FLIGHT) {
          skipped += 1;
          continue;
        }
        // One put per key at a time: concurrent puts of one key may commit in either order, and a delivery could
        // then never match the later sequence number.
        let s = 0;
        let i = 0;
        do {
          s = Math.floor(Math.random() * services);
          i = Math.floor(Math.random() * perService);
        } while (keysInFlight.has(`${s}/${i}`));
        const keyInFlight = `${s}/${i}`;
        keysInFlight.add(keyInFlight);
        seq += 1;
        const at = performance.now();
        for (const k of followers.get(s) ?? []) {
          const key = `${s}/${i}`;
          const list = pending[k]!.get(key);
          if (list) list.push({ seq, at });
          else pending[k]!.set(key, [{ seq, at }]);
          backlog += 1;
        }
        issued += 1;
        inFlight += 1;
        client
          .put(instanceKey(prefix, serviceName(s), i))
          .value(registration(s, i, { metadata: { seq: String(seq) } }))
          .then(
            () => {
              inFlight -= 1;
              keysInFlight.delete(keyInFlight);
            },
            (err: Error) => (putError = err),
          );
      }
      if ((performance.now() - started) / 1_000 >= nextSample) {
        sample();
        if (nextSample % 10 === 0) progress(`churn: ${nextSample}/${seconds} s, ${issued} changes, backlog ${backlog}`);
        nextSample += 1;
      }
      await sleep(10);
    }
    const wallMs = performance.now() - started;
    const serverMs = serve.cpuMs() - cpuFrom;
    const serverStarved = (runQueueWaitMs(serve.pid) - waitFrom) / wallMs;
    const etcdCores = etcdPid === undefined ? undefined : (cpuMs(etcdPid) - etcdFrom) / wallMs;
    const bench = process.cpuUsage(benchFrom);
    sample();
    await waitFor('every churn change to be delivered', options.drainSeconds * 1_000, () => (backlog === 0 ? true : undefined), 20).catch(() => undefined);
    const undelivered = backlog;
    const all = [...latencies, ...new Array<number>(undelivered).fill(Number.POSITIVE_INFINITY)];

    const steady = samples.filter((s) => s.second >= seconds / 5);
    const third = Math.max(1, Math.floor(steady.length / 3));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    return {
      ...options,
      issued,
      skipped,
      deliveries: latencies.length,
      undelivered,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      cores: serverMs / wallMs,
      etcdCores,
      benchCores: (bench.user + bench.system) / 1_000 / wallMs,
      serverStarved,
      rssStart: steady[0]?.rss ?? samples[0]!.rss,
      rssEnd: samples[samples.length - 1]!.rss,
      rssSlopePerMinute: slope(steady.map((s) => [s.second / 60, s.rss] as const)),
      backlogFirstThird: mean(steady.slice(0, third).map((s) => s.backlog)),
      backlogLastThird: mean(steady.slice(-third).map((s) => s.backlog)),
      samples,
    };
  } finally {
    await fleet.close();
  }
}

/** The assignment in `any` when its bytes differ from the last ones seen for that name on this stream. */
function decodeIfChanged(seen: Map<string, Buffer>, any: Buffer): ReturnType<typeof decodeAssignment> | undefined {
  const name = assignmentName(any);
  if (seen.get(name)?.equals(any)) return undefined;
  seen.set(name, any);
  return decodeAssignment(any);
}
