// A stream cancelled before the server handles it must not stay registered (it would be pushed to, and held in
// memory, for the life of the connection).
import * as grpc from '@grpc/grpc-js';
import { describe, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { useXdsFixture } from '../support/xds-fixture.js';

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const fixture = useXdsFixture('127.0.0.1', [['lifetime', 'a', 9100]]);

describe('stream lifetime', () => {
  it('forgets streams cancelled at once, on one connection, batch after batch', async () => {
    const client = new grpc.Client(fixture.cp.xdsAddress, grpc.credentials.createInsecure());
    const identity = (b: Buffer) => b;
    try {
      let opened = 0;
      let closed = 0;
      fixture.cp.plane.xds.on('streamOpened', () => opened++);
      fixture.cp.plane.xds.on('streamClosed', () => closed++);
      for (let batch = 0; batch < 5; batch++) {
        const calls = Array.from({ length: 500 }, () => client.makeBidiStreamRequest(ADS, identity, identity));
        // Cancelled once the headers are on their way: the server meets the cancellation before it serves the call.
        await new Promise((resolve) => setImmediate(resolve));
        for (const call of calls) {
          call.on('error', () => undefined);
          call.cancel();
        }
      }
      await eventually(async () => ({ live: fixture.cp.plane.xds.streamInfos().length, opened, closed }), (s) => s.live === 0 && s.opened === s.closed, 'every cancelled stream to be forgotten');
    } finally {
      client.close();
    }
  });
});
