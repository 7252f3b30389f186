// A suite's own etcd: started in beforeAll, closed in afterAll (kept apart from etcd.ts, which the bench imports
// outside the test runner).
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';
import { startTestEtcd, type TestEtcd } from './etcd.js';

/** A test etcd and a client on it for the enclosing suite: started in beforeAll, closed in afterAll. */
export function useTestEtcd(): { readonly etcd: TestEtcd; readonly client: Etcd3 } {
  let etcd: TestEtcd | undefined;
  let client: Etcd3 | undefined;
  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
  });
  afterAll(async () => {
    client?.close();
    await etcd?.close();
  });
  return {
    get etcd() {
      return etcd!;
    },
    get client() {
      return client!;
    },
  };
}
