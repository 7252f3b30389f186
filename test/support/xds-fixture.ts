// Shared set-up for protocol tests: a real etcd seeded with registrations, the control plane over it, raw xDS
// streams that are closed afterwards, and a `put` that registers an instance.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';
import { AdsTestStream } from './ads-client.js';
import type { ControlPlaneOptions } from '../../src/control-plane.js';
import { startTestControlPlane, type TestControlPlane } from './control-plane.js';
import { startTestEtcd, type TestEtcd } from './etcd.js';

type Api = ConstructorParameters<typeof AdsTestStream>[2];

export interface XdsFixture {
  readonly etcd: TestEtcd;
  readonly client: Etcd3;
  readonly cp: TestControlPlane;
  /** Opens a raw stream to the control plane; closed in afterAll. */
  open(protocol: 'sotw' | 'delta', api?: Api): AdsTestStream;
  /** Registers `<service>/<id>` at `address:port` (native JSON). */
  put(service: string, id: string, port: number): Promise<void>;
}

/**
 * Registers beforeAll/afterAll hooks; `seed` lists [service, id, port] registered before the control plane starts,
 * `options` override the control plane's.
 */
export function useXdsFixture(address: string, seed: Array<[string, string, number]>, options: Partial<ControlPlaneOptions> = {}): XdsFixture {
  const streams: AdsTestStream[] = [];
  let etcd: TestEtcd | undefined;
  let client: Etcd3 | undefined;
  let cp: TestControlPlane | undefined;
  const fixture: XdsFixture = {
    get etcd() {
      return etcd!;
    },
    get client() {
      return client!;
    },
    get cp() {
      return cp!;
    },
    open(protocol, api = 'ads') {
      const stream = new AdsTestStream(cp!.xdsAddress, protocol, api);
      streams.push(stream);
      return stream;
    },
    put: async (service, id, port) => {
      await client!.put(`/services/${service}/${id}`).value(JSON.stringify({ address, port }));
    },
  };
  beforeAll(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    for (const [service, id, port] of seed) await fixture.put(service, id, port);
    cp = await startTestControlPlane(etcd, options);
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await cp?.plane.close();
    client?.close();
    await etcd?.close();
  });
  return fixture;
}
