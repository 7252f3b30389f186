import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { startTestEtcd, type TestEtcd } from './etcd.js';

describe('test etcd harness', () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await startTestEtcd();
  });
  afterAll(async () => {
    await etcd?.close();
  });

  it('serves a real etcd that keeps data across stop/start', async () => {
    const client = new Etcd3({ hosts: etcd.endpoint });
    await client.put('/harness/k').value('v1');
    expect(await client.get('/harness/k').string()).toBe('v1');
    client.close();
    if (!etcd.controllable) return;
    await etcd.stop();
    await etcd.start();
    const again = new Etcd3({ hosts: etcd.endpoint });
    expect(await again.get('/harness/k').string()).toBe('v1');
    again.close();
  });
});
