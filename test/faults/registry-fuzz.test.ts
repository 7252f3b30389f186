// Registry fuzz: thousands of random and hostile keys and values written to a real etcd under the control plane's
// prefix (invalid UTF-8, 10,000-deep JSON, huge numbers, 1 MiB values, keys outside the schema, odd service names,
// NUL bytes, each value format broken in small ways) while valid instances keep serving. Every key ends up either
// published or rejected with a reason, the steady service's EDS never changes, and nothing throws.
// The PRNG seed is printed; FUZZ_SEED=<n> reruns a failing sequence, FUZZ_OPS=<n> changes the count.
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdClient } from '../../src/registry/etcd-client.js';
import { parseRegistration } from '../../src/registry/parse.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { EdsWatch, endpointsOf } from '../support/eds-watch.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { ODD_VALID_SERVICES, hostileKey, hostileValue, outsideKey, validValue, type Value } from './hostile-registry.js';
import { Random } from './prng.js';

const PREFIX = '/services/';
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const OPS = Number(process.env.FUZZ_OPS ?? 3_000);
const CONCURRENCY = 16;
const HUGE_VALUES = 6;
const STEADY = ['10.0.0.1:8001', '10.0.0.2:8002', '10.0.0.3:8003'];
const VALID_SERVICES = 12;
const MARKER = `${PREFIX}marker/last`;

let etcd: TestEtcd;
let client: Etcd3;
let cp: TestControlPlane;
let steady: EdsWatch;
const crashes: unknown[] = [];
const recordCrash = (err: unknown): void => void crashes.push(err);

interface Written {
  key: Buffer;
  deleted: boolean;
  /** Set when the last value written was a valid one: the endpoint it must publish. */
  endpoint?: string;
  service?: string;
}

const sortedEndpoints = (list: Array<{ address: string; port: number }>): string[] => list.map((e) => `${e.address}:${e.port}`).sort();

beforeAll(async () => {
  process.on('uncaughtException', recordCrash);
  process.on('unhandledRejection', recordCrash);
  etcd = await startTestEtcd();
  client = createEtcdClient(etcd.endpoint);
  await client.delete().prefix(PREFIX);
  for (const [i, endpoint] of STEADY.entries()) await client.put(`${PREFIX}steady/i${i}`).value(endpoint);
  cp = await startTestControlPlane(etcd, { healthChecks: false });
  steady = new EdsWatch(cp.xdsAddress, 'steady');
  await steady.waitFor((a) => JSON.stringify(sortedEndpoints(a.endpoints)) === JSON.stringify(STEADY), 'the steady instances');
});

afterAll(async () => {
  steady?.close();
  await cp?.plane.close();
  await client?.delete().prefix(PREFIX);
  client?.close();
  await etcd?.close();
  process.off('uncaughtException', recordCrash);
  process.off('unhandledRejection', recordCrash);
});

describe('registry fuzz', () => {
  it(`publishes or rejects with a reason every hostile key and value, never disturbing valid instances (seed ${SEED})`, async () => {
    const r = new Random(SEED);
    const written = new Map<string, Written>();
    const counts = { writes: 0, hostile: 0, valid: 0, huge: 0, outside: 0, overSteady: 0, deletes: 0, bytes: 0 };
    const hugeAt = new Set(Array.from({ length: HUGE_VALUES }, (_, i) => Math.floor(((i + 0.5) * OPS) / HUGE_VALUES)));

    // Decide every operation up front so the sequence depends on the seed only, not on write timing.
    const ops: Array<{ key: Buffer; value?: Value }> = [];
    for (let n = 0; n < OPS; n++) {
      const roll = r.next();
      const huge = hugeAt.has(n);
      if (!huge && roll < 0.05 && written.size > 0) {
        const victims = [...written.values()].filter((w) => !w.deleted && !w.key.toString().startsWith(`${PREFIX}steady/`));
        const victim = victims.length ? r.pick(victims) : undefined;
        if (victim) {
          victim.deleted = true;
          delete victim.endpoint;
          ops.push({ key: victim.key });
          counts.deletes++;
          continue;
        }
      }
      if (!huge && roll < 0.1) {
        ops.push({ key: Buffer.from(outsideKey(r, PREFIX, n)), value: validValue(r).value });
        counts.outside++;
        continue;
      }
      let key: Buffer;
      let value: Value;
      let valid: { endpoint: string; service: string } | undefined;
      if (!huge && roll < 0.25) {
        const service = r.chance(0.8) ? `valid-${r.int(VALID_SERVICES)}` : r.pick(ODD_VALID_SERVICES);
        key = Buffer.from(`${PREFIX}${service}/v${n}`);
        const v = validValue(r);
        value = v.value;
        valid = { endpoint: v.endpoint, service };
        counts.valid++;
      } else {
        value = hostileValue(r, huge);
        if (huge) counts.huge++;
        else counts.hostile++;
        if (roll < 0.3) {
          // Garbage over a good value: only values the parser refuses (some hostile-looking ones are valid, e.g.
          // '"port":"8080"' in proto3 JSON), since the steady service must keep its last good endpoints.
          key = Buffer.from(`${PREFIX}steady/i${r.int(STEADY.length)}`);
          while (parseRegistration({ prefix: PREFIX, key: key.toString(), value, lease: '0', modRevision: '1' }).ok) value = hostileValue(r, false);
          counts.overSteady++;
        } else if (roll < 0.45) {
          key = Buffer.from(`${PREFIX}fuzz-${r.int(40)}/k${n}`);
        } else {
          key = hostileKey(r, PREFIX, n);
        }
      }
      const id = key.toString('hex');
      const record: Written = written.get(id) ?? { key, deleted: false };
      record.deleted = false;
      if (valid) Object.assign(record, valid);
      else delete record.endpoint;
      written.set(id, record);
      ops.push({ key, value });
      counts.bytes += Buffer.byteLength(value);
    }

    // Lanes by key: operations on one key stay in order, so the last one generated is the last one etcd applies.
    const lanes: Array<typeof ops> = Array.from({ length: CONCURRENCY }, () => []);
    for (const op of ops) lanes[op.key.reduce((h, b) => (h * 31 + b) >>> 0, 7) % CONCURRENCY]!.push(op);
    await Promise.all(
      lanes.map(async (lane) => {
        for (const op of lane) {
          if (op.value === undefined) await client.delete().key(op.key).exec();
          else await client.put(op.key).value(op.value).exec();
          counts.writes++;
        }
      }),
    );
    // A last valid write marks the revision the watcher must reach.
    const { header } = await client.put(MARKER).value('10.0.9.9:9999').exec();

    await expect.poll(() => BigInt(cp.plane.watcher.view().revision) >= BigInt(header.revision), { timeout: 20_000 }).toBe(true);
    const view = cp.plane.watcher.view();

    // Nothing threw, and the steady service's assignment never changed, garbage over its keys included.
    expect(crashes).toEqual([]);
    for (const assignment of steady.history) expect(sortedEndpoints(assignment.endpoints)).toEqual(STEADY);
    expect([...(view.services.get('steady')?.keys() ?? [])].sort()).toEqual(['i0', 'i1', 'i2']);

    // Every rejection says why, and names a key under the prefix.
    for (const [key, entry] of view.rejected) {
      expect(key.startsWith(PREFIX), key).toBe(true);
      expect(entry.reason.trim(), key).not.toBe('');
    }
    // Every live key under the prefix is published or rejected; deleted and outside keys are neither.
    const published = new Map<string, string>();
    for (const byId of view.services.values()) for (const instance of byId.values()) published.set(instance.key, `${instance.address}:${instance.port}`);
    const live = new Set<string>([MARKER, ...STEADY.map((_, i) => `${PREFIX}steady/i${i}`)]);
    for (const record of written.values()) {
      const key = record.key.toString('utf8');
      if (!key.startsWith(PREFIX)) continue;
      if (record.deleted) {
        expect(published.has(key) || view.rejected.has(key), `deleted ${JSON.stringify(key)}`).toBe(false);
        continue;
      }
      live.add(key);
      expect(published.has(key) || view.rejected.has(key), `unaccounted ${JSON.stringify(key)}`).toBe(true);
      if (record.endpoint) expect(published.get(key), key).toBe(record.endpoint);
    }
    expect(new Set([...published.keys(), ...view.rejected.keys()])).toEqual(live);

    // What EDS serves for the valid services is exactly what was written to them.
    const stream = new AdsTestStream(cp.xdsAddress, 'sotw');
    const names = Array.from({ length: VALID_SERVICES }, (_, i) => `valid-${i}`);
    stream.send({ node: { ...NODE, id: 'fuzz-check' }, type_url: TYPE_URL.endpoint, resource_names: names });
    const response = await stream.next(10_000);
    stream.close();
    for (const name of names) {
      const expected = [...written.values()].filter((w) => w.service === name && w.endpoint).map((w) => w.endpoint!).sort();
      const resource = response.resources.find((res) => res.name === name);
      const served = resource ? endpointsOf(resource.message).map((e) => `${e.address}:${e.port}`).sort() : [];
      expect(served, name).toEqual(expected);
    }

    // The admin API still answers over all of it.
    for (const path of ['/healthz', '/readyz', '/debug/services', '/']) {
      const res = await fetch(`${cp.adminUrl}${path}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }

    const keepsLastGood = [...view.rejected.values()].filter((e) => e.keepsLastGood).length;
    console.log(
      `registry fuzz seed=${SEED}: ${counts.writes} operations (${counts.hostile} hostile values, ${counts.huge} of 1 MiB, ` +
        `${counts.valid} valid, ${counts.outside} outside the prefix, ${counts.overSteady} over good keys, ${counts.deletes} deletes, ` +
        `${(counts.bytes / 1_048_576).toFixed(1)} MiB); final: ${live.size} live keys, ${published.size} published, ` +
        `${view.rejected.size} rejected (${keepsLastGood} keeping their last good value); steady EDS received ` +
        `${steady.history.length} time(s), unchanged`,
    );
  }, 120_000);
});
