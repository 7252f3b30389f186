// What one stream wants and holds of one type: how requests change it and what each answer records.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { Subscription } from '../../src/xds/subscription.js';
import { SnapshotSequence, instance } from '../support/snapshots.js';

const CDS = TYPE_URL.cluster;
const EDS = TYPE_URL.endpoint;

function resources(services: string[]) {
  const seq = new SnapshotSequence();
  const { snapshot } = seq.next(Object.fromEntries(services.map((s, i) => [s, [instance(s, '1', 1000 + i)]])));
  return { cds: snapshot.resources.get(CDS)!, eds: snapshot.resources.get(EDS)! };
}

function written(sub: Subscription, nonce: string, holds: Record<string, string>, removed: string[] = []) {
  sub.recordWritten({ nonce, version: `v-${nonce}`, at: Date.now(), holds: new Map(Object.entries(holds)), removed }, sub.protocol === 'sotw');
}

describe('state-of-the-world names', () => {
  it('reports a change only when the set of names changes (duplicates and order do not count)', () => {
    const sub = new Subscription(EDS, 'sotw');
    expect(sub.setSotwNames(['a', 'b'])).toBe(true);
    expect(sub.setSotwNames(['b', 'a', 'a'])).toBe(false);
    expect(sub.setSotwNames(['a'])).toBe(true);
    expect(sub.subscribedNames()).toEqual(['a']);
  });

  it('owes an answer to the first request and to a changed CDS/LDS set, not to a changed EDS/RDS set', () => {
    const eds = new Subscription(EDS, 'sotw');
    eds.setSotwNames(['a']);
    expect(eds.answerOwed).toBe(true);
    eds.recordSotwSent([]);
    eds.setSotwNames(['a', 'b']);
    expect(eds.answerOwed).toBe(false);
    const cds = new Subscription(CDS, 'sotw');
    cds.setSotwNames([]);
    cds.recordSotwSent([]);
    cds.setSotwNames(['a']);
    expect(cds.answerOwed).toBe(true);
  });

  it('keeps the legacy wildcard while the empty list repeats, and reads [] after any explicit name as "none"', () => {
    const legacy = new Subscription(CDS, 'sotw');
    legacy.setSotwNames([]);
    expect(legacy.setSotwNames([])).toBe(false);
    expect(legacy.wildcard).toBe(true);

    const explicit = new Subscription(CDS, 'sotw');
    explicit.setSotwNames(['*']);
    expect(explicit.wildcard).toBe(true);
    expect(explicit.setSotwNames([])).toBe(true);
    expect(explicit.wildcard).toBe(false);

    const named = new Subscription(CDS, 'sotw');
    named.setSotwNames([]);
    named.setSotwNames(['a']);
    named.setSotwNames([]);
    expect(named.wildcard).toBe(false);
    // An empty first EDS request names nothing: EDS has no legacy wildcard.
    const eds = new Subscription(EDS, 'sotw');
    eds.setSotwNames([]);
    expect(eds.wildcard).toBe(false);
  });

  it('forgets what the client held and ACKed of names it no longer wants', () => {
    const { eds } = resources(['a', 'b']);
    const sub = new Subscription(EDS, 'sotw');
    sub.setSotwNames(['a', 'b']);
    const content = sub.current(eds);
    sub.recordSotwSent(content);
    written(sub, '1', Object.fromEntries(content.map((r) => [r.name, r.version])));
    sub.recordAnswer('1', undefined);
    sub.setSotwNames(['b']);
    expect([...sub.sent.keys()]).toEqual(['b']);
    expect([...sub.acked.keys()]).toEqual(['b']);
    expect(sub.sotwDiffers(sub.current(eds))).toBe(false);
  });

  it('keeps what a response in flight holds, and what was ACKed, when sent versions change after it', () => {
    const { eds } = resources(['a', 'b']);
    const sub = new Subscription(EDS, 'sotw');
    sub.setSotwNames(['a', 'b']);
    sub.recordSotwSent(sub.current(eds));
    const holds = sub.sentSoFar();
    sub.recordWritten({ nonce: '1', version: 'v-1', at: Date.now(), holds, removed: [] }, true);
    // A cluster changed: its assignment is owed again, while the response in flight still carries it.
    sub.forget('a');
    expect([...sub.sent.keys()]).toEqual(['b']);
    sub.recordAnswer('1', undefined);
    expect([...sub.acked.keys()].sort()).toEqual(['a', 'b']);
    sub.setSotwNames(['b']);
    expect([...sub.acked.keys()]).toEqual(['b']);
    expect([...holds.keys()].sort()).toEqual(['a', 'b']);
  });
});

describe('delta subscribe and unsubscribe', () => {
  it('starts from initial_resource_versions and re-owes an explicitly re-subscribed name', () => {
    const { eds } = resources(['a', 'b']);
    const sub = new Subscription(EDS, 'delta');
    sub.applyDelta(['a', 'b'], [], { a: eds.get('a')!.version, b: 'old' });
    expect(sub.deltaOwed(eds).updated.map((r) => r.name)).toEqual(['b']);
    sub.recordDeltaSent([eds.get('b')!], []);
    expect(sub.deltaOwed(eds).updated).toEqual([]);
    sub.applyDelta(['a'], [], undefined);
    expect(sub.deltaOwed(eds).updated.map((r) => r.name)).toEqual(['a']);
  });

  it('tells a named subscription that a name does not exist once', () => {
    const { eds } = resources(['a']);
    const sub = new Subscription(EDS, 'delta');
    sub.applyDelta(['a', 'ghost'], [], undefined);
    const owed = sub.deltaOwed(eds);
    expect(owed.removed).toEqual(['ghost']);
    sub.recordDeltaSent(owed.updated, owed.removed);
    expect(sub.deltaOwed(eds)).toEqual({ updated: [], removed: [] });
  });

  it('owes a wildcard stream an answer for an explicit name it unsubscribes', () => {
    const { cds } = resources(['a', 'b']);
    const sub = new Subscription(CDS, 'delta');
    sub.applyDelta(['*', 'a', 'ghost'], [], undefined);
    const first = sub.deltaOwed(cds);
    sub.recordDeltaSent(first.updated, first.removed);
    sub.applyDelta([], ['a', 'ghost'], undefined);
    const owed = sub.deltaOwed(cds);
    expect(owed.updated.map((r) => r.name)).toEqual(['a']);
    expect(owed.removed).toEqual(['ghost']);
    sub.recordDeltaSent(owed.updated, owed.removed);
    expect(sub.deltaOwed(cds)).toEqual({ updated: [], removed: [] });
  });
});

describe('answers: acked, rejected and each resource status', () => {
  it('records an ACK as what the client holds, and a NACK as rejected without losing the ACKed version', () => {
    const sub = new Subscription(EDS, 'delta');
    sub.applyDelta(['a', 'b'], [], undefined);
    written(sub, '1', { a: 'a1', b: 'b1' });
    expect(sub.recordAnswer('1', undefined)).toEqual({ ack: true });
    expect(Object.fromEntries(sub.acked)).toEqual({ a: 'a1', b: 'b1' });
    written(sub, '2', { a: 'a2' });
    const outcome = sub.recordAnswer('2', 'bad port');
    expect(outcome).toMatchObject({ ack: false, nack: { message: 'bad port', version: 'v-2', nonce: '2' } });
    expect(Object.fromEntries(sub.acked)).toEqual({ a: 'a1', b: 'b1' });
    expect(Object.fromEntries(sub.rejected)).toEqual({ a: 'a2' });
    expect(sub.latestOutcome).toBe('nack');
    // A later ACK of that resource clears the rejection.
    written(sub, '3', { a: 'a3' });
    sub.recordAnswer('3', undefined);
    expect(sub.rejected.size).toBe(0);
    expect(sub.acked.get('a')).toBe('a3');
  });

  it('treats responses written before the answered one as processed, and ignores unknown nonces', () => {
    const sub = new Subscription(EDS, 'delta');
    sub.applyDelta(['a', 'b'], [], undefined);
    written(sub, '1', { a: 'a1' });
    written(sub, '2', { b: 'b1' });
    expect(sub.recordAnswer('nope', undefined)).toBeUndefined();
    sub.recordAnswer('2', undefined);
    expect(Object.fromEntries(sub.acked)).toEqual({ a: 'a1', b: 'b1' });
    expect(sub.settled()).toBe(true);
  });

  it('SotW: an ACK replaces the whole held set', () => {
    const sub = new Subscription(CDS, 'sotw');
    sub.setSotwNames([]);
    written(sub, '1', { a: 'a1', b: 'b1' });
    sub.recordAnswer('1', undefined);
    written(sub, '2', { b: 'b1' });
    expect(sub.inFlight.size).toBe(1);
    sub.recordAnswer('2', undefined);
    expect(Object.fromEntries(sub.acked)).toEqual({ b: 'b1' });
  });

  it('reports ACKED, REQUESTED, NACKED and DOES_NOT_EXIST per resource', () => {
    const { eds } = resources(['a', 'b', 'c']);
    const version = (name: string) => eds.get(name)!.version;
    const sub = new Subscription(EDS, 'delta');
    sub.applyDelta(['a', 'b', 'c', 'ghost'], [], undefined);
    const owed = sub.deltaOwed(eds);
    sub.recordDeltaSent(owed.updated, owed.removed);
    written(sub, '1', { a: version('a'), b: version('b') });
    sub.recordAnswer('1', undefined);
    written(sub, '2', { b: 'b-next' });
    sub.recordAnswer('2', 'rejected b');
    written(sub, '3', { c: version('c') });
    expect(sub.resourceStatus('a', eds)).toEqual({ status: 'ACKED', ackedVersion: version('a') });
    expect(sub.resourceStatus('b', eds)).toEqual({ status: 'NACKED', ackedVersion: version('b'), rejectedVersion: 'b-next' });
    expect(sub.resourceStatus('c', eds)).toEqual({ status: 'REQUESTED' });
    expect(sub.resourceStatus('ghost', eds)).toEqual({ status: 'DOES_NOT_EXIST' });
    expect(sub.namesInScope(eds)).toEqual(['a', 'b', 'c', 'ghost']);
  });
});
