// A client that stops reading does not make the server queue every push: once its buffer is full, pushes are held
// back, and when it reads again it gets the latest state in one response per type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { XdsServer } from '../../src/xds/server.js';
import { AdsTestStream, NODE, type ReceivedResponse } from '../support/ads-client.js';
import { eventually } from '../support/eventually.js';
import { SteppedSource } from './stepped-source.js';

describe('backpressure', () => {
  const source = new SteppedSource(1500);
  let server: XdsServer;
  let address: string;

  beforeAll(async () => {
    server = new XdsServer({ source, logger: silentLogger() });
    address = await server.listen('127.0.0.1:0');
  });
  afterAll(async () => {
    await server?.close(100);
  });

  it('holds pushes for a client that stopped reading and sends the latest state when it resumes', async () => {
    const stream = new AdsTestStream(address, 'sotw');
    try {
      stream.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
      const first = await stream.next();
      expect(first.resources).toHaveLength(1500);
      stream.send({ type_url: TYPE_URL.cluster, resource_names: [], response_nonce: first.nonce, version_info: first.version });
      await eventually(async () => server.streamInfos()[0]?.types.get(TYPE_URL.cluster)?.status, (s) => s === 'SYNCED', 'the first response ACKed');
      stream.pause();
      const PUSHES = 80;
      let written = 0;
      server.on('responseSent', () => (written += 1));
      // Each step pushes at once; between steps the transport gets to flush what it can, until the client's
      // flow-control window is full and the server stops writing (and reading).
      for (let i = 0; i < PUSHES; i++) {
        source.addService(`added-${i}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(server.streamFlows()[0]!.readingPaused).toBe(true);
      expect(written).toBeLessThan(PUSHES);
      stream.resume();
      const received: ReceivedResponse[] = [];
      // Read until the latest state arrives: everything before it was in flight when the buffer filled.
      while (received.at(-1)?.resources.length !== 1500 + PUSHES) received.push(await stream.next());
      expect(received.length).toBe(written);
      expect(received.length).toBeLessThan(PUSHES);
    } finally {
      stream.close();
    }
  });
});
