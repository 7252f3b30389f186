// The registrations the bench writes: `<prefix>svc-<s>/i-<i>` holding the native JSON record (README key schema),
// every address an IP literal and every address:port unique within its service.
import { Etcd3 } from 'etcd3';
import { progress, withTimeout } from './lifecycle.js';

/** etcd's default --max-txn-ops. */
const MAX_TXN_OPS = 128;
const TXNS_IN_FLIGHT = 8;

export const serviceName = (s: number) => `svc-${s}`;
export const instanceKey = (prefix: string, service: string, i: number | string) => `${prefix}${service}/i-${i}`;

/** One address per service (10.x.y.z), one port per instance: address:port is unique within a service. */
export function registration(s: number, i: number, extra: Record<string, unknown> = {}): string {
  const address = `10.${(s >> 16) & 255}.${(s >> 8) & 255}.${(s & 255) || 1}`;
  return JSON.stringify({ address, port: 10_000 + i, weight: 1, locality: { region: 'bench', zone: `bench-${i % 3}` }, ...extra });
}

export function instanceAddress(s: number, i: number): { address: string; port: number } {
  return JSON.parse(registration(s, i)) as { address: string; port: number };
}

/** Writes key/value pairs in transactions of at most 128 puts, several in flight. */
export async function putAll(client: Etcd3, entries: Iterable<[string, string]>, total: number, label: string): Promise<number> {
  const started = performance.now();
  let batch: Array<[string, string]> = [];
  let written = 0;
  let lastReport = started;
  const inFlight = new Set<Promise<void>>();
  const send = (ops: Array<[string, string]>) => {
    const txn = withTimeout(
      client.kv.txn({ success: ops.map(([key, value]) => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } })) }),
      60_000,
      `an etcd transaction of ${ops.length} puts`,
    ).then(() => {
      written += ops.length;
      inFlight.delete(txn);
      if (performance.now() - lastReport > 5_000) {
        lastReport = performance.now();
        progress(`${label}: ${written.toLocaleString('en-US')}/${total.toLocaleString('en-US')} keys written`);
      }
    });
    inFlight.add(txn);
    return txn;
  };
  for (const entry of entries) {
    batch.push(entry);
    if (batch.length === MAX_TXN_OPS) {
      void send(batch);
      batch = [];
      if (inFlight.size >= TXNS_IN_FLIGHT) await Promise.race(inFlight);
    }
  }
  if (batch.length > 0) void send(batch);
  await Promise.all(inFlight);
  return performance.now() - started;
}

/** `services` services of `perService` instances each under prefix. */
export function* fleetEntries(prefix: string, services: number, perService: number): Generator<[string, string]> {
  for (let s = 0; s < services; s++) {
    for (let i = 0; i < perService; i++) yield [instanceKey(prefix, serviceName(s), i), registration(s, i)];
  }
}

/** The end of the key range that holds every key starting with prefix. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}

/**
 * The cold-start floor: what reading the prefix costs a bare etcd3 client, a fresh connection, pages of 500 keys at
 * one revision, JSON.parse of every value.
 */
export async function rangeReadFloor(endpoint: string, prefix: string): Promise<{ ms: number; keys: number }> {
  const started = performance.now();
  const client = new Etcd3({ hosts: endpoint, grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 } });
  try {
    let key = Buffer.from(prefix);
    const end = prefixEnd(prefix);
    let revision: string | undefined;
    let keys = 0;
    for (;;) {
      const page = await withTimeout(
        client.kv.range({ key, range_end: end, limit: 500, ...(revision ? { revision } : {}) }),
        60_000,
        'an etcd range page',
      );
      revision ??= page.header.revision;
      for (const kv of page.kvs) JSON.parse(kv.value.toString());
      keys += page.kvs.length;
      if (!page.more || page.kvs.length === 0) break;
      key = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    return { ms: performance.now() - started, keys };
  } finally {
    client.close();
  }
}
