// Protocol rules decided by the stream engine, checked without a network: one engine serves SotW and delta.
import { describe, expect, it } from 'vitest';
import { PUSH_ORDER, TYPE_URL } from '../../src/snapshot/types.js';
import { SharedResponses } from '../../src/xds/shared-responses.js';
import { FEATURE_RESOURCE_IN_SOTW, FEATURE_RESOURCE_TTL, StreamEngine, type StreamObserver } from '../../src/xds/stream.js';
import type { XdsResponse } from '../../src/xds/wire.js';
import { SnapshotSequence, instance } from '../support/snapshots.js';

function engine(protocol: 'sotw' | 'delta', fixedType?: (typeof TYPE_URL)[keyof typeof TYPE_URL]) {
  const events: string[] = [];
  const observer: StreamObserver = {
    sent: (r) => events.push(`sent ${r.typeUrl.split('.').pop()}`),
    acked: () => events.push('ack'),
    nacked: (_t, n) => events.push(`nack ${n.message}`),
    ignored: (reason) => events.push(`ignored ${reason}`),
  };
  return { engine: new StreamEngine({ id: 's', protocol, api: fixedType ? 'eds' : 'ads', peer: 'peer', observer }), events };
}

const names = (r: XdsResponse) => r.resources.map((x) => x.name);

describe('state-of-the-world', () => {
  it('wildcard streams sent the same map share one record of what they hold, and a stream narrowing its list copies it', () => {
    const seq = new SnapshotSequence();
    const { snapshot } = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const streams = [engine('sotw').engine, engine('sotw').engine];
    for (const e of streams) {
      const [cds] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, snapshot);
      expect(cds!.version).toBe(snapshot.typeVersions.get(TYPE_URL.cluster));
      e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: cds!.nonce, resourceNames: [] }, snapshot);
    }
    const [one, two] = streams.map((e) => e.subscription(TYPE_URL.cluster)!);
    expect(one!.sent).toBe(two!.sent);
    expect(one!.acked).toBe(two!.sent);
    // The first stream now names only `a`: its own record changes, the other stream's (and the shared one) does not.
    const [narrowed] = streams[0]!.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: streams[0]!.info().types.get(TYPE_URL.cluster)!.lastSentNonce!, resourceNames: ['a'] }, snapshot);
    expect(names(narrowed!)).toEqual(['a']);
    expect([...one!.sent.keys()]).toEqual(['a']);
    expect([...two!.sent.keys()]).toEqual(['a', 'b']);
    expect([...two!.acked.keys()]).toEqual(['a', 'b']);
  });

  it('answers a wildcard CDS request with the full set and a named EDS request with exactly the named', () => {
    const seq = new SnapshotSequence();
    const { snapshot } = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const { engine: e } = engine('sotw');
    const [cds] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, snapshot);
    expect(names(cds!)).toEqual(['a', 'b']);
    const [eds] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['b'] }, snapshot);
    expect(names(eds!)).toEqual(['b']);
  });

  it('does not re-send after an ACK, and ignores a stale nonce', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)] });
    const { engine: e, events } = engine('sotw');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a'] }, first.snapshot);
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r1!.nonce, resourceNames: ['a'] }, first.snapshot)).toEqual([]);
    const second = seq.next({ a: [instance('a', '1', 1), instance('a', '2', 2)] });
    const [r2] = e.handleSnapshot(second.snapshot, second.diff);
    // An answer to the older response (its nonce) changing the names is stale: ignored.
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r1!.nonce, resourceNames: ['a', 'x'] }, second.snapshot)).toEqual([]);
    expect(events).toContain(`ignored stale nonce ${r1!.nonce}`);
    expect(e.info().types.get(TYPE_URL.endpoint)!.subscribed).toEqual(['a']);
    expect(r2!.nonce).not.toBe(r1!.nonce);
  });

  it('records a NACK, keeps the last ACKed version and does not re-send the rejected one', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)] });
    const { engine: e } = engine('sotw');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a'] }, first.snapshot);
    e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r1!.nonce, resourceNames: ['a'] }, first.snapshot);
    const second = seq.next({ a: [instance('a', '1', 9)] });
    const [r2] = e.handleSnapshot(second.snapshot, second.diff);
    const again = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r2!.nonce, resourceNames: ['a'], errorMessage: 'bad port' }, second.snapshot);
    expect(again).toEqual([]);
    const info = e.info().types.get(TYPE_URL.endpoint)!;
    expect(info.status).toBe('NACKED');
    expect(info.lastNack).toMatchObject({ message: 'bad port', version: r2!.version, nonce: r2!.nonce });
    expect(info.lastAckedVersion).toBe(r1!.version);
  });

  it('remembers names that do not exist yet and sends them when they appear', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)] });
    const { engine: e } = engine('sotw');
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['later'] }, first.snapshot)).toEqual([]);
    const second = seq.next({ a: [instance('a', '1', 1)], later: [instance('later', '1', 5)] });
    const [pushed] = e.handleSnapshot(second.snapshot, second.diff);
    expect(names(pushed!)).toEqual(['later']);
  });

  it('pushes nothing to a stream that follows only an unchanged service', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const { engine: e } = engine('sotw');
    e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['b'] }, first.snapshot);
    const second = seq.next({ a: [instance('a', '1', 1), instance('a', '2', 3)], b: [instance('b', '1', 2)] });
    expect(e.handleSnapshot(second.snapshot, second.diff)).toEqual([]);
  });

  it('pushes only the changed assignment to a stream following several (EDS need not repeat unchanged ones)', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const { engine: e } = engine('sotw');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a', 'b'] }, first.snapshot);
    expect(names(r1!)).toEqual(['a', 'b']);
    e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r1!.nonce, resourceNames: ['a', 'b'] }, first.snapshot);
    const second = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2), instance('b', '2', 3)] });
    const [pushed] = e.handleSnapshot(second.snapshot, second.diff);
    expect(names(pushed!)).toEqual(['b']);
    expect(pushed!.version).not.toBe(r1!.version);
    // After its ACK the client is known to hold both, at their current versions.
    e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: pushed!.nonce, resourceNames: ['a', 'b'] }, second.snapshot);
    const acked = e.info().types.get(TYPE_URL.endpoint)!.acked;
    expect([...acked.keys()].sort()).toEqual(['a', 'b']);
    // Naming one more that does not exist yet changes nothing the client holds: no answer.
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: pushed!.nonce, resourceNames: ['a', 'b', 'c'] }, second.snapshot)).toEqual([]);
  });

  it('tells a CDS/LDS client when its set becomes empty, and answers an empty registry', () => {
    const seq = new SnapshotSequence();
    const empty = seq.next({});
    const { engine: e } = engine('sotw');
    const [initial] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, empty.snapshot);
    expect(initial!.resources).toEqual([]);
    e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: initial!.nonce, resourceNames: [] }, empty.snapshot);
    const one = seq.next({ a: [instance('a', '1', 1)] });
    const [added] = e.handleSnapshot(one.snapshot, one.diff);
    expect(names(added!)).toEqual(['a']);
    e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: added!.nonce, resourceNames: [] }, one.snapshot);
    const gone = seq.next({});
    const [removed] = e.handleSnapshot(gone.snapshot, gone.diff);
    expect(removed!.resources).toEqual([]);

    const { engine: named } = engine('sotw');
    const [listener] = named.handleRequest({ typeUrl: TYPE_URL.listener, nonce: '', resourceNames: ['a'] }, one.snapshot);
    expect(names(listener!)).toEqual(['a']);
    const [listenerGone] = named.handleSnapshot(gone.snapshot, gone.diff);
    expect(listenerGone!.resources).toEqual([]);
  });

  it('does not treat a repeated name as a subscription change (no answer on every ACK)', () => {
    const seq = new SnapshotSequence();
    const { snapshot } = seq.next({ a: [instance('a', '1', 1)] });
    const { engine: e } = engine('sotw');
    const [first] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a', 'a'] }, snapshot);
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: first!.nonce, resourceNames: ['a', 'a'] }, snapshot)).toEqual([]);
  });

  it('re-sends EDS after its cluster changed, so Envoy finishes warming, in CDS → EDS order', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)] });
    const { engine: e } = engine('sotw');
    const [cds] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, first.snapshot);
    e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: cds!.nonce, resourceNames: [] }, first.snapshot);
    const [eds] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a'] }, first.snapshot);
    e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: eds!.nonce, resourceNames: ['a'] }, first.snapshot);
    // Only the cluster changes (HTTP/2 turned on); the assignment keeps its content and version.
    const grpcCluster = seq.next({ a: [instance('a', '1', 1, { metadata: { protocol: 'grpc' } })] }).snapshot.resources.get(TYPE_URL.cluster)!;
    const clusterOnly = { ...first.snapshot, resources: new Map([...first.snapshot.resources, [TYPE_URL.cluster, grpcCluster]]) };
    const pushed = e.handleSnapshot(clusterOnly, new Map([[TYPE_URL.cluster, new Set(['a'])]]));
    expect(pushed.map((r) => r.typeUrl)).toEqual([TYPE_URL.cluster, TYPE_URL.endpoint]);
  });
});

describe('delta', () => {
  it('sends subscribed resources, only changed ones later, and unknown names as removed', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const { engine: e } = engine('delta');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', subscribe: ['a', 'b', 'ghost'], unsubscribe: [] }, first.snapshot);
    expect(names(r1!)).toEqual(['a', 'b']);
    expect(r1!.removed).toEqual(['ghost']);
    const second = seq.next({ a: [instance('a', '1', 1), instance('a', '2', 3)], b: [instance('b', '1', 2)] });
    const [r2] = e.handleSnapshot(second.snapshot, second.diff);
    expect(names(r2!)).toEqual(['a']);
    expect(r2!.removed).toEqual([]);
  });

  it('honours initial_resource_versions and re-sends an explicitly re-subscribed name', () => {
    const seq = new SnapshotSequence();
    const { snapshot } = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const versions = Object.fromEntries([...snapshot.resources.get(TYPE_URL.endpoint)!].map(([n, r]) => [n, r.version]));
    const { engine: e } = engine('delta');
    const responses = e.handleRequest(
      { typeUrl: TYPE_URL.endpoint, nonce: '', subscribe: ['a', 'b'], unsubscribe: [], initialVersions: { ...versions, b: 'old' } },
      snapshot,
    );
    expect(responses.map(names)).toEqual([['b']]);
    const [again] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: 'stale', subscribe: ['a'], unsubscribe: [] }, snapshot);
    expect(names(again!)).toEqual(['a']);
  });

  it('wildcard CDS gets every cluster, then additions and removals', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)] });
    const { engine: e } = engine('delta');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', subscribe: [], unsubscribe: [] }, first.snapshot);
    expect(names(r1!)).toEqual(['a']);
    const second = seq.next({ b: [instance('b', '1', 2)] });
    const [r2] = e.handleSnapshot(second.snapshot, second.diff);
    expect(names(r2!)).toEqual(['b']);
    expect(r2!.removed).toEqual(['a']);
  });
});

const TTL_NODE = {
  id: 'ttl-node',
  cluster: 'c',
  locality: {},
  userAgentName: 'test',
  userAgentVersion: '1',
  clientFeatures: [FEATURE_RESOURCE_TTL, FEATURE_RESOURCE_IN_SOTW],
};

function ttlEngine(protocol: 'sotw' | 'delta') {
  const observer: StreamObserver = { sent: () => undefined, acked: () => undefined, nacked: () => undefined, ignored: () => undefined };
  return new StreamEngine({ id: 't', protocol, api: 'ads', peer: 'peer', observer, resourceTtlMs: 10_000 });
}

describe('responses shared within a push', () => {
  it('streams owed the same response get one object (one nonce, one encoding); others and TTL streams get their own', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const follow = (e: StreamEngine, name: string) => {
      const [r] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: [name] }, first.snapshot);
      e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r!.nonce, resourceNames: [name] }, first.snapshot);
      return e;
    };
    const [one, two, other] = [follow(engine('sotw').engine, 'a'), follow(engine('sotw').engine, 'a'), follow(engine('sotw').engine, 'b')];
    const ttl = ttlEngine('sotw');
    ttl.handleRequest({ node: TTL_NODE, typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a'] }, first.snapshot);

    const second = seq.next({ a: [instance('a', '1', 1), instance('a', '2', 3)], b: [instance('b', '1', 2), instance('b', '2', 4)] });
    const shared = new SharedResponses();
    const [r1, r2, r3, r4] = [one, two, other, ttl].map((e) => e.handleSnapshot(second.snapshot, second.diff, shared)[0]!);
    expect(r2).toBe(r1);
    expect(r3).not.toBe(r1);
    expect(r4).not.toBe(r1);
    expect(r4!.ttlMs).toBe(10_000);
    expect(r1!.ttlMs).toBeUndefined();
    // Each stream tracks the shared nonce as its own: its ACK is recognised, and the next push (a new set of shared
    // responses) has a new nonce.
    expect(two.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r1!.nonce, resourceNames: ['a'] }, second.snapshot)).toEqual([]);
    expect(two.info().types.get(TYPE_URL.endpoint)!.status).toBe('SYNCED');
    const third = seq.next({ a: [instance('a', '3', 5)], b: [instance('b', '1', 2)] });
    const [next] = two.handleSnapshot(third.snapshot, third.diff, new SharedResponses());
    expect(next!.nonce).not.toBe(r1!.nonce);
  });
});

describe('protocol edges', () => {
  it('SotW: answers an unchanged subscription repeated with an empty nonce only once per stream; a new stream always', () => {
    const { snapshot } = new SnapshotSequence().next({ a: [instance('a', '1', 1)] });
    const { engine: e, events } = engine('sotw');
    expect(e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, snapshot)).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect(e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, snapshot)).toEqual([]);
    expect(events.filter((x) => x === 'ignored unchanged subscription repeated')).toHaveLength(3);
    // A reconnect is a new stream: its first request (empty nonce) is answered.
    const { engine: reconnected } = engine('sotw');
    expect(names(reconnected.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, snapshot)[0]!)).toEqual(['a']);
  });

  it('SotW: [] after an explicit ["*"] unsubscribes', () => {
    const seq = new SnapshotSequence();
    const first = seq.next({ a: [instance('a', '1', 1)] });
    const { engine: e } = engine('sotw');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: ['*'] }, first.snapshot);
    expect(names(r1!)).toEqual(['a']);
    const [emptied] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: r1!.nonce, resourceNames: [] }, first.snapshot);
    expect(emptied!.resources).toEqual([]);
    expect(e.info().types.get(TYPE_URL.cluster)!.wildcard).toBe(false);
    const second = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    expect(e.handleSnapshot(second.snapshot, second.diff)).toEqual([]);
  });

  it('SotW: shrinking an EDS subscription does not re-send the assignments still named', () => {
    const { snapshot } = new SnapshotSequence().next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const { engine: e } = engine('sotw');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a', 'b'] }, snapshot);
    e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r1!.nonce, resourceNames: ['a', 'b'] }, snapshot);
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: r1!.nonce, resourceNames: ['a'] }, snapshot)).toEqual([]);
    expect(e.info().types.get(TYPE_URL.endpoint)!.subscribed).toEqual(['a']);
  });

  it('delta: a wildcard stream unsubscribing an explicit name is answered (in resources, or removed when it does not exist)', () => {
    const { snapshot } = new SnapshotSequence().next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const { engine: e } = engine('delta');
    const [r1] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', subscribe: ['*', 'a', 'ghost'], unsubscribe: [] }, snapshot);
    expect(names(r1!)).toEqual(['a', 'b']);
    expect(r1!.removed).toEqual(['ghost']);
    e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: r1!.nonce, subscribe: [], unsubscribe: [] }, snapshot);
    const [kept] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: r1!.nonce, subscribe: [], unsubscribe: ['a'] }, snapshot);
    expect(names(kept!)).toEqual(['a']);
    expect(kept!.removed).toEqual([]);
    const [gone] = e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: kept!.nonce, subscribe: [], unsubscribe: ['ghost'] }, snapshot);
    expect(gone!.resources).toEqual([]);
    expect(gone!.removed).toEqual(['ghost']);
  });

  it('removes the Listener and Route before the Cluster and assignment they reference; adds in CDS → EDS → LDS → RDS', () => {
    for (const protocol of ['sotw', 'delta'] as const) {
      const seq = new SnapshotSequence();
      const both = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
      const { engine: e } = engine(protocol);
      const subscribe = (typeUrl: (typeof TYPE_URL)[keyof typeof TYPE_URL], wanted: string[]) => {
        const request = protocol === 'sotw' ? { typeUrl, nonce: '', resourceNames: wanted } : { typeUrl, nonce: '', subscribe: wanted, unsubscribe: [] };
        for (const r of e.handleRequest(request, both.snapshot)) e.handleRequest({ ...request, nonce: r.nonce }, both.snapshot);
      };
      subscribe(TYPE_URL.cluster, []);
      subscribe(TYPE_URL.endpoint, ['a', 'b']);
      subscribe(TYPE_URL.listener, []);
      subscribe(TYPE_URL.route, ['a', 'b']);
      const onlyA = seq.next({ a: [instance('a', '1', 1)] });
      const removal = e.handleSnapshot(onlyA.snapshot, onlyA.diff).map((r) => r.typeUrl);
      // SotW expresses removal only in the full-state types; delta in every type.
      const expected = protocol === 'sotw' ? [TYPE_URL.listener, TYPE_URL.cluster] : [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint];
      expect({ protocol, removal }).toEqual({ protocol, removal: expected });
      const again = seq.next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
      const addition = e.handleSnapshot(again.snapshot, again.diff).map((r) => r.typeUrl);
      expect({ protocol, addition }).toEqual({ protocol, addition: [...PUSH_ORDER] });
    }
  });

  it('TTL heartbeats after a NACK carry what the client ACKed (SotW version_info, delta per-resource version)', () => {
    for (const protocol of ['sotw', 'delta'] as const) {
      const seq = new SnapshotSequence();
      const first = seq.next({ a: [instance('a', '1', 1)] });
      const e = ttlEngine(protocol);
      const request = protocol === 'sotw' ? { typeUrl: TYPE_URL.cluster, resourceNames: [] } : { typeUrl: TYPE_URL.cluster, subscribe: [], unsubscribe: [] };
      const [r1] = e.handleRequest({ ...request, node: TTL_NODE, nonce: '' }, first.snapshot);
      e.handleRequest({ ...request, nonce: r1!.nonce }, first.snapshot);
      const ackedVersion = r1!.resources[0]!.version;
      // The cluster changes (HTTP/2 turned on) and the client rejects the new version.
      const second = seq.next({ a: [instance('a', '1', 1, { metadata: { protocol: 'grpc' } })] });
      const [r2] = e.handleSnapshot(second.snapshot, second.diff);
      expect(r2!.resources[0]!.version).not.toBe(ackedVersion);
      e.handleRequest({ ...request, nonce: r2!.nonce, errorMessage: 'rejected' }, second.snapshot);
      const [beat] = e.heartbeat(second.snapshot);
      expect(beat!.heartbeat).toEqual([{ name: 'a', version: ackedVersion }]);
      if (protocol === 'sotw') expect(beat!.version).toBe(r1!.version);
    }
  });

  it('while held (the client does not read), requests only update the subscription; catching up answers the latest', () => {
    const { snapshot } = new SnapshotSequence().next({ a: [instance('a', '1', 1)], b: [instance('b', '1', 2)] });
    const { engine: e } = engine('sotw');
    expect(e.handleRequest({ typeUrl: TYPE_URL.cluster, nonce: '', resourceNames: [] }, snapshot, true)).toEqual([]);
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a'] }, snapshot, true)).toEqual([]);
    expect(e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: '', resourceNames: ['a', 'b'] }, snapshot, true)).toEqual([]);
    const caughtUp = e.catchUp(snapshot);
    expect(caughtUp.map((r) => [r.typeUrl, names(r)])).toEqual([
      [TYPE_URL.cluster, ['a', 'b']],
      [TYPE_URL.endpoint, ['a', 'b']],
    ]);
    expect(e.catchUp(snapshot)).toEqual([]);
  });
});
