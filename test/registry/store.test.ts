import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RegistryStore } from '../../src/registry/store.js';

interface LogLine {
  level: number;
  msg: string;
  key?: string;
  reason?: string;
  modRevision?: string;
}

function storeWithLog(): { store: RegistryStore; warnings: LogLine[] } {
  const warnings: LogLine[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as LogLine) });
  return { store: new RegistryStore({ prefix: '/services/', logger }), warnings };
}

const good = (ip: string, port = 8080): string => JSON.stringify({ address: ip, port });

describe('RegistryStore', () => {
  it('groups instances by service, sorted, and removes them on delete', () => {
    const { store } = storeWithLog();
    store.applyPut('/services/b/2', good('10.0.0.2'), '0', '5');
    store.applyPut('/services/b/1', good('10.0.0.1'), '0', '6');
    store.applyPut('/services/a/1', '10.0.1.1:80', '0', '7');
    let view = store.commit(0).view;
    expect([...view.services.keys()]).toEqual(['a', 'b']);
    expect([...view.services.get('b')!.keys()]).toEqual(['1', '2']);
    expect(view.revision).toBe('7');

    expect(store.applyDelete('/services/a/1', '8')).toBe(true);
    view = store.commit(0).view;
    expect(view.services.has('a')).toBe(false);
    expect(view.revision).toBe('8');
    expect(store.applyDelete('/services/a/unknown', '9')).toBe(false);
  });

  it('rejects a bad value without touching other instances, and logs it once with key and reason', () => {
    const { store, warnings } = storeWithLog();
    store.applyPut('/services/a/1', good('10.0.0.1'), '0', '2');
    store.applyPut('/services/a/2', '{"address":"10.0.0.2","port":0}', '0', '3');
    const view = store.commit(0).view;
    expect([...view.services.get('a')!.keys()]).toEqual(['1']);
    expect(view.rejected.get('/services/a/2')).toMatchObject({
      service: 'a',
      reason: 'port must be an integer from 1 to 65535, got 0',
      modRevision: '3',
      keepsLastGood: false,
      valuePreview: '{"address":"10.0.0.2","port":0}',
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ key: '/services/a/2', reason: 'port must be an integer from 1 to 65535, got 0' });
  });

  it('keeps the last good value of a key that receives a bad one, until a good value or a delete', () => {
    const { store } = storeWithLog();
    store.applyPut('/services/a/1', good('10.0.0.1'), '0', '2');
    store.applyPut('/services/a/1', 'garbage', '0', '3');
    let view = store.commit(0).view;
    expect(view.services.get('a')!.get('1')).toMatchObject({ address: '10.0.0.1', modRevision: '2' });
    expect(view.rejected.get('/services/a/1')).toMatchObject({ keepsLastGood: true, modRevision: '3' });

    store.applyPut('/services/a/1', good('10.0.0.9'), '0', '4');
    view = store.commit(0).view;
    expect(view.services.get('a')!.get('1')).toMatchObject({ address: '10.0.0.9', modRevision: '4' });
    expect(view.rejected.size).toBe(0);

    store.applyPut('/services/a/1', 'garbage', '0', '5');
    store.applyDelete('/services/a/1', '6');
    view = store.commit(0).view;
    expect(view.services.size).toBe(0);
    expect(view.rejected.size).toBe(0);
  });

  it('rejects keys with an invalid service name or no instance id', () => {
    const { store } = storeWithLog();
    store.applyPut('/services/bad name/1', good('10.0.0.1'), '0', '2');
    store.applyPut('/services/orphan', good('10.0.0.1'), '0', '3');
    const view = store.commit(0).view;
    expect(view.services.size).toBe(0);
    expect(view.rejected.get('/services/bad name/1')?.reason).toMatch(/service name "bad name"/);
    expect(view.rejected.get('/services/orphan')).toMatchObject({ service: 'orphan', keepsLastGood: false });
  });

  it('returns the same view object until something changes, and keeps unchanged services identical', () => {
    const { store } = storeWithLog();
    store.applyPut('/services/a/1', good('10.0.0.1'), '0', '2');
    store.applyPut('/services/b/1', good('10.0.0.2'), '0', '3');
    const first = store.commit(0).view;
    expect(store.commit(0).view).toBe(first);
    store.applyPut('/services/b/2', good('10.0.0.3'), '0', '4');
    const second = store.commit(0).view;
    expect(second).not.toBe(first);
    expect(second.services.get('a')).toBe(first.services.get('a'));
    expect(second.services.get('b')).not.toBe(first.services.get('b'));
    expect(first.services.get('b')!.size).toBe(1); // views handed out earlier never change
  });

  it('replaceAll swaps in a new state, keeping last good values and not re-logging known rejections', () => {
    const { store, warnings } = storeWithLog();
    store.applyPut('/services/a/1', good('10.0.0.1'), '0', '2');
    store.applyPut('/services/a/2', 'bad', '0', '3');
    store.applyPut('/services/b/1', good('10.0.0.5'), '0', '4');
    const before = store.commit(0).view;
    expect(warnings).toHaveLength(1);

    store.replaceAll(
      [
        { key: '/services/a/1', value: good('10.0.0.1'), lease: '0', modRevision: '2' }, // unchanged
        { key: '/services/a/2', value: 'bad', lease: '0', modRevision: '3' }, // same rejection
        { key: '/services/b/1', value: 'worse', lease: '0', modRevision: '9' }, // good → bad while away
        { key: '/services/c/1', value: good('10.0.0.7'), lease: '0', modRevision: '10' },
      ],
      '12',
    );
    const after = store.commit(0).view;
    expect(after.revision).toBe('12');
    expect(after.services.get('a')).toBe(before.services.get('a'));
    expect(after.services.get('b')!.get('1')).toMatchObject({ address: '10.0.0.5', modRevision: '4' });
    expect(after.rejected.get('/services/b/1')).toMatchObject({ keepsLastGood: true, modRevision: '9' });
    expect(after.services.get('c')!.get('1')?.address).toBe('10.0.0.7');
    expect(warnings.map((w) => w.key)).toEqual(['/services/a/2', '/services/b/1']);

    store.replaceAll([{ key: '/services/c/1', value: good('10.0.0.7'), lease: '0', modRevision: '10' }], '13');
    const last = store.commit(0).view;
    expect([...last.services.keys()]).toEqual(['c']);
    expect(last.rejected.size).toBe(0);
    expect(after.services.has('a')).toBe(true); // the earlier view is untouched
  });

  it('reports exactly the services an event batch touched, and a re-list marks only services that differ', () => {
    const { store } = storeWithLog();
    for (let s = 0; s < 50; s++) store.applyPut(`/services/s${s}/1`, good(`10.0.1.${s}`), '0', String(s + 2));
    expect(store.commit(0).changedServices.size).toBe(50);
    store.applyPut('/services/s7/2', good('10.0.2.1'), '0', '60');
    store.applyDelete('/services/s9/1', '61');
    store.applyPut('/services/s9/x', 'garbage', '0', '62'); // a rejection alone changes no instance set
    const change = store.commit(0);
    expect([...change.changedServices].sort()).toEqual(['s7', 's9']);
    expect(change.rejectedChanged).toBe(true);
    expect(change.view.services.has('s9')).toBe(false);
    expect(store.commit(0).changedServices.size).toBe(0);

    const before = store.commit(0).view;
    const relist = [...before.services.values()].flatMap((instances) =>
      [...instances.values()].map((i) => ({ key: i.key, value: good(i.address), lease: '0', modRevision: i.modRevision })),
    );
    relist.push({ key: '/services/s3/1', value: good('10.0.9.9'), lease: '0', modRevision: '70' }); // changed while away
    store.replaceAll(relist.filter((kv) => kv.key !== '/services/s4/1'), '71'); // s4 deleted while away
    const resync = store.commit(0);
    expect([...resync.changedServices].sort()).toEqual(['s3', 's4']);
    expect(resync.view.services.get('s5')).toBe(before.services.get('s5'));
  });
});
