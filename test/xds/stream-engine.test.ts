// Protocol rules decided by the stream engine, checked without a network: one engine serves SotW and delta.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { StreamEngine, type StreamObserver } from '../../src/xds/stream.js';
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
  return { engine: new StreamEngine('s', protocol, fixedType ? 'eds' : 'ads', 'peer', fixedType, observer), events };
}

const names = (r: XdsResponse) => r.resources.map((x) => x.name);

describe('state-of-the-world', () => {
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
    // A subscription change is answered with every named resource again.
    const [changed] = e.handleRequest({ typeUrl: TYPE_URL.endpoint, nonce: pushed!.nonce, resourceNames: ['a', 'b', 'c'] }, second.snapshot);
    expect(names(changed!)).toEqual(['a', 'b']);
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
