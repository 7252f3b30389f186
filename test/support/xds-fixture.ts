// Shared set-up for protocol tests: a real etcd seeded with registrations, the control plane over it, raw xDS
// streams that are closed afterwards, a `put` that registers an instance, and `published` to wait for its snapshot.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream } from './ads-client.js';
import type { ControlPlaneOptions } from '../../src/control-plane.js';
import { startTestControlPlane, type TestControlPlane } from './control-plane.js';
import { endpointsOf } from './eds-watch.js';
import { startTestEtcd, type TestEtcd } from './etcd.js';
import { eventually } from './eventually.js';

type Api = ConstructorParameters<typeof AdsTestStream>[2];

export interface XdsFixture {
  readonly etcd: TestEtcd;
  readonly client: Etcd3;
  readonly cp: TestControlPlane;
  /** Opens a raw stream to the control plane; closed in afterAll. */
  open(protocol: 'sotw' | 'delta', api?: Api): AdsTestStream;
  /** Registers `<service>/<id>` at `address:port` (native JSON). */
  put(service: string, id: string, port: number): Promise<void>;
  /**
   * Waits until the published snapshot's assignment of `service` has an endpoint on `port` (or, with present =
   * false, has none). Pushes go out as a snapshot is published, so by then every stream owed the change was sent it.
   */
  published(service: string, port: number, present?: boolean): Promise<void>;
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
    published: async (service, port, present = true) => {
      const hasPort = () => {
        const assignment = cp!.plane.publisher.current().resources.get(TYPE_URL.endpoint)?.get(service)?.json;
        return endpointsOf(assignment ?? {}).some((e) => e.port === port);
      };
      await eventually(() => hasPort() === present, `port ${port} ${present ? 'in' : 'gone from'} the published assignment of ${service}`);
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
