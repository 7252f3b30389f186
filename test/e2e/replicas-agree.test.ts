// Decisions that outlive one process (an emptied service's grace period, a key's last good value) derive from etcd:
// a replica running through both events, a second replica started after them and the first one restarted serve
// byte-identical resources.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultStatePrefix } from '../../src/state/control-plane-state.js';
import { TYPE_URL, type Snapshot } from '../../src/snapshot/types.js';
import { fetchResources } from '../support/ads-client.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

const PREFIX = '/replicas-agree/';
const STATE = defaultStatePrefix(PREFIX);

let etcd: TestEtcd;
let client: Etcd3;
const planes: TestControlPlane[] = [];

async function replica(): Promise<TestControlPlane> {
  const plane = await startTestControlPlane(etcd, { prefix: PREFIX, serviceGcMs: 10 * 60_000, healthChecks: false });
  planes.push(plane);
  return plane;
}

/** Every resource of every type as name → (version, bytes), and the versions of the whole. */
function served(snapshot: Snapshot) {
  return {
    version: snapshot.version,
    types: Object.fromEntries(
      [...snapshot.resources].map(([typeUrl, map]) => [typeUrl, [...map].map(([name, r]) => [name, r.version, Buffer.from(r.body).toString('base64')])]),
    ),
  };
}

beforeAll(async () => {
  etcd = await startTestEtcd();
  client = new Etcd3({ hosts: etcd.endpoint });
});

afterAll(async () => {
  for (const p of planes) await p.plane.close();
  client?.close();
  await etcd?.close();
});

describe('replicas and restarts over the same etcd', () => {
  it('serve the same grace period and the same last good value, byte for byte', async () => {
    await client.put(`${PREFIX}alpha/1`).value(JSON.stringify({ address: '10.1.0.1', port: 80, metadata: { protocol: 'grpc' } }));
    await client.put(`${PREFIX}beta/1`).value(JSON.stringify({ address: '10.1.0.2', port: 80, metadata: { protocol: 'grpc' } }));
    await client.put(`${PREFIX}gamma/1`).value(JSON.stringify({ address: '10.1.0.3', port: 80, weight: 7 }));
    const first = await replica();

    // beta's last instance leaves (grace period), gamma/1 turns bad (last good value).
    await client.delete().key(`${PREFIX}beta/1`);
    await client.put(`${PREFIX}gamma/1`).value('{"address": "not an ip", "port": 80}');
    await eventually(
      async () => (await client.getAll().prefix(STATE).keys()).sort(),
      (keys) => keys.length === 2,
      'the state records of both decisions in etcd',
    );
    await eventually(
      async () => first.plane.watcher.view().rejected.has(`${PREFIX}gamma/1`),
      Boolean,
      'the first replica to see the bad value',
    );
    const expected = served(first.plane.publisher.current());
    const cds = expected.types[TYPE_URL.cluster] as Array<[string, string, string]>;
    expect(cds.map(([name]) => name)).toEqual(['alpha', 'beta', 'gamma']);
    const beta = first.plane.publisher.current().resources.get(TYPE_URL.cluster)!.get('beta')!;
    expect(JSON.stringify(beta.json)).toContain('http2_protocol_options'); // kept while empty
    expect(JSON.stringify(first.plane.publisher.current().resources.get(TYPE_URL.endpoint)!.get('gamma')!.json)).toContain('10.1.0.3');

    const second = await replica();
    await first.plane.close();
    planes.splice(planes.indexOf(first), 1);
    const restarted = await replica();

    for (const plane of [second, restarted]) {
      expect(served(plane.plane.publisher.current())).toEqual(expected);
      expect(plane.plane.watcher.view().rejected.get(`${PREFIX}gamma/1`)?.keepsLastGood).toBe(true);
    }
    // What clients receive on the wire is the same too.
    const fetched = await Promise.all(
      [second, restarted].map(async (p) => ({
        cds: await fetchResources(p.xdsAddress, 'cds', { type_url: TYPE_URL.cluster }),
        eds: await fetchResources(p.xdsAddress, 'eds', { type_url: TYPE_URL.endpoint, resource_names: ['alpha', 'beta', 'gamma'] }),
      })),
    );
    expect(fetched[0]).toEqual(fetched[1]);
    expect(fetched[0]!.eds.resources.map((r) => r.name)).toEqual(['alpha', 'beta', 'gamma']);

    // gamma fixed and beta back: the records go, on every replica alike.
    await client.put(`${PREFIX}gamma/1`).value(JSON.stringify({ address: '10.1.0.3', port: 80, weight: 7 }));
    await client.put(`${PREFIX}beta/1`).value(JSON.stringify({ address: '10.1.0.2', port: 80, metadata: { protocol: 'grpc' } }));
    await eventually(async () => (await client.getAll().prefix(STATE).keys()).length, (n) => n === 0, 'the state records to be removed');
  });

  it('serve the same last good configuration value, also a replica that only ever saw the bad one', async () => {
    const key = '/etcd-xds/config/services/alpha';
    const record = `${STATE}last-good-config/${key}`;
    const good = { requestTimeout: '3s', retry: { retryOn: 'unavailable', numRetries: 2 } };
    const running = planes[0]!;
    await client.put(key).value(JSON.stringify(good));
    const routeOf = (plane: TestControlPlane) => JSON.stringify(plane.plane.publisher.current().resources.get(TYPE_URL.route)?.get('alpha')?.json);
    await eventually(async () => routeOf(running), (route) => route.includes('num_retries'), 'the policy served');
    await client.put(key).value('{"requestTimeout": "soon"}');
    await eventually(async () => client.get(record).string(), (value) => value !== null, 'the last good value recorded in etcd');
    await eventually(async () => running.plane.config.view().rejected.has(key), Boolean, 'the bad value rejected');
    const expected = served(running.plane.publisher.current());
    expect(routeOf(running)).toContain('num_retries');

    const late = await replica();
    const rejection = late.plane.config.view().rejected.get(key);
    expect(rejection).toMatchObject({ keepsLastGood: true, name: 'alpha' });
    expect(rejection?.reason).toContain('requestTimeout');
    expect(late.plane.config.view().policies.get('alpha')?.spec).toEqual(good);
    expect(served(late.plane.publisher.current())).toEqual(expected);

    // A good value again: every replica serves it and the record goes.
    await client.put(key).value(JSON.stringify({ requestTimeout: '4s' }));
    await eventually(async () => client.get(record).string(), (value) => value === null, 'the record removed');
    for (const plane of planes) {
      await eventually(async () => plane.plane.config.view().rejected.size, (size) => size === 0, 'the rejection cleared');
    }
  });
});
