// Framing and request reading: responses decoded with Envoy's own protos, and the bounds on what a client may send.
import { describe, expect, it } from 'vitest';
import { envoyType } from '../../src/protos/envoy-protos.js';
import { TYPE_URL } from '../../src/snapshot/types.js';
import {
  REQUEST_LIMITS,
  RefusedRequest,
  boundedDecoder,
  encodeDeltaResponse,
  encodeSotwResponse,
  readDeltaRequest,
  readSotwRequest,
  scanRequest,
  type RawRequest,
} from '../../src/xds/wire.js';
import { SnapshotSequence, instance } from '../support/snapshots.js';

const { snapshot } = new SnapshotSequence().next({ a: [instance('a', '1', 1001)], b: [instance('b', '1', 1002)] });
const clusters = [...snapshot.resources.get(TYPE_URL.cluster)!.values()];
const decode = (typeName: string, bytes: Uint8Array) => {
  const type = envoyType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: false }) as Record<string, any>;
};
const inner = (any: { type_url: string; value: Uint8Array }) => decode(any.type_url.replace('type.googleapis.com/', ''), any.value);

describe('framing responses', () => {
  it('SotW: a DiscoveryResponse with each resource as an Any', () => {
    const bytes = encodeSotwResponse({ typeUrl: TYPE_URL.cluster, nonce: 'n1', version: 'v1', resources: clusters, removed: [] });
    const response = decode('envoy.service.discovery.v3.DiscoveryResponse', bytes);
    expect(response).toMatchObject({ version_info: 'v1', type_url: TYPE_URL.cluster, nonce: 'n1' });
    expect(response.resources.map((any: any) => any.type_url)).toEqual([TYPE_URL.cluster, TYPE_URL.cluster]);
    expect(response.resources.map((any: any) => inner(any).name)).toEqual(['a', 'b']);
  });

  it('delta: Resource entries with name and version, and removed_resources', () => {
    const bytes = encodeDeltaResponse({ typeUrl: TYPE_URL.cluster, nonce: 'n2', version: 's1', resources: clusters.slice(0, 1), removed: ['gone'] });
    const response = decode('envoy.service.discovery.v3.DeltaDiscoveryResponse', bytes);
    expect(response).toMatchObject({ system_version_info: 's1', type_url: TYPE_URL.cluster, nonce: 'n2', removed_resources: ['gone'] });
    expect(response.resources).toHaveLength(1);
    expect(response.resources[0]).toMatchObject({ name: 'a', version: clusters[0]!.version });
    expect(inner(response.resources[0].resource).name).toBe('a');
  });

  it('TTL: SotW wraps each resource in a Resource with its ttl; a heartbeat carries the held version and no body', () => {
    const withTtl = decode('envoy.service.discovery.v3.DiscoveryResponse', encodeSotwResponse({ typeUrl: TYPE_URL.cluster, nonce: 'n', version: 'v', resources: clusters, removed: [], ttlMs: 1500 }));
    const wrapped = withTtl.resources.map((any: any) => {
      expect(any.type_url).toBe('type.googleapis.com/envoy.service.discovery.v3.Resource');
      return decode('envoy.service.discovery.v3.Resource', any.value);
    });
    expect(wrapped[0]).toMatchObject({ name: 'a', version: clusters[0]!.version, ttl: { seconds: '1', nanos: 500_000_000 } });
    expect(inner(wrapped[0].resource).name).toBe('a');

    const heartbeat = [{ name: 'a', version: 'acked-version' }];
    const sotwBeat = decode('envoy.service.discovery.v3.DiscoveryResponse', encodeSotwResponse({ typeUrl: TYPE_URL.cluster, nonce: 'h', version: 'v0', resources: [], removed: [], ttlMs: 2000, heartbeat }));
    const beat = decode('envoy.service.discovery.v3.Resource', sotwBeat.resources[0].value);
    expect(beat).toEqual({ name: 'a', version: 'acked-version', ttl: { seconds: '2' } });

    const deltaBeat = decode('envoy.service.discovery.v3.DeltaDiscoveryResponse', encodeDeltaResponse({ typeUrl: TYPE_URL.cluster, nonce: 'h', version: 's', resources: [], removed: [], ttlMs: 2000, heartbeat }));
    expect(deltaBeat.resources).toEqual([{ name: 'a', version: 'acked-version', ttl: { seconds: '2' } }]);
  });
});

const encodeRequest = (typeName: string, request: Record<string, unknown>) => {
  const type = envoyType(typeName);
  return Buffer.from(type.encode(type.fromObject(request)).finish());
};
const sotwBytes = (request: Record<string, unknown>) => encodeRequest('envoy.service.discovery.v3.DiscoveryRequest', request);
const deltaBytes = (request: Record<string, unknown>) => encodeRequest('envoy.service.discovery.v3.DeltaDiscoveryRequest', request);
const names = (n: number) => Array.from({ length: n }, (_, i) => `svc-${i}`);

describe('bounding requests on the wire, before decoding', () => {
  it('counts the names of a SotW request and of a delta request (subscribe, unsubscribe, initial versions)', () => {
    expect(scanRequest(sotwBytes({ type_url: TYPE_URL.endpoint, resource_names: names(10) }), 'sotw', 10)).toBeUndefined();
    expect(scanRequest(sotwBytes({ type_url: TYPE_URL.endpoint, resource_names: names(11) }), 'sotw', 10)).toMatch(/more than 10 resources/);
    const delta = deltaBytes({ resource_names_subscribe: names(4), resource_names_unsubscribe: names(4), initial_resource_versions: { x: '1', y: '2', z: '3' } });
    expect(scanRequest(delta, 'delta', 11)).toBeUndefined();
    expect(scanRequest(delta, 'delta', 10)).toMatch(/more than 10 resources/);
  });

  it('refuses an oversized node or resource name, and leaves malformed bytes to the decoder', () => {
    const bigNode = sotwBytes({ node: { id: 'n', client_features: Array.from({ length: 700 }, () => 'f'.repeat(100)) } });
    expect(scanRequest(bigNode, 'sotw')).toMatch(/node is \d+ bytes/);
    expect(scanRequest(deltaBytes({ node: { id: 'x'.repeat(REQUEST_LIMITS.nodeBytes + 1) } }), 'delta')).toMatch(/node is/);
    expect(scanRequest(sotwBytes({ resource_names: ['x'.repeat(REQUEST_LIMITS.resourceNameBytes + 1)] }), 'sotw')).toMatch(/resource name is/);
    expect(scanRequest(Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'sotw')).toBeUndefined();
  });

  it('does not decode a refused request; reading it throws RefusedRequest', () => {
    let decoded = 0;
    const decoder = boundedDecoder(() => ((decoded += 1), {}), 'sotw', 5);
    const raw = decoder(sotwBytes({ resource_names: names(6) }));
    expect(decoded).toBe(0);
    expect(() => readSotwRequest(raw)).toThrow(RefusedRequest);
    decoder(sotwBytes({ resource_names: names(5) }));
    expect(decoded).toBe(1);
  });
});

describe('reading requests', () => {
  const node = { id: 'n1', cluster: 'c1', locality: { region: 'r', zone: 'z', sub_zone: 's' }, user_agent_name: 'envoy', user_agent_build_version: { version: { major_number: 1, minor_number: 30, patch: 2 } } };

  it('reads the node, names and a NACK; cuts a long NACK message', () => {
    const request = readSotwRequest({ node, type_url: TYPE_URL.cluster, response_nonce: 'n', resource_names: ['a'], error_detail: { code: 3, message: 'm'.repeat(10_000) } } as RawRequest);
    expect(request.node).toEqual({ id: 'n1', cluster: 'c1', locality: { region: 'r', zone: 'z', subZone: 's' }, userAgentName: 'envoy', userAgentVersion: '1.30.2', clientFeatures: [] });
    expect(request.resourceNames).toEqual(['a']);
    expect(request.errorMessage!.length).toBeLessThan(REQUEST_LIMITS.errorMessageChars + 40);
    expect(request.errorMessage!.startsWith('m'.repeat(REQUEST_LIMITS.errorMessageChars))).toBe(true);
    expect(readDeltaRequest({ error_detail: { code: 13 } } as RawRequest).errorMessage).toBe('error code 13');
  });

  it('refuses oversized node fields', () => {
    const refused = (overrides: Record<string, unknown>) => () => readDeltaRequest({ node: { ...node, ...overrides } } as RawRequest);
    expect(refused({ id: 'x'.repeat(REQUEST_LIMITS.nodeIdChars + 1) })).toThrow(/node id is/);
    expect(refused({ cluster: 'x'.repeat(REQUEST_LIMITS.nodeFieldChars + 1) })).toThrow(/node cluster/);
    expect(refused({ user_agent_version: 'x'.repeat(REQUEST_LIMITS.nodeFieldChars + 1) })).toThrow(/user_agent_version/);
    expect(refused({ locality: { zone: 'x'.repeat(REQUEST_LIMITS.nodeFieldChars + 1) } })).toThrow(/locality.zone/);
    expect(refused({ client_features: names(REQUEST_LIMITS.clientFeatures + 1) })).toThrow(/client_features/);
    expect(() => readDeltaRequest({ node: { ...node, id: 'x'.repeat(REQUEST_LIMITS.nodeIdChars) } } as RawRequest)).not.toThrow();
  });
});
