// What one client may send, enforced by the real server: beyond a limit the stream ends with INVALID_ARGUMENT
// (or RESOURCE_EXHAUSTED from gRPC for an oversized message), and the server keeps serving everyone else.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { XdsServer } from '../../src/xds/server.js';
import { AdsTestStream, NODE, fetchResources } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { SteppedSource } from './stepped-source.js';

describe('request limits', () => {
  const source = new SteppedSource(3);
  let server: XdsServer;
  let address: string;

  beforeAll(async () => {
    server = new XdsServer({ source, logger: silentLogger(), maxResourceNames: 10, maxReceiveMessageBytes: 64 * 1024 });
    address = await server.listen('127.0.0.1:0');
  });
  afterAll(async () => {
    await server?.close(100);
  });

  async function endedWith(stream: AdsTestStream): Promise<number | undefined> {
    await eventually(async () => stream.ended, (ended) => ended, 'the stream to end');
    return (stream.error as grpc.ServiceError | undefined)?.code;
  }

  async function stillServes(): Promise<void> {
    const stream = new AdsTestStream(address, 'sotw');
    try {
      stream.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
      expect((await stream.next()).resources).toHaveLength(3);
    } finally {
      stream.close();
    }
  }

  const names = (n: number) => Array.from({ length: n }, (_, i) => `svc-${i}`);

  it('refuses a request naming more resources than maxResourceNames (SotW, delta and Fetch)', async () => {
    const sotw = new AdsTestStream(address, 'sotw');
    sotw.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: names(11) });
    expect(await endedWith(sotw)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(sotw.error?.message).toMatch(/more than 10 resources/);
    sotw.close();

    const delta = new AdsTestStream(address, 'delta');
    delta.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names_subscribe: names(6), resource_names_unsubscribe: names(5) });
    expect(await endedWith(delta)).toBe(grpc.status.INVALID_ARGUMENT);
    delta.close();

    await expect(fetchResources(address, 'eds', { resource_names: names(11) })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((await fetchResources(address, 'eds', { resource_names: names(10) })).resources).toHaveLength(3);
    await stillServes();
  });

  it('refuses an oversized node id and ends the stream', async () => {
    const stream = new AdsTestStream(address, 'sotw');
    stream.send({ node: { ...NODE, id: 'x'.repeat(5000) }, type_url: TYPE_URL.cluster, resource_names: [] });
    expect(await endedWith(stream)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(stream.error?.message).toMatch(/node id is 5000 characters/);
    stream.close();
    await eventually(async () => server.streamInfos().length, (n) => n === 0, 'the refused stream to be gone');
    await stillServes();
  });

  it('ends a stream whose message exceeds maxReceiveMessageBytes', async () => {
    const stream = new AdsTestStream(address, 'sotw');
    stream.send({ node: { ...NODE, user_agent_name: 'u' }, type_url: TYPE_URL.cluster, resource_names: ['x'.repeat(1000)].concat(names(9)), version_info: 'v'.repeat(70_000) });
    expect(await endedWith(stream)).toBe(grpc.status.RESOURCE_EXHAUSTED);
    stream.close();
    await stillServes();
  });
});
