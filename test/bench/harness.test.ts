// The bench's own instruments: statistics, the lean ADS response parsing, and the bare floor server with the fleet
// client (real child process, real HTTP/2 connections).
import { afterAll, describe, expect, it } from 'vitest';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { AdsFleet, EDS_TYPE, assignmentName, decodeAssignment, parseResponse } from './ads-fleet.js';
import { startBareServer } from './bare-server.js';
import { teardown } from './lifecycle.js';
import { percentile, slope } from './measure.js';

function encodedResponse(): Buffer {
  const cla = envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const assignment = cla.encode(
    cla.fromObject({
      cluster_name: 'svc-7',
      endpoints: [
        {
          locality: {},
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '10.0.0.7', port_value: 10_003 } } },
              metadata: { filter_metadata: { 'envoy.lb': { fields: { seq: { stringValue: '42' } } } } },
            },
          ],
        },
      ],
    }),
  ).finish();
  const response = envoyType('envoy.service.discovery.v3.DiscoveryResponse');
  return Buffer.from(
    response.encode(response.fromObject({ version_info: 'v1', nonce: 'n1', type_url: EDS_TYPE, resources: [{ type_url: EDS_TYPE, value: assignment }] })).finish(),
  );
}

afterAll(() => teardown());

describe('bench statistics', () => {
  it('takes nearest-rank percentiles and least-squares slopes', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([], 50)).toBeNaN();
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2);
  });
});

describe('lean ADS response parsing', () => {
  it('reads version, nonce and each assignment with its endpoint metadata', () => {
    const response = parseResponse(encodedResponse());
    expect(response).toMatchObject({ version: 'v1', nonce: 'n1', typeUrl: EDS_TYPE });
    expect(response.resources).toHaveLength(1);
    expect(assignmentName(response.resources[0]!)).toBe('svc-7');
    expect(decodeAssignment(response.resources[0]!)).toEqual({
      name: 'svc-7',
      endpoints: [{ address: '10.0.0.7', port: 10_003, metadata: { seq: '42' } }],
    });
  });
});

describe('bare floor server', () => {
  it('answers each new stream with the loaded bytes and pushes them to every stream on request', async () => {
    const bare = await startBareServer('bare-test');
    const bytes = encodedResponse();
    await bare.load(bytes);
    const fleet = new AdsFleet(bare.address, 2);
    for (let i = 0; i < 3; i++) fleet.open(['svc-7']);
    fleet.streams[0]!.keepLast = true;
    await fleet.allAnswered(1, 30_000, 'the first response on every stream');
    bare.push();
    await fleet.allAnswered(2, 30_000, 'the pushed response on every stream');
    expect(fleet.streams[0]!.lastBytes?.equals(bytes)).toBe(true);
    await fleet.close();
    await bare.stop();
  });
});
