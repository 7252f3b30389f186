// The incremental pipeline's promises, proved with counters and fake timers (never clocks): a change costs its own
// service, a new snapshot shares everything else, an isolated change goes out at once and a burst goes out once.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RegistryStore } from '../../src/registry/store.js';
import type { RegistryChange } from '../../src/registry/types.js';
import { SnapshotPublisher } from '../../src/snapshot/publisher.js';
import { TYPE_URL, type Snapshot, type SnapshotDiff, type ViewUpdate } from '../../src/snapshot/types.js';
import { StreamEngine } from '../../src/xds/stream.js';

const logger = pino({ level: 'silent' });
const record = (address: string, extra: Record<string, unknown> = {}) => JSON.stringify({ address, port: 8080, ...extra });

/** A registry store and a publisher wired the way the control plane wires them. */
function pipeline(options: { services?: number; serviceGcMs?: number } = {}) {
  const store = new RegistryStore({ prefix: '/services/', logger });
  let revision = 1;
  for (let s = 0; s < (options.services ?? 200); s++) {
    for (let i = 0; i < 3; i++) store.applyPut(`/services/svc-${s}/i-${i}`, record(`10.0.${s % 250}.${i + 1}`), '0', String(++revision));
  }
  store.commit(0);
  const publisher = new SnapshotPublisher({
    registry: () => store.view(),
    verdictOf: () => undefined,
    logger,
    quietMs: 10,
    maxWaitMs: 100,
    ...(options.serviceGcMs !== undefined ? { serviceGcMs: options.serviceGcMs } : {}),
  });
  const published: Array<{ snapshot: Snapshot; diff: SnapshotDiff; views: ReadonlyMap<string, ViewUpdate> }> = [];
  publisher.onSnapshot((snapshot, diff, views) => published.push({ snapshot, diff, views: views ?? new Map() }));
  const apply = (edit: (put: (key: string, value: string) => void, del: (key: string) => void) => void): RegistryChange => {
    edit(
      (key, value) => store.applyPut(key, value, '0', String(++revision)),
      (key) => store.applyDelete(key, String(++revision)),
    );
    const change = store.commit(Date.now());
    publisher.markChanged(change.changedServices, change.changeSeenAt);
    return change;
  };
  return { store, publisher, published, apply };
}

async function initial(p: ReturnType<typeof pipeline>): Promise<Snapshot> {
  const done = p.publisher.publishInitial();
  await vi.runAllTimersAsync();
  await done;
  return p.publisher.current();
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Every resource of a snapshot as type → name → version, and its versions. */
function contents(snapshot: Snapshot) {
  return {
    version: snapshot.version,
    typeVersions: Object.fromEntries(snapshot.typeVersions),
    resources: Object.fromEntries([...snapshot.resources].map(([typeUrl, map]) => [typeUrl, Object.fromEntries([...map].map(([name, r]) => [name, r.version]))])),
  };
}

describe('SnapshotPublisher (incremental)', () => {
  it('keeps a scoped Envoy view up to date from the changes alone, equal to one built afresh', async () => {
    const p = pipeline({ services: 50 });
    await initial(p);
    const node = { id: 'e1', cluster: 'edge', userAgentName: 'envoy', metadata: { 'etcd-xds.depends-on': 'svc-1,svc-2,svc-3,svc-new' } };
    const key = p.publisher.enterView(node);
    const before = p.publisher.current(key);
    expect([...before.resources.get(TYPE_URL.cluster)!.keys()]).toEqual(['svc-1', 'svc-2', 'svc-3']);

    await vi.advanceTimersByTimeAsync(50);
    p.apply((put) => put('/services/svc-40/i-0', record('10.9.9.9'))); // outside the scope: the view is not touched
    await vi.advanceTimersByTimeAsync(0);
    expect(p.published.at(-1)!.views.has(key)).toBe(false);
    expect(p.publisher.current(key)).toBe(before);

    await vi.advanceTimersByTimeAsync(50);
    p.apply((put, del) => {
      put('/services/svc-1/i-0', record('10.8.8.8'));
      for (let i = 0; i < 3; i++) del(`/services/svc-2/i-${i}`);
    });
    await vi.advanceTimersByTimeAsync(0);
    expect([...p.published.at(-1)!.views.get(key)!.diff]).toEqual([[TYPE_URL.endpoint, new Set(['svc-1', 'svc-2'])]]);
    await vi.advanceTimersByTimeAsync(50);
    p.apply((put) => put('/services/svc-new/i-0', record('10.7.7.7'))); // a dependency registers: the view rescopes
    await vi.advanceTimersByTimeAsync(0);
    const incremental = p.publisher.current(key);
    expect([...incremental.resources.get(TYPE_URL.cluster)!.keys()]).toEqual(['svc-1', 'svc-2', 'svc-3', 'svc-new']);

    p.publisher.leaveView(key);
    expect(p.publisher.envoyViews().size).toBe(0);
    const again = p.publisher.enterView(node);
    expect(again).toBe(key);
    expect(contents(p.publisher.current(key))).toEqual(contents(incremental));
  });


  it('builds the first snapshot encoding each resource exactly once', async () => {
    const p = pipeline({ services: 300 });
    const first = await initial(p);
    expect(first.resources.get(TYPE_URL.cluster)!.size).toBe(300);
    expect(p.publisher.builder.encoded).toEqual({
      [TYPE_URL.cluster]: 300,
      [TYPE_URL.endpoint]: 300,
      [TYPE_URL.listener]: 300,
      [TYPE_URL.route]: 300,
    });
    expect(p.published).toHaveLength(1);
  });

  it('a one-instance change re-encodes exactly one ClusterLoadAssignment, reads no other service, and shares every other resource', async () => {
    const p = pipeline({ services: 200 });
    const before = await initial(p);
    const encodedBefore = { ...p.publisher.builder.encoded };
    const rebuiltBefore = p.publisher.stats.servicesRebuilt;

    await vi.advanceTimersByTimeAsync(50); // an isolated change, not part of a burst
    p.apply((put) => put('/services/svc-42/i-9', record('10.0.42.99')));
    await vi.advanceTimersByTimeAsync(0);

    const after = p.publisher.current();
    expect(after).not.toBe(before);
    expect(p.publisher.stats.servicesRebuilt - rebuiltBefore).toBe(1);
    const encoded = p.publisher.builder.encoded;
    expect(encoded[TYPE_URL.endpoint] - encodedBefore[TYPE_URL.endpoint]).toBe(1);
    expect(encoded[TYPE_URL.cluster] - encodedBefore[TYPE_URL.cluster]).toBe(0);
    expect(encoded[TYPE_URL.listener] - encodedBefore[TYPE_URL.listener]).toBe(0);
    expect(encoded[TYPE_URL.route] - encodedBefore[TYPE_URL.route]).toBe(0);

    const { diff } = p.published.at(-1)!;
    expect([...diff]).toEqual([[TYPE_URL.endpoint, new Set(['svc-42'])]]);
    // Every other resource is the same object, and untouched types are the same map.
    for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.listener, TYPE_URL.route]) expect(after.resources.get(typeUrl)).toBe(before.resources.get(typeUrl));
    const endpointsBefore = before.resources.get(TYPE_URL.endpoint)!;
    for (const [name, resource] of after.resources.get(TYPE_URL.endpoint)!) {
      if (name === 'svc-42') expect(resource).not.toBe(endpointsBefore.get(name));
      else expect(resource).toBe(endpointsBefore.get(name));
    }
    // The versions follow: the type's and the snapshot's change, the others stay.
    expect(after.typeVersions.get(TYPE_URL.endpoint)).not.toBe(before.typeVersions.get(TYPE_URL.endpoint));
    expect(after.typeVersions.get(TYPE_URL.cluster)).toBe(before.typeVersions.get(TYPE_URL.cluster));
    expect(after.version).not.toBe(before.version);
  });

  it('publishes an isolated change at once, without waiting for a quiet window', async () => {
    const p = pipeline({ services: 5 });
    await initial(p);
    await vi.advanceTimersByTimeAsync(50); // long after the last publish
    p.apply((put) => put('/services/svc-1/new', record('10.9.9.9')));
    await vi.advanceTimersByTimeAsync(0); // the next turn of the event loop, no timer
    expect(p.published).toHaveLength(2);
  });

  it('gives one publish for a burst of changes in one turn, and spaces publishes while changes keep arriving', async () => {
    const p = pipeline({ services: 50 });
    await initial(p);
    await vi.advanceTimersByTimeAsync(50);
    for (let s = 0; s < 20; s++) p.apply((put) => put(`/services/svc-${s}/burst`, record(`10.8.0.${s + 1}`)));
    await vi.advanceTimersByTimeAsync(0);
    expect(p.published).toHaveLength(2);
    expect(p.published[1]!.diff.get(TYPE_URL.endpoint)!.size).toBe(20);

    // Changes right after a publish wait for the spacing (10 ms) to pass, then go out together.
    for (let s = 20; s < 24; s++) {
      p.apply((put) => put(`/services/svc-${s}/burst`, record(`10.8.1.${s + 1}`)));
      await vi.advanceTimersByTimeAsync(2);
    }
    expect(p.published).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2);
    expect(p.published).toHaveLength(3);
    expect(p.published[2]!.diff.get(TYPE_URL.endpoint)!.size).toBe(4);
  });

  it('under steady churn publishes once per spacing, so no change waits much longer than --debounce', async () => {
    const p = pipeline({ services: 100 });
    await initial(p);
    const waits: number[] = [];
    let pendingSince: number[] = [];
    p.publisher.onSnapshot(() => {
      const now = Date.now();
      waits.push(...pendingSince.map((t) => now - t));
      pendingSince = [];
    });
    for (let step = 0; step < 60; step++) {
      p.apply((put) => put(`/services/svc-${step}/a`, record(`10.7.0.${step + 1}`)));
      pendingSince.push(Date.now());
      await vi.advanceTimersByTimeAsync(3);
    }
    await vi.advanceTimersByTimeAsync(20);
    expect(waits).toHaveLength(60); // every change went out
    expect(Math.max(...waits)).toBeLessThanOrEqual(12); // the spacing (10 ms) plus one step of the test's clock
    expect(p.published.length).toBeGreaterThan(10); // about one publish per 10 ms over 180 ms
    expect(p.published.length).toBeLessThan(30); // but never one per change
  });

  it('answers a first request for existing resources from the current snapshot while a batch is pending', async () => {
    const p = pipeline({ services: 10 });
    await initial(p);
    p.apply((put) => put('/services/svc-3/x', record('10.6.0.1'))); // a batch is now waiting
    const engine = new StreamEngine({ id: '1', protocol: 'sotw', api: 'ads', peer: 'test', observer: { sent() {}, acked() {}, nacked() {}, ignored() {} } });
    const responses = engine.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['svc-5'] }, p.publisher.current());
    expect(responses.map((r) => r.resources.map((x) => x.name))).toEqual([['svc-5']]);
  });

  it('keeps an emptied service with an empty assignment and an unchanged Cluster for the grace period, then removes it', async () => {
    const p = pipeline({ services: 3, serviceGcMs: 60_000 });
    p.apply((put) => put('/services/grpc-svc/1', record('10.5.0.1', { metadata: { protocol: 'grpc' } })));
    const first = await initial(p);
    const cluster = first.resources.get(TYPE_URL.cluster)!.get('grpc-svc')!;
    expect(JSON.stringify(cluster.json)).toContain('http2_protocol_options');

    await vi.advanceTimersByTimeAsync(50);
    p.apply((_put, del) => del('/services/grpc-svc/1'));
    await vi.advanceTimersByTimeAsync(0);
    const emptied = p.publisher.current();
    expect(emptied.resources.get(TYPE_URL.cluster)!.get('grpc-svc')).toBe(cluster);
    expect(emptied.resources.get(TYPE_URL.endpoint)!.get('grpc-svc')!.json).toMatchObject({ cluster_name: 'grpc-svc' });
    expect(emptied.resources.get(TYPE_URL.endpoint)!.get('grpc-svc')!.json.endpoints ?? []).toEqual([]);
    expect([...p.published.at(-1)!.diff.keys()]).toEqual([TYPE_URL.endpoint]);

    await vi.advanceTimersByTimeAsync(59_000);
    expect(p.publisher.current().resources.get(TYPE_URL.listener)!.has('grpc-svc')).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    const removed = p.publisher.current();
    for (const typeUrl of [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route]) expect(removed.resources.get(typeUrl)!.has('grpc-svc')).toBe(false);
    expect(removed.resources.get(TYPE_URL.cluster)!.size).toBe(3);
  });

  it('a service that returns within its grace period keeps its Cluster and gets its endpoints back', async () => {
    const p = pipeline({ services: 2, serviceGcMs: 60_000 });
    const first = await initial(p);
    const cluster = first.resources.get(TYPE_URL.cluster)!.get('svc-1')!;
    p.apply((_put, del) => ['i-0', 'i-1', 'i-2'].forEach((id) => del(`/services/svc-1/${id}`)));
    await vi.advanceTimersByTimeAsync(30_000);
    p.apply((put) => put('/services/svc-1/back', record('10.4.0.1')));
    await vi.advanceTimersByTimeAsync(40_000); // past the original grace period: it must not be removed now
    const now = p.publisher.current();
    expect(now.resources.get(TYPE_URL.cluster)!.get('svc-1')).toBe(cluster);
    expect(JSON.stringify(now.resources.get(TYPE_URL.endpoint)!.get('svc-1')!.json)).toContain('10.4.0.1');
  });

  it('gives replicas that saw the same registry in another order identical versions', async () => {
    const a = pipeline({ services: 20 });
    await initial(a);
    a.apply((put) => put('/services/late/1', record('10.3.0.1')));
    await vi.advanceTimersByTimeAsync(0);

    const store = new RegistryStore({ prefix: '/services/', logger });
    const keys = [...a.store.view().services.values()].flatMap((m) => [...m.values()]).reverse();
    keys.forEach((i, n) => store.applyPut(i.key, record(i.address), '0', String(n + 2)));
    store.commit(0);
    const b = new SnapshotPublisher({ registry: () => store.view(), verdictOf: () => undefined, logger });
    const done = b.publishInitial();
    await vi.runAllTimersAsync();
    await done;
    expect(b.current().version).toBe(a.publisher.current().version);
    expect([...b.current().typeVersions]).toEqual([...a.publisher.current().typeVersions]);
  });
});
