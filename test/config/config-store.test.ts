// The ConfigStore applies put/delete events of config keys: a good value serves, a bad one is listed with its key
// and reasons while the last good value keeps serving, and a re-list is swapped in whole.
import { describe, expect, it } from 'vitest';
import { ConfigStore, type ConfigLastGoodRecords } from '../../src/config/store.js';
import { CANARY_POLICY, FRONT_GATEWAY, FULL_POLICY } from './fixtures.js';

const PREFIX = '/etcd-xds/config/';
const POLICY_KEY = `${PREFIX}services/greeter`;
const GATEWAY_KEY = `${PREFIX}gateways/front`;

function store(): ConfigStore {
  return new ConfigStore({ prefix: PREFIX });
}

/** The records as the control plane's state keeps them, in memory: what another replica would have written. */
class RecordsInMemory implements ConfigLastGoodRecords {
  readonly records = new Map<string, { value: string; modRevision: string }>();
  lastGoodConfig(key: string) {
    return this.records.get(key);
  }
  keepLastGoodConfig(key: string, value: string, modRevision: string): void {
    if (!this.records.has(key)) this.records.set(key, { value, modRevision });
  }
  configSettled(key: string): void {
    this.records.delete(key);
  }
  configKeysRecorded(): Iterable<string> {
    return this.records.keys();
  }
}

describe('ConfigStore', () => {
  it('records the last good value of a key turned bad, and serves a recorded one it never saw itself', () => {
    const records = new RecordsInMemory();
    const first = new ConfigStore({ prefix: PREFIX, lastGood: records });
    first.applyPut(POLICY_KEY, JSON.stringify(CANARY_POLICY), '5');
    first.applyPut(POLICY_KEY, '{"requestTimeout": "soon"}', '6');
    expect(records.records.get(POLICY_KEY)).toEqual({ value: JSON.stringify(CANARY_POLICY), modRevision: '5' });

    const late = new ConfigStore({ prefix: PREFIX, lastGood: records });
    expect(late.replaceAll([{ key: POLICY_KEY, value: '{"requestTimeout": "soon"}', modRevision: '6' }], '6')).toEqual([{ kind: 'ServicePolicy', name: 'greeter' }]);
    expect(late.view().policies.get('greeter')).toMatchObject({ modRevision: '5', spec: CANARY_POLICY });
    expect(late.view().rejected.get(POLICY_KEY)?.keepsLastGood).toBe(true);

    late.applyPut(POLICY_KEY, JSON.stringify(FULL_POLICY), '7');
    expect(records.records.size).toBe(0);
  });

  it('forgets the records of keys a full listing no longer holds', () => {
    const records = new RecordsInMemory();
    records.keepLastGoodConfig(`${PREFIX}services/gone`, JSON.stringify(CANARY_POLICY), '3');
    const s = new ConfigStore({ prefix: PREFIX, lastGood: records });
    s.replaceAll([{ key: POLICY_KEY, value: JSON.stringify(CANARY_POLICY), modRevision: '4' }], '4');
    expect(records.records.size).toBe(0);
  });

  it('serves good values by kind and name, and reports what changed', () => {
    const s = store();
    expect(s.applyPut(POLICY_KEY, JSON.stringify(CANARY_POLICY), '5')).toEqual({ kind: 'ServicePolicy', name: 'greeter' });
    expect(s.applyPut(GATEWAY_KEY, Buffer.from(JSON.stringify(FRONT_GATEWAY)), '6')).toEqual({ kind: 'Gateway', name: 'front' });
    const view = s.view();
    expect(view.revision).toBe('6');
    expect(view.policies.get('greeter')).toMatchObject({ kind: 'ServicePolicy', key: POLICY_KEY, modRevision: '5', spec: { subsets: { key: 'version' } } });
    expect([...view.gateways.keys()]).toEqual(['front']);
    expect(view.rejected.size).toBe(0);
    expect(s.view()).toBe(view);
  });

  it('keeps the last good value when a bad one arrives, lists the rejection, and clears it when fixed', () => {
    const s = store();
    s.applyPut(POLICY_KEY, JSON.stringify(CANARY_POLICY), '5');
    const bad = { ...CANARY_POLICY, subsets: { key: 'version', split: [{ value: 'v1', weight: 90 }, { value: 'v2', weight: 20 }] } };
    expect(s.applyPut(POLICY_KEY, JSON.stringify(bad), '7')).toBeUndefined();
    let view = s.view();
    expect(view.policies.get('greeter')?.modRevision).toBe('5');
    expect(view.rejected.get(POLICY_KEY)).toMatchObject({
      kind: 'ServicePolicy',
      name: 'greeter',
      reason: 'subsets.split: weights add up to 110, must add up to 100 (or set totalWeight)',
      modRevision: '7',
      keepsLastGood: true,
    });
    expect(s.applyPut(POLICY_KEY, JSON.stringify(CANARY_POLICY), '8')).toEqual({ kind: 'ServicePolicy', name: 'greeter' });
    view = s.view();
    expect(view.rejected.size).toBe(0);
    expect(view.policies.get('greeter')?.modRevision).toBe('8');
  });

  it('rejects bad keys, non-JSON and oversized values without touching other objects', () => {
    const s = store();
    s.applyPut(GATEWAY_KEY, JSON.stringify(FRONT_GATEWAY), '2');
    s.applyPut(`${PREFIX}routes/x`, '{}', '3');
    s.applyPut(`${PREFIX}services/bad name`, '{}', '4');
    s.applyPut(`${PREFIX}services/greeter`, '{not json', '5');
    s.applyPut(`${PREFIX}services/big`, JSON.stringify({ hashHeader: 'x'.repeat(600_000) }), '6');
    const view = s.view();
    expect([...view.gateways.keys()]).toEqual(['front']);
    expect(view.policies.size).toBe(0);
    const reasons = Object.fromEntries([...view.rejected].map(([key, r]) => [key, r.reason]));
    expect(reasons).toEqual({
      [`${PREFIX}routes/x`]: `key "${PREFIX}routes/x": expected ${PREFIX}services/ or gateways/<name>`,
      [`${PREFIX}services/bad name`]: expect.stringMatching(/service name must be/),
      [`${PREFIX}services/big`]: expect.stringMatching(/^value is \d+ bytes, more than 524288$/),
      [`${PREFIX}services/greeter`]: expect.stringMatching(/^not JSON: /),
    });
    expect(view.rejected.get(`${PREFIX}services/greeter`)?.keepsLastGood).toBe(false);
    expect(view.rejected.get(`${PREFIX}services/big`)?.valuePreview.length).toBeLessThanOrEqual(201);
  });

  it('bounds the errors a rejection lists', () => {
    const s = store();
    const split = Array.from({ length: 40 }, () => ({ value: '', weight: 1 }));
    s.applyPut(POLICY_KEY, JSON.stringify({ subsets: { key: 'version', split } }), '3');
    const rejection = s.view().rejected.get(POLICY_KEY)!;
    expect(rejection.errors).toHaveLength(21);
    expect(rejection.errors.at(-1)?.message).toBe('… and 21 more errors');
  });

  it('deletes an object and its rejection', () => {
    const s = store();
    s.applyPut(POLICY_KEY, JSON.stringify(CANARY_POLICY), '5');
    s.applyPut(POLICY_KEY, '[]', '6');
    expect(s.applyDelete(POLICY_KEY, '7')).toEqual({ kind: 'ServicePolicy', name: 'greeter' });
    expect(s.applyDelete(POLICY_KEY, '8')).toBeUndefined();
    const view = s.view();
    expect(view.policies.size).toBe(0);
    expect(view.rejected.size).toBe(0);
    expect(view.revision).toBe('8');
  });

  it('replaces everything on a re-list, reusing unchanged values and naming the objects that changed', () => {
    const s = store();
    s.applyPut(POLICY_KEY, JSON.stringify(CANARY_POLICY), '5');
    s.applyPut(GATEWAY_KEY, JSON.stringify(FRONT_GATEWAY), '6');
    const before = s.view().policies.get('greeter');
    const changes = s.replaceAll(
      [
        { key: POLICY_KEY, value: JSON.stringify(CANARY_POLICY), modRevision: '5' },
        { key: `${PREFIX}services/billing`, value: JSON.stringify({ lbPolicy: 'RANDOM' }), modRevision: '9' },
      ],
      '10',
    );
    expect(changes).toEqual([
      { kind: 'Gateway', name: 'front' },
      { kind: 'ServicePolicy', name: 'billing' },
    ]);
    const view = s.view();
    expect(view.policies.get('greeter')).toBe(before);
    expect([...view.policies.keys()]).toEqual(['billing', 'greeter']);
    expect(view.gateways.size).toBe(0);
    expect(view.revision).toBe('10');
  });
});
