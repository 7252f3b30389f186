// A client that never reads and keeps sending requests must not make the server frame and queue a response per
// request: a raw HTTP/2 client (no gRPC library, so nothing reads on its behalf) against the real server.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { DEFAULT_MAX_REPLIES_IN_FLIGHT, XdsServer } from '../../src/xds/server.js';
import type { StreamRef } from '../../src/xds/types.js';
import { eventually } from '../support/eventually.js';
import { SteppedSource } from './stepped-source.js';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const REQUESTS = 3000;
/** At most one batch (one response per type) beyond the replies-in-flight limit. */
const BOUND = DEFAULT_MAX_REPLIES_IN_FLIGHT + 4;

function frame(request: Record<string, unknown>): Buffer {
  const type = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  const message = type.encode(type.fromObject(request)).finish();
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** An ADS stream over raw HTTP/2 that never reads what the server sends. */
function neverReadingStream(address: string): { session: http2.ClientHttp2Session; send: (request: Record<string, unknown>) => void } {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  stream.pause();
  return { session, send: (request) => void stream.write(frame(request)) };
}

describe('a client that never reads', () => {
  const source = new SteppedSource(1500);
  let server: XdsServer;
  let address: string;
  const framed = new Map<string, number>();
  let mostFramed = 0;

  beforeAll(async () => {
    server = new XdsServer({ source, logger: silentLogger() });
    server.on('responseSent', (stream: StreamRef) => {
      const count = (framed.get(stream.id) ?? 0) + 1;
      framed.set(stream.id, count);
      mostFramed = Math.max(mostFramed, count);
    });
    address = await server.listen('127.0.0.1:0');
  });
  afterAll(async () => {
    await server?.close(100);
  });

  /** Waits until the server has read every request of the stream, or stopped reading it; returns its counters. */
  async function settled(id: string) {
    return eventually(
      async () => server.streamFlows().find((f) => f.id === id),
      (flow) => flow !== undefined && (flow.requestsRead === REQUESTS || flow.readingPaused),
      'the server to read every request or stop reading',
    );
  }

  it('is answered once for 3,000 identical wildcard-CDS requests with an empty nonce', async () => {
    const client = neverReadingStream(address);
    try {
      const node = { id: 'never-reads', cluster: 'c' };
      for (let i = 0; i < REQUESTS; i++) client.send({ node, type_url: TYPE_URL.cluster, resource_names: [] });
      const id = (await eventually(async () => server.streamFlows()[0], (f) => f !== undefined, 'the stream to open'))!.id;
      const flow = await settled(id);
      expect(mostFramed).toBeLessThanOrEqual(BOUND);
      expect(flow!.responsesWritten).toBe(framed.get(id));
      expect(framed.get(id)).toBe(1);
    } finally {
      client.session.destroy();
    }
    await eventually(async () => server.streamFlows().length, (n) => n === 0, 'the stream to close');
  });

  it('stops being read, and answered, when every request changes its subscription; pushes wait too', async () => {
    const client = neverReadingStream(address);
    try {
      // Each request names a different set, so each is owed a full CDS answer (~1,500 clusters).
      for (let i = 0; i < REQUESTS; i++) client.send({ node: { id: 'changes-its-mind' }, type_url: TYPE_URL.cluster, resource_names: ['*', `extra-${i}`] });
      const id = (await eventually(async () => server.streamFlows()[0], (f) => f !== undefined, 'the stream to open'))!.id;
      const flow = await settled(id);
      expect(flow!.readingPaused).toBe(true);
      expect(flow!.requestsRead).toBeLessThan(REQUESTS);
      const before = framed.get(id) ?? 0;
      expect(before).toBeLessThanOrEqual(BOUND);
      for (let i = 0; i < 20; i++) source.addService(`pushed-${i}`);
      expect(framed.get(id) ?? 0).toBe(before);
      expect(mostFramed).toBeLessThanOrEqual(BOUND);
    } finally {
      client.session.destroy();
    }
    // A paused stream still closes when its client goes away.
    await eventually(async () => server.streamFlows().length, (n) => n === 0, 'the paused stream to close');
  });
});
